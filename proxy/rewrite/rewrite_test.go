package rewrite

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"strings"
	"testing"
)

func TestBasic(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got, _ := rewriteString(t, in, optOut(t, false))
		if got != want {
			t.Errorf("input %q\n got %q\nwant %q", in, got, want)
		}
	}
	f(`<p>hi</p>`, `<p>hi</p>`)
	f(`a<script src="https://www.googletagmanager.com/gtm.js?id=GTM-1"></script>b`, `ab`)
	f(`a<SCRIPT SRC=//www.google-analytics.com/analytics.js></SCRIPT>b`, `ab`)
	f(`a<script>(function(w,d,s,l,i){j.src='https://www.googletagmanager.com/gtm.js?id='+i})</script>b`, `ab`)
	f(`a<script>var x="<\/script>";</script>b`, `a<script>var x="<\/script>";</script>b`)
	f(`<!-- <script src="https://www.googletagmanager.com/gtm.js"></script> -->`, `<!-- <script src="https://www.googletagmanager.com/gtm.js"></script> -->`)
	f(`<img src="https:&#x2F;&#x2F;www.facebook.com/tr?id=1" height=1>x`, `x`)
	f(`<a href="/x" ping="https://www.google-analytics.com/collect">x</a>`, `<a href="/x" >x</a>`)
	f(`<noscript><img src="https://www.facebook.com/tr?id=1"/></noscript>x`, `x`)
	f(`<noscript><p>enable js</p><img src="https://www.facebook.com/tr?id=1"/></noscript>x`, `<noscript><p>enable js</p></noscript>x`)
	f(`<link rel=preconnect href="https://www.googletagmanager.com"><link rel=canonical href="https://www.facebook.com/x">`, `<link rel=canonical href="https://www.facebook.com/x">`)
	f(`<video poster="https://i.ytimg.com/x.jpg"><source src="a.mp4"></video>x`, `x`)
	f(`<iframe src="https://www.youtube.com/embed/x"><p>fallback</iframe>x`, `x`)
	f(`<title><script src="https://www.googletagmanager.com/gtm.js"></script></title>`, `<title><script src="https://www.googletagmanager.com/gtm.js"></script></title>`)
}

func TestNeutralise(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got, _ := rewriteString(t, in, neutral(t, false))
		if got != want {
			t.Errorf("input %q\n got %q\nwant %q", in, got, want)
		}
	}
	f(`<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>`,
		`<script type="text/plain" data-consent-category="advertising" async data-src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>`)
	f(`<script type="text/javascript">gtag('config', 'G-1');</script>`,
		`<script type="text/plain" data-consent-category="analytics" data-type="text/javascript">gtag('config', 'G-1');</script>`)
	f(`<img srcset="https://www.facebook.com/tr?id=1 1x" src=/a.png>`,
		`<img data-consent-category="advertising" data-srcset="https://www.facebook.com/tr?id=1 1x" data-src=/a.png>`)
}

// TestStub: with Stub set, the page gets the stub once, as the first
// script, before the page's own, and StubHash is the CSP hash of the bytes
// inserted (a CSP naming another hash would block it). Without Stub, no
// stub and no hash.
func TestStub(t *testing.T) {
	page := `<!doctype html><html><head><meta charset=utf-8><title>x</title>` +
		`<script src="https://www.googletagmanager.com/gtm.js?id=GTM-1"></script><script>1</script></head><body><script>2</script></body></html>`
	p := optOut(t, true)
	got, _ := rewriteString(t, page, p)
	if strings.Contains(got, "googletagmanager") {
		t.Fatalf("the tracker is still there: %s", got)
	}
	start := strings.Index(got, "<script>")
	end := strings.Index(got, "</script>")
	if start < 0 || end < start || !strings.HasPrefix(got, `<!doctype html><html><head><meta charset=utf-8><title>x</title><script>`) {
		t.Fatalf("no stub script right after the title: %s", got)
	}
	stub := got[start+len("<script>") : end]
	if stub == "1" || !strings.HasSuffix(got, `<script>1</script></head><body><script>2</script></body></html>`) {
		t.Errorf("the stub is not before the page's own scripts, or they changed: %s", got)
	}
	if n := strings.Count(got, "<script>"+stub+"</script>"); n != 1 {
		t.Errorf("the stub is in the page %d times, want once", n)
	}
	sum := sha256.Sum256([]byte(stub))
	if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; StubHash(p) != want {
		t.Errorf("StubHash = %s, the inserted stub hashes to %s", StubHash(p), want)
	}
	if w := NewWriter(io.Discard, p); w.StubHash() != StubHash(p) {
		t.Errorf("Writer.StubHash = %s, StubHash = %s", w.StubHash(), StubHash(p))
	}

	noStub := optOut(t, false)
	got, _ = rewriteString(t, page, noStub)
	if want := `<!doctype html><html><head><meta charset=utf-8><title>x</title><script>1</script></head><body><script>2</script></body></html>`; got != want {
		t.Errorf("without Stub:\n got %s\nwant %s", got, want)
	}
	if h := StubHash(noStub); h != "" {
		t.Errorf("StubHash without Stub = %q, want \"\"", h)
	}
}

// TestRelTokens: rel is a set of tokens split on ASCII whitespace, in any
// case; a loading one among them makes the link a load.
func TestRelTokens(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got, _ := rewriteString(t, in, optOut(t, false))
		if got != want {
			t.Errorf("input %q\n got %q\nwant %q", in, got, want)
		}
	}
	f("<link rel=\" \tcanonical\n PreConnect \" href=\"https://www.googletagmanager.com\">x", "x")
	f("<link rel=\"alternate stylesheet\" href=\"https://www.googletagmanager.com/a.css\">x", "x")
	f("<link rel=\"canonical alternate\" href=\"https://www.facebook.com/x\">x", "<link rel=\"canonical alternate\" href=\"https://www.facebook.com/x\">x")
	f("<link rel=\"  \" href=\"https://www.facebook.com/x\">x", "<link rel=\"  \" href=\"https://www.facebook.com/x\">x")
	f("<link rel=\"pre connect\" href=\"https://www.facebook.com/x\">x", "<link rel=\"pre connect\" href=\"https://www.facebook.com/x\">x")
}
