package proxy

import (
	"testing"

	"github.com/consentgate/consentgate/rules/reload"
	"github.com/consentgate/consentgate/signals"
	"github.com/valyala/fasthttp"
)

// TestDecision: decide makes the one decision the later steps read:
// enforced or observed (shadow), the consent mirror, and the vendor test
// of cookies and headers, which agrees with the set's own rule.
func TestDecision(t *testing.T) {
	h := reload.NewHolder(nil)
	cfg := "upstream: http://127.0.0.1:1\nsites:\n" +
		"  - name: plain\n    hosts: [plain.example]\n" +
		"  - name: shadow\n    hosts: [shadow.example]\n    shadow: true\n" +
		"  - name: mirror\n    hosts: [mirror.example]\n    mirror: true\n"
	if _, err := h.ReloadData([]byte(cfg), "a.yaml"); err != nil {
		t.Fatal(err)
	}
	sig := signals.NewReader()
	defer sig.Close()
	s, err := New(Options{Rules: h, Signals: sig})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context()) //nolint:errcheck
	st := s.current()
	ga := st.set.CookieVendor([]byte("_ga"))
	if ga == nil {
		t.Fatal("the catalogue has no vendor for the _ga cookie")
	}
	for _, tc := range []struct {
		host, header                       string
		active, observed, mirror, deniesGA bool
	}{
		{"plain.example", "Sec-GPC: 1", true, true, false, true},
		{"plain.example", "", false, false, false, false},
		{"shadow.example", "Sec-GPC: 1", false, true, false, true},
		{"shadow.example", "", false, false, false, false},
		{"mirror.example", "", false, false, true, false},
		{"mirror.example", "Sec-GPC: 1", true, true, false, true},
	} {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetHost(tc.host)
		if tc.header != "" {
			ctx.Request.Header.Set("Sec-GPC", "1")
		}
		site := st.set.Site([]byte(tc.host))
		d := s.decide(&ctx, st, site)
		if d.active() != tc.active || d.observed() != tc.observed || d.mirror() != tc.mirror || d.denied(ga) != tc.deniesGA {
			t.Errorf("%s, %q: active %v, observed %v, mirror %v, denies _ga %v; want %v, %v, %v, %v", tc.host, tc.header,
				d.active(), d.observed(), d.mirror(), d.denied(ga), tc.active, tc.observed, tc.mirror, tc.deniesGA)
		}
		if d.denied(ga) != site.Denied(ga, d.deny) || d.denied(nil) {
			t.Errorf("%s, %q: denied disagrees with rules.Site.Denied", tc.host, tc.header)
		}
		if p := d.policy(); p.Set != st.set || p.Site != site || p.Deny != d.deny {
			t.Errorf("%s, %q: policy %+v is not the decision's", tc.host, tc.header, p)
		}
	}
}
