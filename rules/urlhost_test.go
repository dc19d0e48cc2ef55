package rules

import (
	"strings"
	"testing"
)

// urlForms are URLs written as a browser's URL parser (WHATWG URL
// Standard) reads them: host is what URLHost returns ("-" for nil: not an
// http(s) or scheme-relative URL nor a bare host) and vendor the vendor
// Classify gives that host on the shop site ("" for none).
var urlForms = []struct {
	in, host, vendor string
}{
	// Any number of '/' and '\' after a special scheme, none included.
	{`https:\/\/www.facebook.com/tr?id=1`, "www.facebook.com", "meta-pixel"},
	{"https:////www.facebook.com/tr", "www.facebook.com", "meta-pixel"},
	{"https:/www.facebook.com/tr", "www.facebook.com", "meta-pixel"},
	{"https:www.facebook.com/tr", "www.facebook.com", "meta-pixel"},
	{"http:www.facebook.com", "www.facebook.com", "meta-pixel"},
	{`HTTP:\\www.facebook.com\tr`, "www.facebook.com", "meta-pixel"},
	{`hTtPs:/\/\www.facebook.com?x`, "www.facebook.com", "meta-pixel"},
	{"https:", "", ""},
	{"https:///", "", ""},
	// Scheme-relative: two or more, each '/' or '\'.
	{"//www.facebook.com/tr", "www.facebook.com", "meta-pixel"},
	{"///www.facebook.com/x", "www.facebook.com", "meta-pixel"},
	{`/\www.facebook.com/x`, "www.facebook.com", "meta-pixel"},
	{`\\www.facebook.com/x`, "www.facebook.com", "meta-pixel"},
	{`\/\/\www.facebook.com#x`, "www.facebook.com", "meta-pixel"},
	// Leading and trailing C0 controls and space, and only those.
	{"\x01https://www.facebook.com/tr\x1f", "www.facebook.com", "meta-pixel"},
	{" \t\x0b\x00//www.facebook.com\x00 \x7f", "www.facebook.com\x00 \x7f", ""},
	{"\x00\x08 www.facebook.com \x1f", "www.facebook.com", "meta-pixel"},
	{"\u00a0https://www.facebook.com/tr", "-", ""},
	{"\u2003//www.facebook.com/tr", "-", ""},
	// Userinfo and port.
	{"https://user:pw@www.facebook.com:443/tr", "www.facebook.com", "meta-pixel"},
	{"https://a@b@www.facebook.com:443/tr", "www.facebook.com", "meta-pixel"},
	{"https://[2001:db8::1]:443/x", "[2001:db8::1]", ""},
	// Hosts mapped by UTS #46 and percent-decoded first.
	{"https://www。facebook。com/tr", "www。facebook。com", "meta-pixel"},
	{"https://www．facebook．com/tr", "www．facebook．com", "meta-pixel"},
	{"https://www｡facebook｡com/tr", "www｡facebook｡com", "meta-pixel"},
	{"https://ｗｗｗ.ｆａｃｅｂｏｏｋ.ｃｏｍ/tr", "ｗｗｗ.ｆａｃｅｂｏｏｋ.ｃｏｍ", "meta-pixel"},
	{"https://ＷＷＷ.ＦＡＣＥＢＯＯＫ.com/tr", "ＷＷＷ.ＦＡＣＥＢＯＯＫ.com", "meta-pixel"},
	{"https://face\u00adbook.com/tr", "face\u00adbook.com", "meta-pixel"},
	{"https://www.facebook.com。/tr", "www.facebook.com。", "meta-pixel"},
	{"https://www.facebook.com。:443/tr", "www.facebook.com。", "meta-pixel"},
	{"https://www%E3%80%82facebook.com/tr", "www%E3%80%82facebook.com", "meta-pixel"},
	{"https://%EF%BD%97ww.facebook.com/tr", "%EF%BD%97ww.facebook.com", "meta-pixel"},
	{"https://www.f%61cebook.com/tr", "www.f%61cebook.com", "meta-pixel"},
	{"https://www%2Efacebook%2ecom/tr", "www%2Efacebook%2ecom", "meta-pixel"},
	{"//www.google-analytics。com/collect", "www.google-analytics。com", "google-analytics"},
	// Bare hosts (command line, config).
	{"www.facebook.com", "www.facebook.com", "meta-pixel"},
	{"www。facebook。com/tr", "www。facebook。com", "meta-pixel"},
	{"www%2efacebook%2ecom", "www%2efacebook%2ecom", "meta-pixel"},
	// Not a host: a path, another scheme, a relative URL.
	{"/www.facebook.com/tr", "-", ""},
	{`\www.facebook.com/tr`, "-", ""},
	{"javascript:fetch('//www.facebook.com/tr')", "-", ""},
	{"data:text/html,<img src=//www.facebook.com/tr>", "-", ""},
	{"images/www.facebook.com.png", "-", ""},
	{"pixel.gif?u=https://www.facebook.com/", "-", ""},
	{"httpx://www.facebook.com/tr", "-", ""},
	{"", "-", ""},
	// Non-ASCII hosts of non-trackers, and hosts the browser refuses.
	{"https://ｅｘａｍｐｌｅ.com/a.js", "ｅｘａｍｐｌｅ.com", ""},
	{"https://www。example。org/a.js", "www。example。org", ""},
	{"https://bücher.example/a.js", "bücher.example", ""},
	{"https://facebook.com.bücher.example/", "facebook.com.bücher.example", ""},
	{"https://www.face\u200dbook.com/tr", "www.face\u200dbook.com", ""},
	{"https://www.facebook.com\uff0ftr", "www.facebook.com\uff0ftr", ""},
	{"https://www.facebook.com\uff1a443/tr", "www.facebook.com\uff1a443", ""},
	{"https://www.facebook.com%FF/tr", "www.facebook.com%FF", ""},
	{"https://www.facebook.com\xff/tr", "www.facebook.com\xff", ""},
	{"https://www.facebook.com%2F/tr", "www.facebook.com%2F", ""},
	{"https://www.facebook.com%/tr", "www.facebook.com%", ""},
	{"https://www.facebook.com%2541/tr", "www.facebook.com%2541", ""},
	{"https://www.facebook.com\u00a0/tr", "www.facebook.com\u00a0", ""},
}

func TestURLHostForms(t *testing.T) {
	for _, c := range urlForms {
		got := URLHost([]byte(c.in))
		if c.host == "-" {
			if got != nil {
				t.Errorf("URLHost(%q) = %q, want nil", c.in, got)
			}
			continue
		}
		if got == nil || string(got) != c.host {
			t.Errorf("URLHost(%q) = %q, want %q", c.in, got, c.host)
		}
	}
}

func TestClassifyURLForms(t *testing.T) {
	s := testSet(t)
	site := s.Site([]byte("shop.example"))
	for _, c := range urlForms {
		if got := idOf(s.ClassifyURL(site, []byte(c.in))); got != idOf(s.VendorByID(c.vendor)) {
			t.Errorf("ClassifyURL(%q) = %s, want %q", c.in, got, c.vendor)
		}
		if h := URLHost([]byte(c.in)); len(h) > 0 {
			// Twice: the second answer comes from the lookup cache.
			for range 2 {
				if got := idOf(s.Classify(site, h)); got != idOf(s.VendorByID(c.vendor)) {
					t.Errorf("Classify(%q) = %s, want %q", h, got, c.vendor)
				}
			}
			if got := idOf(s.VendorForHost(h)); got != idOf(s.VendorByID(c.vendor)) {
				t.Errorf("VendorForHost(%q) = %s, want %q", h, got, c.vendor)
			}
		}
	}
}

// TestHostMapping checks the host canonicalisation that every lookup
// shares (Site too), on hosts with a byte >= 0x80, escapes and long forms.
func TestHostMapping(t *testing.T) {
	s := testSet(t)
	for _, c := range []struct{ host, site string }{
		{"ｓｈｏｐ.example", "shop"},
		{"WWW。SHOP。EXAMPLE:8443", "shop"},
		{"%73hop.example", "shop"},
		{"shop.example%E3%80%82", "shop"},
		{"sh\u00adop.example", "shop"},
		{"shop.example\u200d", "other"},
		{"shop.example%", "other"},
	} {
		got := "<nil>"
		if st := s.Site([]byte(c.host)); st != nil {
			got = st.Name
		}
		if got != c.site {
			t.Errorf("Site(%q) = %s, want %s", c.host, got, c.site)
		}
	}
	// Ignorable code points map to nothing, so a long non-ASCII host can
	// still be a short name; an ASCII one that long cannot.
	for _, c := range []struct{ host, vendor string }{
		{"www.face" + strings.Repeat("\u00ad", 2000) + "book.com", "meta-pixel"},
		{"www.face" + strings.Repeat("%C2%AD", 500) + "book.com", "meta-pixel"},
		{strings.Repeat("%61", 300) + ".facebook.com", ""},
		{strings.Repeat("a", 254-len(".facebook.com")) + ".facebook.com", ""},
		{strings.Repeat("a", 253-len(".facebook.com")) + ".facebook.com", "meta-pixel"},
		{strings.Repeat("a", 253-len(".facebook.com")) + ".facebook.com。", "meta-pixel"},
	} {
		if got := idOf(s.VendorForHost([]byte(c.host))); got != idOf(s.VendorByID(c.vendor)) {
			t.Errorf("VendorForHost(%.40q...) = %s, want %q", c.host, got, c.vendor)
		}
	}
}

// TestEscapedASCIIHostsDoNotAllocate: only a host with a byte >= 0x80 may
// allocate; an ASCII one written with escapes is decoded on the stack.
func TestEscapedASCIIHostsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := testSet(t)
	for _, h := range []string{"www.f%61cebook.com", "WWW%2EFACEBOOK.COM.", "www.facebook.com%2F", strings.Repeat("%61", 400)} {
		if n := testing.AllocsPerRun(100, func() { sinkVendor = s.VendorForHost([]byte(h)) }); n != 0 {
			t.Errorf("VendorForHost(%.40q): %v allocs per run, want 0", h, n)
		}
	}
}

// FuzzClassifyHost feeds arbitrary URLs and hosts to every host lookup: no
// panic, a cached answer equal to the tables' (asked twice, so the second
// comes from a cache), and a canonical host that is nil or ASCII,
// lower-case and at most 253 bytes (an ASCII host is only lower-cased:
// garbage stays garbage and matches no table entry, as entries are
// validated host names).
func FuzzClassifyHost(f *testing.F) {
	for _, tc := range urlForms {
		f.Add(tc.in)
	}
	f.Add("www.FACEBOOK.com.:8443")
	f.Add("xn--www-8m7a.facebook.com")
	s := testSet(f)
	site := s.Site([]byte("shop.example"))
	f.Fuzz(func(t *testing.T, in string) {
		u := []byte(in)
		h := URLHost(u)
		for range 2 {
			if got, want := s.ClassifyURL(site, u), s.classify(site, h); h != nil && got != want {
				t.Fatalf("ClassifyURL(%q) = %s, tables say %s", in, idOf(got), idOf(want))
			}
			if got, want := s.Classify(site, u), s.classify(site, u); got != want {
				t.Fatalf("Classify(%q) = %s, tables say %s", in, idOf(got), idOf(want))
			}
			if got, want := s.Site(u), s.lookupSite(u); got != want {
				t.Fatalf("Site(%q) = %v, tables say %v", in, siteName(got), siteName(want))
			}
		}
		s.VendorForHost(u)
		var buf hostBuf
		c := buf.canonical(u)
		if len(c) > maxHostLen {
			t.Fatalf("canonical(%q) = %q: %d bytes", in, c, len(c))
		}
		for _, b := range c {
			if b >= 0x80 || 'A' <= b && b <= 'Z' {
				t.Fatalf("canonical(%q) = %q: byte %q", in, c, b)
			}
		}
	})
}
