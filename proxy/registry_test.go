package proxy_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/proxy/demo"
	"github.com/consentgate/consentgate/proxy/registry"
	"github.com/consentgate/consentgate/proxy/registry/registrytest"
	"github.com/consentgate/consentgate/rules"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// accountConfig gives every site an account key: the cookie uid, or the
// header X-Account-Id from a trusted proxy.
const accountConfig = `account:
  cookie: uid
  header: X-Account-Id
  secret: "test-secret-0123456789"
`

// startRegistry opens one replica's registry client on srv.
func startRegistry(t testing.TB, srv *registrytest.Server, tweak ...func(*registry.Options)) (*registry.Registry, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o := registry.Options{URL: srv.URL(), Budget: time.Second, Registerer: reg, ProbeInterval: 50 * time.Millisecond}
	for _, f := range tweak {
		f(&o)
	}
	r, err := registry.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r, reg
}

// demoUpstream serves the demo site, whose pages carry a dozen trackers.
func demoUpstream(t testing.TB) *upstream {
	t.Helper()
	return startUpstream(t, demo.Handler)
}

// status returns the status endpoint's decision for the headers.
func status(t testing.TB, base string, headers ...string) (optedOut bool, sources []string, registryAnswer string) {
	t.Helper()
	_, body := get(t, base+"/.consentgate/status", headers...)
	var e struct {
		OptedOut bool     `json:"opted_out"`
		Sources  []string `json:"sources"`
		Signals  struct {
			Registry *struct {
				Account bool   `json:"account"`
				Answer  string `json:"answer"`
			} `json:"registry"`
		} `json:"signals"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("status: %v\n%s", err, body)
	}
	if e.Signals.Registry != nil {
		registryAnswer = e.Signals.Registry.Answer
	}
	return e.OptedOut, e.Sources, registryAnswer
}

// TestOptOutFollowsTheAccount: a visitor opts out on device A while signed
// in; device B, with the same account cookie and no signal of its own, is
// served without trackers on its next request, and status and metrics say
// why. Another account is unaffected. An opt-in on B clears it.
func TestOptOutFollowsTheAccount(t *testing.T) {
	srv := registrytest.Start(t)
	r, _ := startRegistry(t, srv)
	up := demoUpstream(t)
	g := startGate(t, "http://"+up.addr, accountConfig, func(o *proxy.Options) { o.Registry = r })
	set := g.set

	resp, body := get(t, g.url+"/", "Cookie: uid=alice")
	if len(leaks(set, rules.DefaultDeny, resp, body)) == 0 {
		t.Fatal("before the opt-out, alice's page has no trackers: the test page proves nothing")
	}
	// Device A opts out.
	resp, body = get(t, g.url+"/.consentgate/optout", "Cookie: uid=alice; theme=dark")
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Set-Cookie"), "consentgate_optout=1") {
		t.Fatalf("opt-out: %d %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
	// The confirmation says the account has it too.
	if !bytes.Contains(body, []byte("Your account: the opt-out now applies wherever you are signed in")) {
		t.Errorf("the confirmation page does not name the account:\n%s", body)
	}
	if srv.Keys(t) != 1 || strings.Contains(srv.Do(t, "KEYS", "*"), "alice") {
		t.Fatalf("registry after the opt-out: %q", srv.Do(t, "KEYS", "*"))
	}
	// Device B: the account cookie only.
	resp, body = get(t, g.url+"/", "Cookie: uid=alice")
	if l := leaks(set, rules.DefaultDeny, resp, body); len(l) > 0 {
		t.Errorf("device B of an opted-out account gets trackers: %v", l)
	}
	if out, src, ans := status(t, g.url, "Cookie: uid=alice"); !out || strings.Join(src, ",") != "registry" || ans != "opted_out" {
		t.Errorf("status for device B: opted out %v, sources %v, registry %q", out, src, ans)
	}
	if v := testutil.ToFloat64(g.metrics.OptOutSources.WithLabelValues("default", "registry")); v == 0 {
		t.Error("consentgate_optout_sources_total{source=registry} did not move")
	}
	// Bob is not alice.
	resp, body = get(t, g.url+"/", "Cookie: uid=bob")
	if len(leaks(set, rules.DefaultDeny, resp, body)) == 0 {
		t.Error("another account lost its trackers")
	}
	if out, _, ans := status(t, g.url, "Cookie: uid=bob"); out || ans != "not_opted_out" {
		t.Errorf("status for bob: opted out %v, registry %q", out, ans)
	}
	if out, _, ans := status(t, g.url); out || ans != "" {
		t.Errorf("status without an account: opted out %v, registry %q", out, ans)
	}

	// Opt-in from device B, as a same-origin POST.
	req, _ := http.NewRequest(http.MethodPost, g.url+"/.consentgate/optin", nil)
	req.Header.Set("Cookie", "uid=alice")
	req.Header.Set("Origin", g.url)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || srv.Keys(t) != 0 {
		t.Fatalf("opt-in: status %d, registry holds %d keys", resp.StatusCode, srv.Keys(t))
	}
	resp, body = get(t, g.url+"/", "Cookie: uid=alice")
	if len(leaks(set, rules.DefaultDeny, resp, body)) == 0 {
		t.Error("after the opt-in, alice's page has no trackers")
	}
}

// TestAccountHeaderNeedsTrustedPeer: the account header names any account
// it likes, so only a trusted front end may send it.
func TestAccountHeaderNeedsTrustedPeer(t *testing.T) {
	srv := registrytest.Start(t)
	r, _ := startRegistry(t, srv)
	up := demoUpstream(t)
	untrusted := startGate(t, "http://"+up.addr, accountConfig, func(o *proxy.Options) { o.Registry = r })
	trusted := startGate(t, "http://"+up.addr, accountConfig, func(o *proxy.Options) { o.Registry = r; o.TrustForwarded = true })
	if resp, _ := get(t, trusted.url+"/.consentgate/optout?redirect=1", "X-Account-Id: carol"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("opt-out: %d", resp.StatusCode)
	}
	if out, src, _ := status(t, trusted.url, "X-Account-Id: carol"); !out || strings.Join(src, ",") != "registry" {
		t.Errorf("from a trusted peer: opted out %v, sources %v", out, src)
	}
	if out, _, ans := status(t, untrusted.url, "X-Account-Id: carol"); out || ans != "" {
		t.Errorf("from an untrusted peer the header was read: opted out %v, registry %q", out, ans)
	}
	if out, _, _ := status(t, untrusted.url, "X-Account-Id: mallory"); out {
		t.Error("untrusted header opted out")
	}
	if _, _ = get(t, untrusted.url+"/.consentgate/optout", "X-Account-Id: dave"); srv.Keys(t) != 1 {
		t.Errorf("an untrusted peer recorded an opt-out for the account it named: %d keys", srv.Keys(t))
	}
}

// TestRegistryDownServesRequests: with the registry killed, every request
// is still answered, a cached opt-out is still enforced, an uncached
// account falls back to its own signals, and the outage is counted.
func TestRegistryDownServesRequests(t *testing.T) {
	srv := registrytest.Start(t)
	const budget = 50 * time.Millisecond
	r, reg := startRegistry(t, srv, func(o *registry.Options) { o.Budget = budget })
	up := demoUpstream(t)
	g := startGate(t, "http://"+up.addr, accountConfig, func(o *proxy.Options) { o.Registry = r })
	get(t, g.url+"/.consentgate/optout", "Cookie: uid=alice")
	srv.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for r.Up() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; i < 10; i++ {
		resp, body := get(t, g.url+"/", "Cookie: uid=alice")
		if resp.StatusCode != 200 {
			t.Fatalf("registry down: status %d", resp.StatusCode)
		}
		if l := leaks(g.set, rules.DefaultDeny, resp, body); len(l) > 0 {
			t.Fatalf("registry down: a cached opt-out was not enforced: %v", l)
		}
		resp, body = get(t, g.url+"/", "Cookie: uid=erin")
		if resp.StatusCode != 200 || len(leaks(g.set, rules.DefaultDeny, resp, body)) == 0 {
			t.Fatalf("registry down: an account without an opt-out: status %d, trackers removed", resp.StatusCode)
		}
		resp, body = get(t, g.url+"/", "Cookie: uid=erin", "Sec-GPC: 1")
		if l := leaks(g.set, rules.DefaultDeny, resp, body); resp.StatusCode != 200 || len(l) > 0 {
			t.Fatalf("registry down: GPC not enforced: status %d %v", resp.StatusCode, l)
		}
	}
	mfs, _ := reg.Gather()
	var errs, stale float64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == "consentgate_registry_lookups_total" {
				switch m.GetLabel()[0].GetValue() {
				case registry.ResultError:
					errs = m.GetCounter().GetValue()
				case registry.ResultStale:
					stale = m.GetCounter().GetValue()
				}
			}
		}
	}
	if errs == 0 || stale == 0 {
		t.Errorf("outage not counted: error %v, stale %v", errs, stale)
	}
}
