package signals

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRegistryInput: the shared registry's answer is one more input of the
// decision. An opt-out on record opts the visitor out with source
// registry, whatever else the request says; any other answer leaves the
// decision to the request's own signals.
func TestRegistryInput(t *testing.T) {
	r := newTestReader(t, Options{})
	site := testSite()
	f := func(lines string, answer RegistryAnswer, wantOut bool, wantSources string) {
		t.Helper()
		h := header(t, lines)
		c := r.ReadInput(PolicyOf(site), h, Input{Registry: answer})
		if c.OptedOut != wantOut || strings.Join(c.Sources.Names(), ",") != wantSources {
			t.Errorf("%q, registry %v: opted out %v sources %v, want %v %q", lines, answer, c.OptedOut, c.Sources.Names(), wantOut, wantSources)
		}
		if wantOut && c.Denied&site.Deny != site.Deny {
			t.Errorf("%q, registry %v: denied %v, want at least %v", lines, answer, c.Denied, site.Deny)
		}
		e := r.ExplainInput(PolicyOf(site), h, Input{Registry: answer})
		if e.OptedOut != c.OptedOut || e.Denied == nil {
			t.Errorf("%q, registry %v: Explain says opted out %v, Read %v", lines, answer, e.OptedOut, c.OptedOut)
		}
		b, _ := json.Marshal(e.Signals)
		var got struct{ Registry *RegistrySignal }
		json.Unmarshal(b, &got) //nolint:errcheck
		switch {
		case answer == RegistryNone && got.Registry != nil:
			t.Errorf("%q: no account, but explain has registry %+v", lines, got.Registry)
		case answer != RegistryNone && (got.Registry == nil || got.Registry.Answer != answer.String() || !got.Registry.Account):
			t.Errorf("%q, registry %v: explain has registry %s", lines, answer, b)
		}
	}
	f("", RegistryNone, false, "")
	f("", RegistryNotOptedOut, false, "")
	f("", RegistryUnknown, false, "")
	f("", RegistryOptedOut, true, "registry")
	f("Sec-GPC: 1\r\n", RegistryOptedOut, true, "gpc,registry")
	f("Sec-GPC: 1\r\n", RegistryUnknown, true, "gpc")
	// In an opt-in region, a registry opt-out wins over consent a CMP grants.
	f("CF-IPCountry: DE\r\nCookie: cmplz_marketing=allow; cmplz_statistics=allow\r\n", RegistryOptedOut, true, "cmp,region,registry")
}

func TestRegistryAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations differ under -race")
	}
	r := newTestReader(t, Options{})
	p := PolicyOf(testSite())
	h := header(t, "Cookie: sid=1\r\n")
	if n := testing.AllocsPerRun(100, func() { r.ReadInput(p, h, Input{Registry: RegistryOptedOut}) }); n != 0 {
		t.Errorf("%v allocations per ReadInput, want 0", n)
	}
}
