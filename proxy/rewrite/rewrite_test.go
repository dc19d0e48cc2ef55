package rewrite

import "testing"

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

func TestStub(t *testing.T) {
	p := optOut(t, true)
	got, _ := rewriteString(t, `<!doctype html><html><head><meta charset=utf-8><title>x</title><script>1</script></head></html>`, p)
	t.Log(got)
	t.Log(StubHash(p))
}
