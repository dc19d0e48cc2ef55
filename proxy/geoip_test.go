package proxy_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/signals"
)

// countries is a CountryLookup for tests.
type countries map[netip.Addr]string

func (c countries) Country(a netip.Addr) ([2]byte, bool) {
	cc, ok := c[a]
	if !ok {
		return [2]byte{}, false
	}
	return [2]byte{cc[0], cc[1]}, true
}

// TestGeoIPBehindTrustedProxy: behind a load balancer the TCP peer is the
// balancer, so a GeoIP region must come from X-Forwarded-For — but only
// when the peer is trusted. A visitor from an opt-in country (DE) gets no
// tracker without consent; the same request from an untrusted peer is
// located by the peer (no country: opt-out mode, the tracker stays).
func TestGeoIPBehindTrustedProxy(t *testing.T) {
	page := `<html><head><script src="https://www.googletagmanager.com/gtm.js?id=GTM-X"></script></head><body>x</body></html>`
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		ctx.SetBodyString(page)
	})
	cfg := "sites:\n  - name: shop\n    hosts: ['*']\n    region: {geoip_database: /nonexistent/countries.mmdb}\n"
	geo := countries{netip.MustParseAddr("203.0.113.7"): "DE"}
	for _, tc := range []struct {
		name    string
		trusted string
		tracker bool   // the page keeps the tag
		xff     string // what the upstream gets
	}{
		{"loopback trusted", "127.0.0.1/32", false, "203.0.113.7, 127.0.0.1"},
		{"no trusted proxy", "", true, "127.0.0.1"},
		{"another proxy trusted", "10.0.0.0/8", true, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trusted, err := proxy.ParseTrustedProxies(tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := signals.NewReaderWith(signals.Options{GeoIP: geo})
			if err != nil {
				t.Fatal(err)
			}
			defer sig.Close()
			g := startGate(t, "http://"+up.addr, cfg, func(o *proxy.Options) { o.Signals = sig; o.TrustedProxies = trusted })
			resp, body := get(t, g.url+"/", "X-Forwarded-For: 203.0.113.7")
			// The variant depends on the address, which no Vary can name:
			// no shared cache may store it, whoever asked.
			if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
				t.Errorf("Cache-Control = %q on a GeoIP site, want private", cc)
			}
			if got := strings.Contains(string(body), "googletagmanager.com"); got != tc.tracker {
				t.Errorf("tracker on the page: %v, want %v\n%s", got, tc.tracker, body)
			}
			if h := up.lastHeader(); !strings.Contains(h, "X-Forwarded-For: "+tc.xff+"\r\n") {
				t.Errorf("upstream request headers lack X-Forwarded-For: %s\n%s", tc.xff, h)
			}
		})
	}
}

// TestCountryHeaderTrust: the site's country header (CF-IPCountry) is set
// by the front end in a trusted deployment; a visitor who reaches the
// proxy without it can write any country. From an untrusted peer the
// header can put the visitor in opt-in mode (more protection, never less)
// but not take them out of it: a visitor GeoIP places in Germany who
// writes "CF-IPCountry: US" still gets no tracker without consent. From a
// trusted proxy it is believed either way.
func TestCountryHeaderTrust(t *testing.T) {
	page := `<html><head><script src="https://www.googletagmanager.com/gtm.js?id=GTM-X"></script></head><body>x</body></html>`
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		ctx.SetBodyString(page)
	})
	cfg := "sites:\n  - name: shop\n    hosts: ['*']\n    region: {country_header: CF-IPCountry, geoip_database: /nonexistent/countries.mmdb}\n"
	for _, tc := range []struct {
		name    string
		trusted string
		geo     string // the peer's country by GeoIP ("": unknown)
		header  string
		tracker bool // the page keeps the tag (opt-out mode)
	}{
		{"untrusted, header says opt-out country, GeoIP opt-in", "", "DE", "US", false},
		{"untrusted, header says opt-out country, GeoIP unknown", "", "", "US", true},
		{"untrusted, header says opt-in country", "", "", "DE", false},
		{"trusted, header says opt-out country", "127.0.0.1/32", "DE", "US", true},
		{"trusted, header says opt-in country", "127.0.0.1/32", "", "FR", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trusted, err := proxy.ParseTrustedProxies(tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			geo := countries{}
			if tc.geo != "" {
				geo[netip.MustParseAddr("127.0.0.1")] = tc.geo
			}
			sig, err := signals.NewReaderWith(signals.Options{GeoIP: geo})
			if err != nil {
				t.Fatal(err)
			}
			defer sig.Close()
			g := startGate(t, "http://"+up.addr, cfg, func(o *proxy.Options) { o.Signals = sig; o.TrustedProxies = trusted })
			_, body := get(t, g.url+"/", "CF-IPCountry: "+tc.header)
			if got := strings.Contains(string(body), "googletagmanager.com"); got != tc.tracker {
				t.Errorf("tracker on the page: %v, want %v", got, tc.tracker)
			}
			if h := up.lastHeader(); tc.trusted == "" && strings.Contains(strings.ToLower(h), "cf-ipcountry") {
				t.Errorf("the upstream got the country header of an untrusted peer:\n%s", h)
			}
		})
	}
}
