package signals

import (
	"testing"

	"github.com/consentgate/consentgate/rules"
	"github.com/valyala/fasthttp"
)

// Fuzz properties, for every parser: no panic; a failure always carries a
// reason; and a string that fails never grants consent in the Reader: the
// visitor is opted out with an error recorded for that signal.

const fuzzMax = 4 << 10

var gppSeeds = []string{
	"DBABLA~BVVqAAEABCA.QA", "DBABLA~BVVqAAEABCA.YA", "DBABLA~BqqAqqqqqqA", "DBABLA~CVVVkkkkkpFY.YA",
	"DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN", "DBABTA~1YYY", "DBABjw~BAAAAAAAAAAA~1YNN",
	"DBABMA~CAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAAAAAA.QAAA.IAAA", "", "D", "DBABVVVVVVVV~x", "DBAA", "DBAA~",
	"DBABEYA~BVVU.YA", "DBABUYA~BVVV.kkk", "DBABCYA~BQAA.AAA", "DBABSYA~Blmi.ZmY",
}

// readOne runs a Reader over one cookie in the opt-in region and checks the
// fail-closed property for source s.
func readOne(t *testing.T, r *Reader, name, value string, s Source, failed bool) {
	t.Helper()
	var h fasthttp.RequestHeader
	h.Set("CF-IPCountry", "DE")
	h.SetCookie(name, value)
	site := &rules.Site{Deny: rules.DefaultDeny, CountryHeader: "CF-IPCountry",
		OptInCountries: map[string]bool{"DE": true}}
	c := r.Read(PolicyOf(site), &h)
	got := h.Cookie(name)
	if string(got) != value {
		return // fasthttp did not keep the value as is (e.g. a ';'); nothing to check
	}
	if failed {
		if !c.OptedOut || c.Errors&s == 0 || c.Reason(s) == ReasonNone {
			t.Fatalf("%s=%q failed to parse but consent is %+v", name, value, c)
		}
		if c.Denied&rules.DefaultDeny != rules.DefaultDeny {
			t.Fatalf("%s=%q failed to parse but denied only %v", name, value, c.Denied)
		}
	}
}

var fuzzReader = func() *Reader {
	r, err := NewReaderWith(Options{CacheMaxCost: 1 << 20})
	if err != nil {
		panic(err)
	}
	return r
}()

func FuzzGPP(f *testing.F) {
	for _, s := range gppSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > fuzzMax {
			return
		}
		res := parseGPP([]byte(s), nil)
		ex, _ := explainGPP(s)
		if res.fail != ex.fail || res.optOut != ex.optOut || res.sections != ex.sections {
			t.Fatalf("%q: Read and Explain parse differently: %+v / %+v", s, res.fail, ex.fail)
		}
		if !res.fail.ok() && res.fail.what == "" {
			t.Fatalf("%q: failure without description", s)
		}
		if res.gpc&^res.optOut != 0 {
			t.Fatalf("%q: GPC sections %b not all opted out %b", s, res.gpc, res.optOut)
		}
		readOne(t, fuzzReader, "__gpp", s, GPP, !res.fail.ok())
		// With a Texan's state law governing, a failure still opts out,
		// and so does a true GPC sub-section in any section.
		var h fasthttp.RequestHeader
		h.Set("X-Region", "US-TX")
		h.SetCookie("__gpp", s)
		if string(h.Cookie("__gpp")) != s {
			return
		}
		site := &rules.Site{Deny: rules.DefaultDeny, StateHeader: "X-Region"}
		c := fuzzReader.Read(PolicyOf(site), &h)
		if !res.fail.ok() && (!c.OptedOut || c.Errors&GPP == 0) {
			t.Fatalf("%q failed to parse but consent is %+v with a state law", s, c)
		}
		if res.fail.ok() && res.gpc != 0 && !c.OptedOut {
			t.Fatalf("%q: a true GPC sub-section did not opt out with a state law", s)
		}
	})
}

func FuzzTCF(f *testing.F) {
	for _, s := range []string{
		"CAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAAAAAA.QAAA.IAAA",
		"CPSG_8APSG_8AAAAAAENAACgAAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAAA",
		"COv_eg6Ov_eg6AOADBENAaCgAP_AAH_AACiQAVEUQQoAIQAqIoghAAQgAA.YAAAAAAAAAAAAAAAAAA",
		"CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", "C", "",
		tcfPublisherTC, tcfDecode4,
		"CAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAAAAAA.IAyP_________w",
		"CAAAAAAAAAAAAAAAAAENAACAAAAAAAAAAAAAAAAAAAAA.IAoQAYAOACi",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > fuzzMax {
			return
		}
		res := parseTCF([]byte(s), nil)
		ex, _ := explainTCF(s)
		if res.fail != ex.fail || res.purposes != ex.purposes {
			t.Fatalf("%q: Read and Explain parse differently", s)
		}
		if res.fail.ok() != res.present && s != "" {
			t.Fatalf("%q: present %v with failure %+v", s, res.present, res.fail)
		}
		failed := !res.fail.ok() || s == ""
		readOne(t, fuzzReader, "euconsent-v2", s, TCF, failed)
	})
}

func FuzzUSP(f *testing.F) {
	for _, s := range []string{"1YNN", "1NYY", "1-Y-", "1---", "1yyn", "2YNN", "1YN", "", "1YNNN", "1Y\x00N"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUSP([]byte(s))
		if err == nil && (len(s) != 4 || u.Version != '1') {
			t.Fatalf("%q accepted: %+v", s, u)
		}
		readOne(t, fuzzReader, "usprivacy", s, USP, err != nil)
	})
}

func FuzzCMP(f *testing.F) {
	seeds := []struct {
		kind uint8
		v    string
	}{
		{0, "isGpcEnabled=0&groups=C0001%3A1%2CC0002%3A0"},
		{1, "{stamp:%27x%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:true%2Cmarketing:false}"},
		{1, "-1"},
		{2, "consentid:x,consent:yes,action:yes,necessary:yes,functional:no,analytics:yes,performance:no,advertisement:no"},
		{3, "allow"},
		{4, didomiToken([]string{"cookies"}, nil)},
		{5, `%7B%22ga%22%3Afalse%7D`},
	}
	for _, s := range seeds {
		f.Add(s.kind, s.v)
	}
	names := [numCMPs]string{"OptanonConsent", "CookieConsent", "cookieyes-consent", "cmplz_marketing", "didomi_token", "klaro"}
	f.Fuzz(func(t *testing.T, kind uint8, v string) {
		if len(v) > fuzzMax {
			return
		}
		k := cmpKind(kind % uint8(numCMPs))
		res := parseCMP(k, []byte(names[k]), []byte(v), true)
		if !res.fail.ok() && (res.granted != 0 || res.fail.what == "") {
			t.Fatalf("%d %q: failure %+v with grants %v", k, v, res.fail, res.granted)
		}
		if res.granted&res.denied != 0 {
			t.Fatalf("%d %q: granted and denied %v", k, v, res.granted&res.denied)
		}
		readOne(t, fuzzReader, names[k], v, CMP, !res.fail.ok())
	})
}

// FuzzMirror holds the mirror cookie's parser to its contract: no panic;
// a failure has a reason and denies nothing of its own, and
// the Reader reads it as an opt-out with a mirror error; a value that
// parses says the same written back in the canonical order; and whatever
// the value, the decision denies at least what it denies without it (the
// mirror never grants).
func FuzzMirror(f *testing.F) {
	for _, s := range []string{"1.1.-.t", "1.0.ds.o", "1.1.fads.tguocyzik", "1.0.a.ky", "", "2.1.-.t",
		"1.1..t", "1.1.aa.t", "1.1.a.t.", "1.1.-a.t", "yes", "1.1.fads.tguocyzikk"} {
		f.Add(s)
	}
	site := &rules.Site{Deny: rules.DefaultDeny, CountryHeader: "CF-IPCountry",
		OptInCountries: map[string]bool{"DE": true}, Mirror: true}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > fuzzMax {
			return
		}
		res := parseMirror([]byte(s))
		if !res.fail.ok() && (res.fail.what == "" || res.denied != 0) {
			t.Fatalf("%q: failure %+v denying %v", s, res.fail, res.denied)
		}
		if res.fail.ok() {
			b := []byte{'1', '.', '0', '.'}
			if res.optOut {
				b[2] = '1'
			}
			n := len(b)
			for _, c := range "fads" {
				if cat, _ := mirrorCategory(byte(c)); res.denied.Has(cat) {
					b = append(b, byte(c))
				}
			}
			if len(b) == n {
				b = append(b, '-')
			}
			b = append(b, '.')
			for i := 0; i < len(mirrorFromLetters); i++ {
				if res.from&(1<<i) != 0 {
					b = append(b, mirrorFromLetters[i])
				}
			}
			if again := parseMirror(b); again != res {
				t.Fatalf("%q reads %+v, written back %q reads %+v", s, res, b, again)
			}
		}
		for _, country := range []string{"DE", "US"} {
			var with, without fasthttp.RequestHeader
			with.Set("CF-IPCountry", country)
			without.Set("CF-IPCountry", country)
			with.SetCookie(MirrorCookie, s)
			if string(with.Cookie(MirrorCookie)) != s {
				return // fasthttp did not keep the value as is
			}
			c, c0 := fuzzReader.Read(PolicyOf(site), &with), fuzzReader.Read(PolicyOf(site), &without)
			if c.Denied&c0.Denied != c0.Denied {
				t.Fatalf("%q in %s: denied %v, without it %v", s, country, c.Denied, c0.Denied)
			}
			if !res.fail.ok() && (!c.OptedOut || c.Errors&Mirror == 0 || c.Reason(Mirror) == ReasonNone || c.Denied&rules.DefaultDeny != rules.DefaultDeny) {
				t.Fatalf("%q failed to parse but consent is %+v", s, c)
			}
		}
	})
}
