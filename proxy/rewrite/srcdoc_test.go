package rewrite

import "testing"

func TestDecodeAttr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`&lt;img src=&quot;x&quot;&gt;`, `<img src="x">`},
		{`&#60;&#x3C;&#X3c;&#0060;&#x3c`, `<<<<<`},
		{`&#34;&#x22;&apos;&#39;`, `""''`},
		{`&amp;amp; &amp;lt;`, `&amp; &lt;`},
		{`caf&#233; &#x3002; &nbsp; &copy;`, `caf&#233; &#x3002; &nbsp; &copy;`}, // kept: past ASCII, or not markup
		{`&#0; &#; &#x; & &# &lt &LT;`, `&#0; &#; &#x; & &# &lt &LT;`},
		{`&#x0000041;&#65a`, `AAa`},
		{`&#1000000000000000000000;`, `&#1000000000000000000000;`},
	} {
		if got := string(decodeAttr(nil, []byte(tc.in))); got != tc.want {
			t.Errorf("decodeAttr(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestSrcdocRemovals: what an iframe's srcdoc document loads attributes the
// iframe; the removal is counted once, for the iframe, with the vendor of
// the first element the document lost.
func TestSrcdocRemovals(t *testing.T) {
	p := optOut(t, false)
	for _, tc := range []struct {
		in, want, vendor string
	}{
		{`<iframe srcdoc="&lt;img src=&#x22;https://www.facebook.com/tr&#x22;&gt;"></iframe><p>x</p>`, `<p>x</p>`, "meta-pixel"},
		{`<iframe srcdoc="<script src=//www.googletagmanager.com/gtm.js></script><img src=https://www.facebook.com/tr>"></iframe>`, ``, "google-tag-manager"},
		{`<iframe srcdoc="<p>hi</p>"></iframe>`, `<iframe srcdoc="<p>hi</p>"></iframe>`, ""},
		{`<iframe srcdoc="<a href=https://www.facebook.com/tr>link only</a>"></iframe>`, `<iframe srcdoc="<a href=https://www.facebook.com/tr>link only</a>"></iframe>`, ""},
		{`<img srcdoc="<img src=https://www.facebook.com/tr>">`, `<img srcdoc="<img src=https://www.facebook.com/tr>">`, ""},
	} {
		got, rm := rewriteString(t, tc.in, p)
		if got != tc.want {
			t.Errorf("Rewrite(%q) = %q, want %q", tc.in, got, tc.want)
		}
		switch {
		case tc.vendor == "" && len(rm) != 0:
			t.Errorf("Rewrite(%q): removed %v, want nothing", tc.in, rm)
		case tc.vendor != "" && (len(rm) != 1 || rm[0].Vendor.ID != tc.vendor || rm[0].Element != "iframe"):
			t.Errorf("Rewrite(%q): removed %v, want one iframe of %s", tc.in, rm, tc.vendor)
		}
	}
}
