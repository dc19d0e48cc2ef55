package rewrite

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestHeadReplacesStub(t *testing.T) {
	p := optOut(t, true)
	head := []byte(`<script src="/.consentgate/guard/x.js"></script>`)
	page := `<!doctype html><html><head><meta charset="utf-8"><title>t</title><script>var a=1</script></head>` +
		`<body><iframe srcdoc="<script>var b</script>"></iframe><noscript><img src=/a.png></noscript></body></html>`
	stub, _ := rewriteString(t, page, p)
	p.Head, p.Guard = head, true
	guarded, _ := rewriteString(t, page, p)
	want := strings.Replace(stub, string(Stub(optOut(t, true))), string(head), 1)
	if guarded != want || want == stub {
		t.Errorf("with Head:\n%s\nwant the stub's place taken:\n%s", guarded, want)
	}
	if n := strings.Count(guarded, string(head)); n != 1 {
		t.Errorf("Head inserted %d times, want once (never into srcdoc or noscript)", n)
	}
	if js := StubScript(p); js == nil || !bytes.Contains(Stub(optOut(t, true)), js) {
		t.Errorf("StubScript = %q, not the text of Stub", js)
	}
	if h := NewWriter(io.Discard, p).StubHash(); h != "" {
		t.Errorf("StubHash with Head = %q, want empty", h)
	}
	// Without a denial nothing is inserted: the page passes through.
	p.Deny = 0
	if got, _ := rewriteString(t, page, p); got != page {
		t.Errorf("Deny 0 with Head changed the page:\n%s", got)
	}
}

// TestHeadBeforeBase: the guard's src is a path on the proxy's origin, so
// it goes before a <base>, which would otherwise resolve it against another
// host (sciencealert.com's base names its own host; one on a CDN would
// leave the page without its guard and the stubs, and its runtime loads
// unguarded). Metadata before the base stays before the guard.
func TestHeadBeforeBase(t *testing.T) {
	p := optOut(t, true)
	p.Head, p.Guard = []byte(`<script src="/.consentgate/guard/x.js"></script>`), true
	f := func(in, want string) {
		t.Helper()
		if got, _ := rewriteString(t, in, p); got != want {
			t.Errorf("input %q\n got %q\nwant %q", in, got, want)
		}
	}
	f(`<html><head><meta charset="utf-8"><base href="https://cdn.example.net/"><title>t</title><script src="app.js"></script>`,
		`<html><head><meta charset="utf-8"><script src="/.consentgate/guard/x.js"></script><base href="https://cdn.example.net/"><title>t</title><script src="app.js"></script>`)
	f(`<head><title>t</title><link rel=stylesheet href=a.css><BASE href="/"><body>`,
		`<head><title>t</title><link rel=stylesheet href=a.css><script src="/.consentgate/guard/x.js"></script><BASE href="/"><body>`)
	// Without a base, still after the metadata.
	f(`<head><meta charset="utf-8"><title>t</title><script src="app.js"></script>`,
		`<head><meta charset="utf-8"><title>t</title><script src="/.consentgate/guard/x.js"></script><script src="app.js"></script>`)
}
