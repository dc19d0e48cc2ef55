package registry_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/consentgate/consentgate/proxy/registry"
	"github.com/consentgate/consentgate/proxy/registry/registrytest"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind. A closed
// Registry's cache (ristretto) has stopped its workers: Close waits for
// them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var hasher = registry.NewHasher([]byte("test-secret-0123456789"))

func key(t testing.TB, id string) registry.Key {
	t.Helper()
	k, ok := hasher.Sum([]byte(id))
	if !ok {
		t.Fatalf("no key for %q", id)
	}
	return k
}

// open starts a Registry (one replica's client) and closes it when the
// test ends.
func open(t testing.TB, url string, tweak ...func(*registry.Options)) (*registry.Registry, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o := registry.Options{URL: url, Budget: time.Second, NegativeTTL: time.Hour, Registerer: reg, ProbeInterval: 50 * time.Millisecond}
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

// eventually polls cond until it holds or 10 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func lookups(reg *prometheus.Registry, result string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "consentgate_registry_lookups_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

// TestOptOutFollowsTheAccount: an opt-out recorded through one replica is
// seen by another, which had cached "no opt-out" for the account with a
// negative TTL of an hour: the registry's invalidation message drops it.
// An opt-in clears it everywhere the same way.
func TestOptOutFollowsTheAccount(t *testing.T) {
	srv := registrytest.Start(t)
	a, _ := open(t, srv.URL())
	b, regB := open(t, srv.URL())
	k := key(t, "user-42")
	if got := b.Lookup(k); got != signals.RegistryNotOptedOut {
		t.Fatalf("before any opt-out: %v", got)
	}
	if got := b.Lookup(k); got != signals.RegistryNotOptedOut || lookups(regB, registry.ResultHit) != 1 {
		t.Fatalf("second lookup: %v, hits %v: want a cached answer", got, lookups(regB, registry.ResultHit))
	}
	if err := a.Record(context.Background(), k, true); err != nil {
		t.Fatal(err)
	}
	if got := a.Lookup(k); got != signals.RegistryOptedOut {
		t.Errorf("the replica that recorded it: %v", got)
	}
	eventually(t, "replica B sees the opt-out", func() bool { return b.Lookup(k) == signals.RegistryOptedOut })
	if n := srv.Keys(t); n != 1 {
		t.Errorf("registry holds %d keys, want 1", n)
	}
	if v := srv.Do(t, "GET", k.Name()); !strings.HasPrefix(v, "$10\r\n") {
		t.Errorf("the stored value is %q, want the Unix time of the opt-out", v)
	}
	if keys := srv.Do(t, "KEYS", "*"); strings.Contains(keys, "user-42") {
		t.Errorf("the raw account id reached the registry: %q", keys)
	}

	if err := a.Record(context.Background(), k, false); err != nil {
		t.Fatal(err)
	}
	// B holds a cached opt-out: it refreshes it on the next lookup and
	// believes the opt-in only once the registry confirms it.
	eventually(t, "replica B sees the opt-in", func() bool { return b.Lookup(k) == signals.RegistryNotOptedOut })
	if n := srv.Keys(t); n != 0 {
		t.Errorf("registry holds %d keys after the opt-in, want 0", n)
	}
}

// TestRegistryDown: with the registry gone, a lookup never waits for it
// (not the budget, not the dial timeout); cached opt-outs are still
// answered, every other account falls back to the other signals; the
// registry's return is noticed without any request.
func TestRegistryDown(t *testing.T) {
	srv := registrytest.Start(t)
	const budget = 50 * time.Millisecond
	r, reg := open(t, srv.URL(), func(o *registry.Options) { o.Budget = budget; o.NegativeTTL = time.Hour })
	out, in, unknown := key(t, "opted-out"), key(t, "not-opted-out"), key(t, "never-seen")
	if err := r.Record(context.Background(), out, true); err != nil {
		t.Fatal(err)
	}
	if got := r.Lookup(in); got != signals.RegistryNotOptedOut {
		t.Fatalf("lookup: %v", got)
	}

	srv.Stop()
	eventually(t, "the prober notices the outage", func() bool { return !r.Up() })
	for i := 0; i < 20; i++ {
		start := time.Now()
		got := map[registry.Key]signals.RegistryAnswer{out: r.Lookup(out), in: r.Lookup(in), unknown: r.Lookup(unknown)}
		// A contract, not a speed: three lookups together stay within one
		// budget, because none waits for a registry known to be down.
		if d := time.Since(start); d > budget {
			t.Errorf("three lookups with the registry down took %v, more than the %v budget", d, budget)
		}
		if got[out] != signals.RegistryOptedOut {
			t.Fatalf("cached opt-out during the outage: %v", got[out])
		}
		if got[unknown] != signals.RegistryUnknown {
			t.Fatalf("uncached account during the outage: %v", got[unknown])
		}
		// The negative answer is dropped with the connection (it may have
		// missed invalidations), so it is unknown too: the other signals
		// decide, which is what "not opted out" would have meant anyway.
		if got[in] == signals.RegistryOptedOut {
			t.Fatalf("not-opted-out account became opted out")
		}
	}
	if lookups(reg, registry.ResultError) == 0 || lookups(reg, registry.ResultStale) == 0 {
		t.Errorf("outage not counted: error %v stale %v", lookups(reg, registry.ResultError), lookups(reg, registry.ResultStale))
	}
	if v := testutil.ToFloat64(gauge(t, reg, "consentgate_registry_up")); v != 0 {
		t.Errorf("consentgate_registry_up = %v during the outage", v)
	}

	srv.Restart(t)
	eventually(t, "the registry reconnects by itself", r.Up)
	// The restarted server lost its data (no persistence here); a new
	// opt-out is recorded and answered again.
	k := key(t, "after-restart")
	if err := r.Record(context.Background(), k, true); err != nil {
		t.Fatalf("record after the restart: %v", err)
	}
	r2, _ := open(t, srv.URL())
	if got := r2.Lookup(k); got != signals.RegistryOptedOut {
		t.Errorf("after the restart: %v", got)
	}
	if v := testutil.ToFloat64(gauge(t, reg, "consentgate_registry_up")); v != 1 {
		t.Errorf("consentgate_registry_up = %v after the restart", v)
	}
}

// TestRegistryDownAtStart: a registry unreachable when the proxy starts is
// no error; it is used once it comes up.
func TestRegistryDownAtStart(t *testing.T) {
	srv := registrytest.Start(t)
	srv.Stop()
	r, _ := open(t, srv.URL(), func(o *registry.Options) { o.Budget = 20 * time.Millisecond })
	k := key(t, "user")
	if got := r.Lookup(k); got != signals.RegistryUnknown {
		t.Fatalf("registry down at start: %v", got)
	}
	srv.Restart(t)
	eventually(t, "the registry is used once it comes up", func() bool {
		return r.Lookup(k) == signals.RegistryNotOptedOut
	})
}

// TestSlowRegistry puts toxiproxy between the client and redis-server with
// 300 ms of latency: a lookup waits no longer than its budget, one lookup
// per account goes out however many requests ask, and its answer, when it
// lands, is cached for the next request.
func TestSlowRegistry(t *testing.T) {
	srv := registrytest.Start(t)
	proxy := toxiproxy.NewProxy(toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop()), "redis", "127.0.0.1:0", srv.Addr)
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Stop)
	const budget = 20 * time.Millisecond
	r, reg := open(t, "redis://"+proxy.Listen, func(o *registry.Options) { o.Budget = budget; o.LookupTimeout = 10 * time.Second })
	k := key(t, "slow")
	if err := r.Record(context.Background(), k, true); err != nil {
		t.Fatal(err)
	}
	if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(`{"name":"slow","type":"latency","stream":"downstream","attributes":{"latency":2000}}`)); err != nil {
		t.Fatal(err)
	}
	// Before proxy.Stop (cleanups run last first): a latency toxic's
	// goroutines otherwise sleep out their 2 s after the test.
	t.Cleanup(func() { _ = proxy.Toxics.RemoveToxic(context.Background(), "slow") })

	// A cached opt-out is answered from the cache, not the network.
	hits := lookups(reg, registry.ResultHit)
	if got := r.Lookup(k); got != signals.RegistryOptedOut || lookups(reg, registry.ResultHit) != hits+1 {
		t.Errorf("cached opt-out behind a slow registry: %v, %v hits, want 1", got, lookups(reg, registry.ResultHit)-hits)
	}

	// 50 requests for one uncached account at once: each gives up at the
	// budget, and the registry sees one GET.
	u := key(t, "uncached")
	gets := testutil.ToFloat64(counter(t, reg, "consentgate_registry_requests_total", "get", "ok"))
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := r.Lookup(u); got != signals.RegistryUnknown {
				t.Errorf("uncached account behind a slow registry: %v", got)
			}
		}()
	}
	wg.Wait()
	// Every lookup gave up at the budget rather than waiting for the
	// 2 s round trip (no clock in the assertion: the counter says why
	// each returned).
	if n := lookups(reg, registry.ResultTimeout); n != 50 {
		t.Errorf("%v timeouts counted, want 50", n)
	}
	eventually(t, "the slow answer is cached", func() bool {
		n := testutil.ToFloat64(counter(t, reg, "consentgate_registry_requests_total", "get", "ok"))
		if n > gets+1 {
			t.Fatalf("%v GETs for one account, want 1", n-gets)
		}
		return n == gets+1
	})
	if got := r.Lookup(u); got != signals.RegistryNotOptedOut {
		t.Errorf("after the slow answer landed: %v", got)
	}
	if n := testutil.ToFloat64(counter(t, reg, "consentgate_registry_requests_total", "get", "ok")); n != gets+1 {
		t.Errorf("%v GETs for one account, want 1", n-gets)
	}
	if !r.Up() {
		t.Error("a slow registry counts as down")
	}
}

// TestAuth: a registry with a password and an ACL user, given in the URL.
func TestAuth(t *testing.T) {
	srv := registrytest.Start(t, "--requirepass", "s3cret")
	srv.Do(t, "AUTH", "s3cret")
	r, _ := open(t, "redis://:s3cret@"+srv.Addr)
	k := key(t, "auth")
	if err := r.Record(context.Background(), k, true); err != nil {
		t.Fatalf("with the password: %v", err)
	}
	bad, _ := open(t, "redis://:wrong@"+srv.Addr, func(o *registry.Options) { o.Budget = 20 * time.Millisecond })
	if got := bad.Lookup(k); got != signals.RegistryUnknown {
		t.Errorf("with a wrong password: %v", got)
	}
	if bad.Up() {
		t.Error("a registry refusing the password counts as up")
	}
}

func TestBadURL(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:6379", "redis://", "redis://:pw@h:1/x/y"} {
		_, err := registry.New(registry.Options{URL: u})
		if err == nil {
			t.Errorf("New(%q) succeeded", u)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("New(%q): the error shows the password: %v", u, err)
		}
	}
}

func gauge(t testing.TB, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	return gathered{reg, name, nil}
}

func counter(t testing.TB, reg *prometheus.Registry, name string, labels ...string) prometheus.Collector {
	t.Helper()
	return gathered{reg, name, labels}
}

// gathered is one series of a registry, as a Collector for testutil.ToFloat64.
type gathered struct {
	reg    *prometheus.Registry
	name   string
	labels []string
}

func (g gathered) Describe(ch chan<- *prometheus.Desc) {
	ch <- prometheus.NewDesc(g.name, "copy", nil, nil)
}

func (g gathered) Collect(ch chan<- prometheus.Metric) {
	mfs, _ := g.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != g.name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i, l := range m.GetLabel() {
				if i < len(g.labels) && l.GetValue() != g.labels[i] {
					continue next
				}
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(g.name, "copy", nil, nil), prometheus.UntypedValue, v)
			return
		}
	}
}

// TestOwnWritesNeedNoRefresh: the server does not echo this replica's own
// writes back as invalidations, so an opt-out just recorded here is not
// fetched again on the next request (it was: the echo marked the entry
// stale, and whether it arrived before or after the entry was stored
// decided whether a GET followed — the flake of TestSlowRegistry).
func TestOwnWritesNeedNoRefresh(t *testing.T) {
	srv := registrytest.Start(t)
	r, reg := open(t, srv.URL())
	gets := counter(t, reg, "consentgate_registry_requests_total", "get", "ok")
	for i := range 50 {
		k := key(t, fmt.Sprintf("own-%d", i))
		if err := r.Record(context.Background(), k, true); err != nil {
			t.Fatal(err)
		}
		// Another write is a round trip on the connection: the push the
		// first one caused (sent after its reply) has been read by now.
		if err := r.Record(context.Background(), key(t, "round-trip"), false); err != nil {
			t.Fatal(err)
		}
		if got := r.Lookup(k); got != signals.RegistryOptedOut {
			t.Fatalf("own opt-out %d: %v", i, got)
		}
	}
	r.Close()
	if n := testutil.ToFloat64(gets); n != 0 {
		t.Errorf("%v GETs for opt-outs this replica wrote, want 0", n)
	}
}
