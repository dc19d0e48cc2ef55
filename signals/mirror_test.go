package signals

import (
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

func mirrorSite() *rules.Site {
	s := testSite()
	s.Mirror = true
	return s
}

func TestParseMirror(t *testing.T) {
	ads := rules.Of(rules.Advertising, rules.Social)
	tests := []struct {
		in     string
		optOut bool
		denied rules.Categories
		from   string // source names joined by ","
		reason Reason
	}{
		{"1.1.-.t", true, 0, "tcfapi", ReasonNone},
		{"1.0.ds.o", false, ads, "onetrust", ReasonNone},
		{"1.1.fads.tguocyzik", true, rules.AllButNecessary, "tcfapi,gpp,uspapi,onetrust,cookiebot,cookieyes,complianz,didomi,klaro", ReasonNone},
		{"1.0.-.i", false, 0, "didomi", ReasonNone},
		{"1.0.a.ky", false, rules.Of(rules.Analytics), "cookieyes,klaro", ReasonNone},
		{"", false, 0, "", ReasonEmpty},
		{"2.1.-.t", false, 0, "", ReasonBadVersion},
		{"1", false, 0, "", ReasonBadSyntax},
		{"1.1.-.", false, 0, "", ReasonBadSyntax},
		{"1.1..t", false, 0, "", ReasonBadSyntax},
		{"1.1.-", false, 0, "", ReasonBadSyntax},
		{"1.1-.t", false, 0, "", ReasonBadSyntax},
		{"1.2.-.t", false, 0, "", ReasonBadValue},
		{"1.1.aa.t", false, 0, "", ReasonBadValue},
		{"1.1.x.t", false, 0, "", ReasonBadValue},
		{"1.1.-a.t", false, 0, "", ReasonBadValue},
		{"1.1.a.tt", false, 0, "", ReasonBadValue},
		{"1.1.a.t.", false, 0, "", ReasonBadValue},
		{"1.1.a.q", false, 0, "", ReasonBadValue},
		{"1.1.fads.tguocyzikk", false, 0, "", ReasonTooLong},
		{"1.1.A.t", false, 0, "", ReasonBadValue},
	}
	for _, tt := range tests {
		res := parseMirror([]byte(tt.in))
		if res.fail.reason != tt.reason {
			t.Errorf("%q: reason %v, want %v", tt.in, res.fail.reason, tt.reason)
			continue
		}
		if tt.reason != ReasonNone {
			if res.denied != 0 {
				t.Errorf("%q failed but denies %v", tt.in, res.denied)
			}
			continue
		}
		var from []string
		for i, n := range mirrorFromNames {
			if res.from&(1<<i) != 0 {
				from = append(from, n)
			}
		}
		if res.optOut != tt.optOut || res.denied != tt.denied || strings.Join(from, ",") != tt.from {
			t.Errorf("%q: opt-out %v denied %v from %v; want %v %v %v", tt.in, res.optOut, res.denied, from, tt.optOut, tt.denied, tt.from)
		}
	}
}

func TestMirrorCookieInRead(t *testing.T) {
	r := newTestReader(t, Options{})
	tests := []struct {
		name     string
		site     *rules.Site
		lines    string
		optedOut bool
		sell     bool
		denied   rules.Categories
		errs     Source
	}{
		{"opt-out", mirrorSite(), "Cookie: consentgate_mirror=1.1.-.u\r\n", true, true, rules.DefaultDeny, 0},
		{"denial only", mirrorSite(), "Cookie: consentgate_mirror=1.0.a.i\r\n", true, false, rules.Of(rules.Analytics), 0},
		{"nothing denied", mirrorSite(), "Cookie: consentgate_mirror=1.0.-.t\r\n", false, false, 0, 0},
		{"garbage fails closed", mirrorSite(), "Cookie: consentgate_mirror=yes\r\n", true, true, rules.DefaultDeny, Mirror},
		{"two values", mirrorSite(), "Cookie: consentgate_mirror=1.0.-.t; consentgate_mirror=1.1.-.t\r\n", true, true, rules.DefaultDeny, Mirror},
		{"site without the mirror ignores it", testSite(), "Cookie: consentgate_mirror=1.1.fads.t\r\n", false, false, 0, 0},
		{"site without the mirror ignores garbage", testSite(), "Cookie: consentgate_mirror=yes\r\n", false, false, 0, 0},
		// It never grants: in an opt-in region nothing it says opens a
		// category.
		{"opt-in region", mirrorSite(), "CF-IPCountry: DE\r\nCookie: consentgate_mirror=1.0.-.t\r\n", false, false, rules.AllButNecessary, 0},
	}
	for _, tt := range tests {
		c := r.Read(PolicyOf(tt.site), header(t, tt.lines))
		if c.OptedOut != tt.optedOut || c.DoNotSell != tt.sell || c.Denied != tt.denied || c.Errors != tt.errs {
			t.Errorf("%s: %+v; want opted out %v, do not sell %v, denied %v, errors %v", tt.name, c, tt.optedOut, tt.sell, tt.denied, tt.errs)
		}
		if (tt.optedOut || tt.errs != 0) && c.Sources&Mirror == 0 {
			t.Errorf("%s: source mirror not recorded: %v", tt.name, c.Sources.Names())
		}
	}
}

func TestMirrorExplain(t *testing.T) {
	r := newTestReader(t, Options{})
	e := r.Explain(PolicyOf(mirrorSite()), header(t, "Cookie: consentgate_mirror=1.1.ds.to\r\n"))
	m := e.Signals.Mirror
	if m == nil || !m.OptOut || strings.Join(m.Denied, ",") != "advertising,social" ||
		strings.Join(m.From, ",") != "tcfapi,onetrust" || m.Cookie != "1.1.ds.to" || m.Error != "" {
		t.Fatalf("mirror signal %+v", m)
	}
	if strings.Join(e.Sources, ",") != "mirror" {
		t.Errorf("sources %v", e.Sources)
	}
	e = r.Explain(PolicyOf(mirrorSite()), header(t, "Cookie: consentgate_mirror=1.9.-.t\r\n"))
	if e.Signals.Mirror == nil || e.Signals.Mirror.Error == "" || len(e.Errors) != 1 || !strings.HasPrefix(e.Errors[0], "mirror: ") {
		t.Errorf("garbage: %+v, errors %v", e.Signals.Mirror, e.Errors)
	}
	if e := r.Explain(PolicyOf(testSite()), header(t, "Cookie: consentgate_mirror=1.1.-.t\r\n")); e.Signals.Mirror != nil {
		t.Errorf("a site without the mirror explains it: %+v", e.Signals.Mirror)
	}
}

func TestMirrorNeverGrants(t *testing.T) {
	// Whatever the cookie says, the decision with it denies at least what
	// it denies without it.
	r := newTestReader(t, Options{})
	base := "CF-IPCountry: DE\r\nCookie: euconsent-v2=" + benchTCF
	without := r.Read(PolicyOf(mirrorSite()), header(t, base+"\r\n"))
	for _, v := range []string{"1.0.-.t", "1.1.-.t", "1.0.fads.tguocyzik", "1.0.a.g"} {
		with := r.Read(PolicyOf(mirrorSite()), header(t, base+"; consentgate_mirror="+v+"\r\n"))
		if with.Denied&without.Denied != without.Denied {
			t.Errorf("%s: denied %v, without it %v", v, with.Denied, without.Denied)
		}
	}
}

func TestParseMirrorAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	for _, v := range [][]byte{[]byte("1.1.fads.tguocyzik"), []byte("1.1.aa.t"), []byte("garbage")} {
		if n := testing.AllocsPerRun(100, func() { parseMirror(v) }); n != 0 {
			t.Errorf("%q: %v allocations", v, n)
		}
	}
}
