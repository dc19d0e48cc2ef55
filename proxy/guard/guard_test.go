package guard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/proxy/guard/internal/jsmin"
	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
)

// testPolicy compiles testdata/policy.yaml: its site "news" and the
// default site of a plain config.
func testPolicy(t testing.TB) (*rules.Set, *rules.Site) {
	t.Helper()
	cfg, err := config.Read("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return set, set.Sites()[0]
}

// parsed is a table read as guard.js reads it.
type parsed struct {
	h       map[string]int
	vendors []*rules.Vendor
}

func parse(tb table) parsed {
	p := parsed{h: map[string]int{}, vendors: tb.vendors}
	for k, s := range strings.Split(tb.text, "|") {
		if s == "" {
			continue
		}
		for _, x := range strings.Split(s, ",") {
			p.h[x] = k
		}
	}
	return p
}

// lookup answers as guard.js's vendorOfHost does: the same algorithm in
// Go, so the compiler is tested without a browser (the Chromium test holds
// the script itself to Classify).
func (p parsed) lookup(host string) *rules.Vendor {
	h := p.h
	host = strings.TrimSuffix(host, ".")
	if !strings.Contains(host, ".") {
		return nil
	}
	found := -1
	for s, ok := host, true; ok; s, ok = next(s) {
		c, in := h[s]
		if in && c == 0 {
			return nil
		}
		if in && found < 0 {
			found = c
		}
	}
	if found < 2 {
		return nil
	}
	return p.vendors[found-2]
}

// hostsToCheck lists hosts that put every rule of host matching to the
// test: every host of the set's table, subdomains of each, look-alikes
// (a label prefixed, a suffix appended, the registrable part changed),
// public suffixes, the site's first-party hosts and hosts around them, and
// hosts that differ only in case or a trailing dot.
func hostsToCheck(set *rules.Set, site *rules.Site) []string {
	var base []string
	set.EachHost(func(h string, _ *rules.Vendor) { base = append(base, h) })
	if site != nil {
		base = append(base, site.FirstParty()...)
	}
	slices.Sort(base)
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for _, h := range base {
		add(h)
		add("www." + h)
		add("a.b." + h)
		add("x" + h)
		add("x-" + h)
		add(h + ".evil.example")
		if i := strings.LastIndexByte(h, '.'); i > 0 {
			add(h[:i] + ".invalid")
			add(h[:i])
		}
		if i := strings.IndexByte(h, '.'); i > 0 {
			add("xx" + h[i:])
			add(h[i+1:])
		}
	}
	for _, h := range []string{
		"com", "net", "co.uk", "github.io", "blogspot.com", "appspot.com", "herokuapp.com",
		"example", "localhost", "news.example", "www.news.example", "127.0.0.1",
		"WWW.Google-Analytics.COM", "www.google-analytics.com.", "Static.Chartbeat.com",
		"ssl.google-analytics.com.evil.example", "google-analytics.co", "oogle-analytics.com",
		// As the URL parser maps them (the Chromium test only).
		"ｗｗｗ.ｇｏｏｇｌｅ-ａｎａｌｙｔｉｃｓ.com", "www。google-analytics。com", "www%2Egoogle-analytics.com",
		"static.doubleclick。net", "cdn.segment%2ecom", "a.cdn.segment.com:8080",
	} {
		add(h)
	}
	return out
}

func TestTableMatchesClassify(t *testing.T) {
	set, news := testPolicy(t)
	for _, site := range []*rules.Site{news, nil} {
		for _, deny := range []rules.Categories{rules.DefaultDeny, rules.AllButNecessary, rules.Of(rules.Advertising), rules.All} {
			tb := compileTable(set, site, deny)
			p := parse(tb)
			if len(tb.vendors) == 0 {
				t.Fatalf("deny %v: empty table", deny)
			}
			hosts := hostsToCheck(set, site)
			var blocked int
			for _, h := range hosts {
				if strings.ContainsAny(h, "%:") || strings.ContainsFunc(h, func(r rune) bool { return r > 0x7f }) {
					continue // mapped by the browser's URL parser: TestClassifierMatchesClassifyInChromium
				}
				want := set.Classify(site, []byte(h))
				if want != nil && !deny.Has(site.Category(want)) {
					want = nil
				}
				if got := p.lookup(strings.ToLower(h)); got != want {
					t.Errorf("site %v, deny %v, host %q: table gives %v, Classify %v", siteName(site), deny, h, vendorID(got), vendorID(want))
				}
				if want != nil {
					blocked++
				}
			}
			if blocked == 0 || blocked == len(hosts) {
				t.Errorf("deny %v: %d of %d hosts blocked: the check is vacuous", deny, blocked, len(hosts))
			}
		}
	}
}

func siteName(s *rules.Site) string {
	if s == nil {
		return "(none)"
	}
	return s.Name
}

func vendorID(v *rules.Vendor) string {
	if v == nil {
		return "(none)"
	}
	return v.ID + "/" + v.Category.String()
}

// TestTableSections checks the entries that are there for matching rules
// rather than for a denied vendor: each one matters.
func TestTableSections(t *testing.T) {
	set, news := testPolicy(t)
	tb := compileTable(set, news, rules.DefaultDeny)
	secs := strings.Split(tb.text, "|")
	if len(secs) != 2+len(tb.vendors) {
		t.Fatalf("%d sections for %d vendors", len(secs), len(tb.vendors))
	}
	in := func(sec int, host string) bool { return slices.Contains(strings.Split(secs[sec], ","), host) }
	for _, c := range []struct {
		sec  int
		host string
		why  string
	}{
		{0, "cdn.segment.com", "first-party host under a denied vendor's"},
		{0, "news.example", "the site's own host"},
		{1, "widgets.hotjar.com", "functional entry under denied hotjar.com"},
	} {
		if !in(c.sec, c.host) {
			t.Errorf("%s (%s) not in section %d: %q", c.host, c.why, c.sec, secs[c.sec])
		}
	}
	for i, v := range tb.vendors {
		if v.ID == "chartbeat" {
			t.Errorf("chartbeat is on the site's allow-list but has section %d", i+2)
		}
		if !rules.DefaultDeny.Has(news.Category(v)) {
			t.Errorf("vendor %s (%s on the site) in the table of an opt-out", v.ID, news.Category(v))
		}
	}
	// The site's own categories: mixpanel (analytics in the catalogue) is
	// functional here, google-maps (functional) advertising.
	for _, v := range tb.vendors {
		if v.ID == "mixpanel" {
			t.Error("mixpanel is functional on the site but has a section")
		}
	}
	if !slices.ContainsFunc(tb.vendors, func(v *rules.Vendor) bool { return v.ID == "google-maps" }) {
		t.Error("google-maps is advertising on the site but has no section")
	}
	for _, h := range strings.FieldsFunc(tb.text, func(r rune) bool { return r == '|' || r == ',' }) {
		if !strings.Contains(h, ".") {
			t.Errorf("entry %q has no dot: no lookup reaches it", h)
		}
	}
}

func TestCompileDeterministic(t *testing.T) {
	set, news := testPolicy(t)
	a := Compile(set, news, rules.DefaultDeny)
	set2, news2 := testPolicy(t)
	b := Compile(set2, news2, rules.DefaultDeny)
	if !bytes.Equal(a.JS, b.JS) || a.Fingerprint != b.Fingerprint {
		t.Fatal("two compiles of the same rules differ: replicas would serve different URLs")
	}
	if c := Compile(set, news, rules.AllButNecessary); c.Fingerprint == a.Fingerprint {
		t.Error("another denial, same fingerprint")
	}
	sum := sha256.Sum256(a.JS)
	if a.Hash != "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'" {
		t.Errorf("hash %s is not the SHA-256 of JS", a.Hash)
	}
	if a.Path != "/.consentgate/guard/"+a.Fingerprint+".js" || !bytes.Contains(a.Tag, []byte(`src="`+a.Path+`"`)) {
		t.Errorf("path %q, tag %q", a.Path, a.Tag)
	}
	if !bytes.Equal(a.Inline, append(append([]byte("<script>"), a.JS...), "</script>"...)) {
		t.Error("Inline is not JS in a script element")
	}
	zr, err := gzip.NewReader(bytes.NewReader(a.Gzip()))
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := io.ReadAll(zr); !bytes.Equal(raw, a.JS) {
		t.Error("Gzip does not decode to JS")
	}
}

// TestScriptText: the placeholders are filled, the stub follows the guard,
// and nothing in the text can end the script element or open a comment
// inside it.
func TestScriptText(t *testing.T) {
	set, news := testPolicy(t)
	s := Compile(set, news, rules.DefaultDeny)
	js := string(s.JS)
	for _, ph := range []string{phTable, phIDs, phEndpoint, phEmbeds} {
		if strings.Contains(js, ph) {
			t.Errorf("placeholder %s left in the script", ph)
		}
		if strings.Count(Minified, ph) != 1 {
			t.Errorf("placeholder %s is not written once in guard.min.js", ph)
		}
	}
	if !strings.Contains(js, `"/.consentgate/guard"`) || !strings.Contains(js, `"google-analytics"`) {
		t.Error("endpoint or vendor ids missing")
	}
	// The denied embed vendors and their embed paths; no tracker.
	if !strings.Contains(js, `"meta-pixel":["/plugins/"]`) || !strings.Contains(js, `"youtube":[]`) || strings.Contains(js, `"google-analytics":[`) {
		t.Error("embeds missing or wrong")
	}
	stub := rewrite.StubScript(rewrite.Policy{Set: set, Site: news, Deny: rules.DefaultDeny})
	if len(stub) == 0 || !strings.HasSuffix(js, string(stub)) {
		t.Error("the stub does not end the script")
	}
	if regexp.MustCompile(`(?i)</script|<!--|<script`).MatchString(js) {
		t.Error("the script text holds </script, <script or <!--: it cannot be inlined")
	}
	if Compile(set, news, 0) != nil {
		t.Error("a guard for a visitor who denies nothing")
	}
}

// TestMinifiedIsCurrent fails when guard.js changed without go generate.
func TestMinifiedIsCurrent(t *testing.T) {
	want, err := jsmin.Minify([]byte(Source))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("guard.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("guard.min.js is stale: run go generate ./proxy/guard")
	}
}

func TestCache(t *testing.T) {
	set, news := testPolicy(t)
	c := NewCache(set)
	a := c.For(news, rules.DefaultDeny)
	if a == nil || c.For(news, rules.DefaultDeny) != a {
		t.Fatal("For does not keep what it compiled")
	}
	b := Compile(set, news, rules.Of(rules.Advertising, rules.Social))
	if got := c.ByFingerprint(news, b.Fingerprint); got == nil || !bytes.Equal(got.JS, b.JS) {
		t.Error("ByFingerprint does not find the guard of a denial compiled elsewhere")
	}
	if c.ByFingerprint(news, "000000000000000000000000") != nil || c.ByFingerprint(news, "../../etc") != nil {
		t.Error("ByFingerprint found a made-up name")
	}
}

func TestReadReport(t *testing.T) {
	set, news := testPolicy(t)
	f := func(body string, want string, wantIgnored int, wantErr error) {
		t.Helper()
		got, ignored, err := ReadReport(nil, []byte(body), set, news)
		var s []string
		for _, b := range got {
			s = append(s, b.Vendor.ID+"="+strconv.Itoa(b.Count))
		}
		if strings.Join(s, "&") != want || ignored != wantIgnored || err != wantErr {
			t.Errorf("ReadReport(%q) = %q, %d ignored, %v; want %q, %d, %v", body, strings.Join(s, "&"), ignored, err, want, wantIgnored, wantErr)
		}
	}
	f("google-analytics=2&hotjar=1", "google-analytics=2&hotjar=1", 0, nil)
	f("google-analytics=5000", "google-analytics=1000", 0, nil)
	f("google-analytics=2&google-analytics=9", "google-analytics=2", 1, nil)
	f("chartbeat=1&no-such-vendor=1&google-analytics=0&stripe=1", "", 4, nil) // allowed, unknown, zero, necessary
	f("google%2Danalytics=1", "google-analytics=1", 0, nil)
	f("disconnect-static-hosts=1", "disconnect-static-hosts=1", 0, nil) // functional: denied in an opt-in region
	f("google-analytics", "", 0, ErrReportSyntax)
	f("google-analytics=x", "", 0, ErrReportSyntax)
	f("", "", 0, ErrReportSyntax)
	f(strings.Repeat("a=1&", MaxEntries)+"a=1", "", 0, ErrReportTooLarge)
	f(strings.Repeat("x", MaxReport+1), "", 0, ErrReportTooLarge)
}

// BenchmarkCompile is the cost of a policy's first opted-out page (Cache
// compiles once per site and denial per rule set).
func BenchmarkCompile(b *testing.B) {
	set, err := rules.Compile(config.Default("http://127.0.0.1:1"))
	if err != nil {
		b.Fatal(err)
	}
	site := set.Sites()[0]
	b.ReportAllocs()
	for b.Loop() {
		Compile(set, site, rules.DefaultDeny)
	}
}
