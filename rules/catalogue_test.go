package rules

import (
	"net/url"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules/config"
)

func TestCatalogueInvariants(t *testing.T) {
	cat, err := Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	if len(cat) < 300 {
		t.Errorf("catalogue has %d vendors, want at least 300", len(cat))
	}
	// The demo site and other packages rely on these ids.
	for _, id := range []string{"google-tag-manager", "google-analytics", "google-ads", "meta-pixel", "linkedin-insight", "hotjar", "youtube"} {
		found := false
		for _, v := range cat {
			found = found || v.ID == id
		}
		if !found {
			t.Errorf("catalogue lost vendor %q", id)
		}
	}
	owner := make(map[string]string)
	for _, v := range cat {
		if v.Name == v.ID || v.Source == "" {
			t.Errorf("vendor %q: needs a name and a source", v.ID)
		}
		if u, err := url.Parse(v.Source); err != nil || u.Scheme != "https" || u.Host == "" {
			t.Errorf("vendor %q: source %q is not an https URL", v.ID, v.Source)
		}
		for _, h := range v.Hosts {
			if o, dup := owner[h]; dup {
				t.Errorf("host %q is listed by %q and %q", h, o, v.ID)
			}
			owner[h] = v.ID
		}
		for _, g := range v.Globals {
			if g == "" || strings.ContainsAny(g, " .;()") {
				t.Errorf("vendor %q: global %q is not an identifier", v.ID, g)
			}
		}
	}
	// No host lies under another listed host: every host then maps to
	// exactly the vendor that lists it.
	for h, o := range owner {
		for p := h; ; {
			i := strings.IndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[i+1:]
			if o2, ok := owner[p]; ok {
				t.Errorf("host %q (%s) lies under host %q (%s)", h, o, p, o2)
			}
		}
	}
}

func TestCatalogueRejectsPublicSuffix(t *testing.T) {
	for _, h := range []string{"com", "co.uk", "github.io", "blogspot.com", "s3.amazonaws.com", "localhost"} {
		v := &config.Vendor{ID: "x", CategoryName: "advertising", Hosts: []string{h}}
		if probs := v.Check(); len(probs) == 0 {
			t.Errorf("host %q: accepted, want a public-suffix error", h)
		}
	}
}

func TestClassifyEveryCatalogueHost(t *testing.T) {
	s := testSet(t)
	site := s.Site([]byte("shop.example"))
	for _, v := range s.Vendors() {
		for _, h := range v.Hosts {
			inputs := []string{
				h,
				"sub." + h,
				strings.ToUpper(h),
				"https://sub." + strings.ToUpper(h) + "/path?x",
				"//" + h + "/x",
				"http://user@" + h + ":8443/p#f",
				"HTTPS://" + h + "./",
			}
			for _, in := range inputs {
				if got := s.ClassifyURL(site, []byte(in)); got != v {
					t.Errorf("ClassifyURL(%q) = %v, want %s", in, idOf(got), v.ID)
				}
			}
			if got := s.VendorForHost([]byte(strings.Repeat("a.", 40) + h + ":443")); got != v {
				t.Errorf("VendorForHost(a.….%s) = %v, want %s", h, idOf(got), v.ID)
			}
			if got := s.VendorForHost([]byte("a.b." + h + ":443")); got != v {
				t.Errorf("VendorForHost(a.b.%s:443) = %v, want %s", h, idOf(got), v.ID)
			}
		}
	}
}

func idOf(v *Vendor) string {
	if v == nil {
		return "<nil>"
	}
	return v.ID
}

func TestClassifyNonTrackers(t *testing.T) {
	s := testSet(t)
	site := s.Site([]byte("www.shop.example"))
	if site == nil || site.Name != "shop" {
		t.Fatalf("Site(www.shop.example) = %v, want shop", site)
	}
	for _, in := range []string{
		"https://code.jquery.com/jquery-3.7.1.min.js",
		"https://cdnjs.cloudflare.com/ajax/libs/x.js",
		"https://cdn.jsdelivr.net/npm/x",
		"https://unpkg.com/react@18/umd/react.production.min.js",
		"https://fonts.googleapis.com/css2?family=Inter",
		"https://fonts.gstatic.com/s/inter/v1/x.woff2",
		"https://ajax.googleapis.com/ajax/libs/jquery/3.7.1/jquery.min.js",
		"https://www.gstatic.com/charts/loader.js",
		"https://www.google.com/search?q=x",
		"https://shop.example/app.js",
		"https://img.shop.example/a.png",
		"https://shop-cdn.example.net/a.js",
		"https://static.shop-cdn.example.net/a.js",
		"/local/path.js",
		"relative.js",
		"https://example.com/",
		"https://s3.amazonaws.com/bucket/x.js",
		"https://user.github.io/x.js",
		"https://d111111abcdef8.cloudfront.net/x.js",
		"https://" + strings.Repeat("a.", 40) + "example.org/",
		"https://[2001:db8::1]/x.js",
		"https://" + strings.Repeat("a.", 200) + "com/",
		"https://googletagmanager.com.evil.example/x.js",
		"https://notgoogle-analytics.com/x.js",
	} {
		if got := s.ClassifyURL(site, []byte(in)); got != nil {
			t.Errorf("ClassifyURL(%q) = %s, want none", in, got.ID)
		}
	}
}

func TestClassifyAllowVendors(t *testing.T) {
	s := compileYAML(t, `
upstream: http://127.0.0.1:8080
sites:
  - name: a
    hosts: [a.example]
    allow_vendors: [hotjar]
`)
	site := s.Site([]byte("A.EXAMPLE:8080"))
	if got := s.Classify(site, []byte("static.hotjar.com")); got != nil {
		t.Errorf("allowed vendor classified as %s", got.ID)
	}
	if got := s.Classify(nil, []byte("static.hotjar.com")); idOf(got) != "hotjar" {
		t.Errorf("without site: %s, want hotjar", idOf(got))
	}
	if !site.Allowed(s.VendorByID("hotjar")) || site.Denied(s.VendorByID("hotjar"), All) {
		t.Error("hotjar should be allowed and never denied")
	}
}

func TestCookieVendorEveryCatalogueCookie(t *testing.T) {
	s := testSet(t)
	for _, v := range s.Vendors() {
		for _, c := range v.Cookies {
			if got := s.CookieVendor([]byte(c)); got != v {
				t.Errorf("CookieVendor(%q) = %s, want %s", c, idOf(got), v.ID)
			}
		}
		for _, p := range v.CookiePrefixes {
			for _, name := range []string{p, p + "x", p + "12345_abc"} {
				if got := s.CookieVendor([]byte(name)); got != v {
					t.Errorf("CookieVendor(%q) = %s, want %s (prefix %q)", name, idOf(got), v.ID, p)
				}
			}
		}
	}
	for _, name := range []string{"", "session", "PHPSESSID", "csrftoken", "consentgate_optout", "cart", "lang", "_g", "a"} {
		if got := s.CookieVendor([]byte(name)); got != nil {
			t.Errorf("CookieVendor(%q) = %s, want none", name, got.ID)
		}
	}
}

func TestSignaturesFindTheirVendor(t *testing.T) {
	s := testSet(t)
	m := s.Signatures()
	for _, v := range s.Vendors() {
		for _, sig := range v.Signatures {
			text := []byte("var x = 1;\n" + sig + "\n;")
			found := false
			m.Each(text, func(got *Vendor) bool {
				found = found || got == v
				return true
			})
			if !found {
				t.Errorf("signature %q does not find %s", sig, v.ID)
			}
		}
	}
	// Ordinary page scripts match nothing.
	for _, text := range []string{
		`document.addEventListener("DOMContentLoaded", function () { console.log("ready"); });`,
		`window.analyticsEnabled = false; var config = {init: true, load: function () {}};`,
		`import("./app.js").then(m => m.start({ debug: false }));`,
		`$(function(){ $(".carousel").slick({autoplay:true}); });`,
	} {
		m.Each([]byte(text), func(v *Vendor) bool {
			t.Errorf("ordinary script %q matched %s", text, v.ID)
			return true
		})
	}
}

func TestListJSON(t *testing.T) {
	s := testSet(t)
	l := s.List()
	if len(l) != len(s.Vendors()) {
		t.Fatalf("List has %d entries, want %d", len(l), len(s.Vendors()))
	}
	for _, vi := range l {
		if _, err := ParseCategory(vi.Category); err != nil || vi.Hosts == nil || vi.Cookies == nil {
			t.Errorf("List entry %+v: want a category name and non-nil lists", vi)
		}
	}
}

// TestCatalogueCoversAdStacks names hosts of the ad stacks real news pages
// load (docs/catalogue-coverage.md) and the vendor each must resolve to.
func TestCatalogueCoversAdStacks(t *testing.T) {
	s := testSet(t)
	for _, c := range []struct{ host, id string }{
		// Header bidding: Prebid.js and its bidders.
		{"acdn.adnxs.com", "xandr"},
		{"fastlane.rubiconproject.com", "magnite"},
		{"js-sec.indexww.com", "index-exchange"},
		{"hbopenbid.pubmatic.com", "pubmatic"},
		{"rtb.openx.net", "openx"},
		{"ap.lijit.com", "sovrn"},
		{"tlx.3lift.com", "triplelift"},
		{"btlr.sharethrough.com", "sharethrough"},
		{"g2.gumgum.com", "gumgum"},
		{"a.teads.tv", "teads"},
		{"bidder.criteo.com", "criteo"},
		{"c.amazon-adsystem.com", "amazon-ads"},
		{"dmx.districtm.io", "district-m"},
		{"hb.emxdgt.com", "emx-digital"},
		// Data platforms.
		{"cdn.krxd.net", "salesforce-dmp"},
		{"beacon.krxd.net", "salesforce-dmp"},
		{"tags.bluekai.com", "oracle-bluekai"},
		{"tags.crwdcntrl.net", "lotame"},
		{"cdn.permutive.com", "permutive"},
		{"ats.rlcdn.com", "liveramp"},
		{"cdn.blueconic.net", "blueconic"},
		// Session replay.
		{"cdnssl.clicktale.net", "contentsquare"},
		{"edge.fullstory.com", "fullstory"},
		{"cdn.mouseflow.com", "mouseflow"},
		{"tools.luckyorange.com", "lucky-orange"},
		// Affiliate and social.
		{"s.skimresources.com", "skimlinks"},
		{"cdn.viglink.com", "sovrn-commerce"},
		{"gscounters.eu1.gigya.com", "gigya-share"},
		{"s7.addthis.com", "addthis"},
		{"platform-api.sharethis.com", "sharethis"},
		// The rest of the list.
		{"cdn.bizible.com", "marketo-measure"},
		{"s0.2mdn.net", "google-ads"},
		{"z.moatads.com", "oracle-moat"},
		{"pixel.quantserve.com", "quantcast"},
		{"sb.scorecardresearch.com", "comscore"},
		{"widgets.outbrain.com", "outbrain"},
		{"cdn.taboola.com", "taboola"},
		{"www.googletagservices.com", "google-ad-manager"},
		{"stats.wp.com", "wordpress-stats"},
		{"s.go-mpulse.net", "akamai-mpulse"},
		// Hosts EasyPrivacy/EasyList flagged on the real pages with
		// Sec-GPC: 1 (docs/browser-measure.md), and their siblings.
		{"embed.sendtonews.com", "sendtonews"},
		{"www.roosterfirework.com", "sourcepoint-recovery"},
		{"www.summerhamster.com", "sourcepoint-recovery"},
		{"audience-mostread.r7.com", "r7-audience"},
		{"cdn.sendpulse.com", "sendpulse"},
		{"web-sdk.urbanairship.com", "urban-airship"},
		{"d29dbajta0the9.cloudfront.net", "d29dbajta0the9-cloudfront"},
		{"d2na2p72vtqyok.cloudfront.net", "insticator"},
		{"d3lcz8vpax4lo2.cloudfront.net", "insticator"},
		{"c.betrad.com", "evidon-adchoices"},
		{"clarium.global.ssl.fastly.net", "confiant"},
		{"dc8xl0ndzn2cb.cloudfront.net", "keywee"},
	} {
		v := s.VendorForHost([]byte(c.host))
		if idOf(v) != c.id {
			t.Errorf("%s = %s, want %s", c.host, idOf(v), c.id)
			continue
		}
		if v.Category != Advertising && v.Category != Analytics && v.Category != Social {
			t.Errorf("%s: vendor %s is %s; a tracker must be denied by an opt-out", c.host, c.id, v.Category)
		}
	}
	// Globals that page code calls get a stub when the vendor is removed.
	for id, globals := range map[string][]string{
		"prebid": {"pbjs"}, "amazon-ads": {"apstag"}, "comscore": {"_comscore", "COMSCORE"},
		"outbrain": {"OBR"}, "salesforce-dmp": {"Krux"}, "quantcast": {"_qevents"},
		"oracle-moat": {"moatPrebidApi"}, "contentsquare": {"ClickTale"}, "marketo-measure": {"Bizible"},
	} {
		v := s.VendorByID(id)
		for _, g := range globals {
			if v == nil || !contains(v.Globals, g) {
				t.Errorf("vendor %s: no global %s", id, g)
			}
		}
	}
	// Functional and necessary hosts a page needs stay out of the denied
	// categories.
	for _, h := range []string{"players.brightcove.net", "content.jwplatform.com", "cdns.gigya.com", "accounts.google.com", "loader-cdn.azureedge.net", "c.evidon.com"} {
		if v := s.VendorForHost([]byte(h)); v == nil || v.Category != Functional && v.Category != Necessary {
			t.Errorf("%s = %s, want a functional or necessary vendor", h, idOf(v))
		}
	}
}

// TestCatalogueEmbeds checks the vendors whose removed iframes and AMP
// components get a placeholder: the video, map, social and audio embeds
// the placeholder text names, and no tracker.
func TestCatalogueEmbeds(t *testing.T) {
	cat, err := Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*Vendor{}
	for _, v := range cat {
		byID[v.ID] = v
	}
	for id, kind := range map[string]string{
		"youtube": "video", "vimeo": "video", "jw-player": "video", "wistia": "video", "brightcove": "video",
		"google-maps": "map", "x-embeds": "social", "instagram": "social", "meta-pixel": "social",
		"tiktok-embeds": "social", "soundcloud": "audio", "spotify-embeds": "audio",
	} {
		v := byID[id]
		if v == nil || v.Embed == nil || v.Embed.Kind != kind {
			t.Errorf("%s: want an embed of kind %s, got %+v", id, kind, v)
		}
	}
	for _, id := range []string{"google-analytics", "google-ads", "google-tag-manager", "hotjar", "x-ads", "tiktok-pixel", "linkedin-insight", "addthis"} {
		if v := byID[id]; v == nil || v.Embed != nil {
			t.Errorf("%s: a tracker must not be an embed (%+v)", id, v)
		}
	}
	// Facebook's hosts serve the pixel too: only its plugins are embeds.
	fb := byID["meta-pixel"].Embed
	for p, want := range map[string]bool{"/plugins/post.php?href=x": true, "/PLUGINS/video.php": true, "/tr?id=1&ev=PageView": false, "/": false} {
		if got := fb.EmbedPath([]byte(p)); got != want {
			t.Errorf("meta-pixel EmbedPath(%q) = %v, want %v", p, got, want)
		}
	}
	if !byID["youtube"].Embed.EmbedPath([]byte("/anything")) {
		t.Error("an embed without paths must take every path")
	}
}

func TestVendorEmbedChecked(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"embed: {kind: film, name: A, company: B}", `"film" is not an embed kind`},
		{"embed: {kind: video, name: A}", "needs a name and a company"},
		{"embed: {kind: video, name: A, company: B, paths: [plugins]}", "is not a URL path"},
	} {
		_, err := parseVendors([]byte("vendors:\n  - id: a\n    name: A\n    category: social\n    hosts: [a.example]\n    source: https://a.example/\n    "+c.yaml+"\n"), "t.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.yaml, err, c.want)
		}
	}
}
