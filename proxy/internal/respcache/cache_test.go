package respcache_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/consentgate/consentgate/proxy/internal/respcache"
	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a cache's goroutines
// running: every cache is closed. The rules package's lookup caches,
// started by compiling the test's rule sets, are closed first.
func TestMain(m *testing.M) {
	code := m.Run()
	rules.CloseCaches()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// configYAML has two sites; %s is an action of the first, so two configs
// compile to two rule-set versions.
const configYAML = `upstream: http://127.0.0.1:1
sites:
  - name: news
    hosts: [news.example]
    actions: {analytics: %s}
  - name: shop
    hosts: [shop.example]
`

var (
	setsOnce     sync.Once
	setA, setB   *rules.Set
	setsErr      error
	pageTemplate = `<!doctype html><html><head><title>%d</title>` +
		`<script src="https://www.google-analytics.com/analytics.js"></script></head><body>%s</body></html>`
)

// ruleSets returns two compiled rule sets of different versions, each
// with the sites news and shop.
func ruleSets(tb testing.TB) (*rules.Set, *rules.Set) {
	tb.Helper()
	setsOnce.Do(func() {
		compile := func(action string) *rules.Set {
			cfg, err := config.Parse(fmt.Appendf(nil, configYAML, action), "test.yaml")
			if err != nil {
				setsErr = err
				return nil
			}
			s, err := rules.Compile(cfg)
			if err != nil {
				setsErr = err
			}
			return s
		}
		setA, setB = compile("remove"), compile("neutralise")
	})
	if setsErr != nil {
		tb.Fatal(setsErr)
	}
	if setA.Version() == setB.Version() {
		tb.Fatalf("both rule sets have version %s", setA.Version())
	}
	return setA, setB
}

// Sets of codings a client takes, as coding.Set has them (bit 0
// identity, 1 gzip, 2 br, 3 zstd, 4 deflate).
const (
	browser  uint8 = 0x1f
	gzipOnly uint8 = 0x03
	curl     uint8 = 0x01
)

// newCache returns a cache closed when the test ends.
func newCache(tb testing.TB, opts respcache.Options) *respcache.Cache {
	tb.Helper()
	c, err := respcache.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// page returns a synthetic page of about size bytes whose content depends
// on seed.
func page(seed uint64, size int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var body strings.Builder
	for body.Len() < size {
		fmt.Fprintf(&body, "<p>%x</p>", r.Uint64())
	}
	return fmt.Appendf(nil, pageTemplate, seed, body.String())
}

func TestKeyAndGet(t *testing.T) {
	a, b := ruleSets(t)
	body := page(1, 20<<10)
	base := rewrite.Policy{Set: a, Site: a.Sites()[0], Deny: rules.DefaultDeny, Stub: true}
	flip := func(i int) []byte {
		out := bytes.Clone(body)
		out[i] ^= 1
		return out
	}
	type variant struct {
		name            string
		body            []byte
		pol             rewrite.Policy
		coding          string
		accept          uint8
		same            bool
		wantUncacheable bool
	}
	with := func(f func(*rewrite.Policy)) rewrite.Policy {
		p := base
		f(&p)
		return p
	}
	cases := []variant{
		{name: "same", body: body, pol: base, coding: "gzip", accept: browser, same: true},
		{name: "same body in another buffer", body: bytes.Clone(body), pol: base, coding: "gzip", accept: browser, same: true},
		{name: "first byte changed", body: flip(0), pol: base, coding: "gzip", accept: browser},
		{name: "middle byte changed", body: flip(len(body) / 2), pol: base, coding: "gzip", accept: browser},
		{name: "last byte changed", body: flip(len(body) - 1), pol: base, coding: "gzip", accept: browser},
		{name: "one byte more", body: append(bytes.Clone(body), ' '), pol: base, coding: "gzip", accept: browser},
		{name: "one byte less", body: body[:len(body)-1], pol: base, coding: "gzip", accept: browser},
		{name: "another rule-set version", body: body, pol: with(func(p *rewrite.Policy) { p.Set, p.Site = b, b.Sites()[0] }), coding: "gzip", accept: browser},
		{name: "another site", body: body, pol: with(func(p *rewrite.Policy) { p.Site = a.Sites()[1] }), coding: "gzip", accept: browser},
		{name: "other denied categories", body: body, pol: with(func(p *rewrite.Policy) { p.Deny = rules.Of(rules.Advertising) }), coding: "gzip", accept: browser},
		{name: "no stub", body: body, pol: with(func(p *rewrite.Policy) { p.Stub = false }), coding: "gzip", accept: browser},
		{name: "guard", body: body, pol: with(func(p *rewrite.Policy) { p.Guard = true }), coding: "gzip", accept: browser},
		{name: "explain", body: body, pol: with(func(p *rewrite.Policy) { p.Explain = true }), coding: "gzip", accept: browser},
		{name: "a head", body: body, pol: with(func(p *rewrite.Policy) { p.Head = []byte("<script>guard()</script>") }), coding: "gzip", accept: browser},
		{name: "another head", body: body, pol: with(func(p *rewrite.Policy) { p.Head = []byte("<script>guard(2)</script>") }), coding: "gzip", accept: browser},
		{name: "a tail", body: body, pol: with(func(p *rewrite.Policy) { p.Tail = []byte("<aside>notice</aside>") }), coding: "gzip", accept: browser},
		{name: "placeholders", body: body, pol: with(func(p *rewrite.Policy) { p.Placeholders = &rewrite.Placeholders{} }), coding: "gzip", accept: browser},
		{name: "placeholders with a reason", body: body, pol: with(func(p *rewrite.Policy) { p.Placeholders = &rewrite.Placeholders{Reason: "GPC."} }), coding: "gzip", accept: browser},
		{name: "placeholder text", body: body, pol: with(func(p *rewrite.Policy) { p.Placeholders = &rewrite.Placeholders{Text: "{name}"} }), coding: "gzip", accept: browser},
		{name: "placeholder button", body: body, pol: with(func(p *rewrite.Policy) { p.Placeholders = &rewrite.Placeholders{Button: "Load"} }), coding: "gzip", accept: browser},
		{name: "placeholders keyed per response", body: body, pol: with(func(p *rewrite.Policy) { p.Placeholders = &rewrite.Placeholders{Key: "k1"} }), coding: "gzip", accept: browser, wantUncacheable: true},
		{name: "upstream coding br", body: body, pol: base, coding: "br", accept: browser},
		{name: "upstream coding identity", body: body, pol: base, coding: "", accept: browser},
		{name: "a client that takes no coding", body: body, pol: base, coding: "gzip", accept: curl},
		{name: "a client that takes gzip alone", body: body, pol: base, coding: "gzip", accept: gzipOnly},
	}
	c := newCache(t, respcache.Options{})
	k0, ok := c.Key(body, &base, "gzip", browser)
	if !ok {
		t.Fatal("base policy not cacheable")
	}
	want := &respcache.Entry{Body: []byte("rewritten"), Encoding: "gzip", Read: 7}
	if !c.Set(k0, want) {
		t.Fatal("Set refused the entry")
	}
	c.Wait()
	seen := map[respcache.Key]string{}
	for _, tc := range cases {
		k, ok := c.Key(tc.body, &tc.pol, tc.coding, tc.accept)
		if ok == tc.wantUncacheable {
			t.Errorf("%s: Key ok = %v, want %v", tc.name, ok, !tc.wantUncacheable)
			continue
		}
		if !ok {
			if got, hit := c.Get(k); hit {
				t.Errorf("%s: Get of the key of an uncacheable response hit: %+v", tc.name, got)
			}
			continue
		}
		if tc.same != (k == k0) {
			t.Errorf("%s: key equal to the base's = %v, want %v", tc.name, k == k0, tc.same)
		}
		if !tc.same {
			if prev, dup := seen[k]; dup {
				t.Errorf("%s: same key as %s", tc.name, prev)
			}
			seen[k] = tc.name
		}
		got, hit := c.Get(k)
		if hit != tc.same {
			t.Errorf("%s: Get hit = %v, want %v", tc.name, hit, tc.same)
		}
		if hit && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Get = %+v, want %+v", tc.name, got, want)
		}
	}
	// "identity" and "" are one coding: their keys are equal.
	ki, _ := c.Key(body, &base, "identity", browser)
	ke, _ := c.Key(body, &base, "", browser)
	if ki != ke {
		t.Error(`upstream coding "identity" and "" give different keys`)
	}
}

// TestKeySecret: two caches (two processes) key the same response apart,
// so a key cannot be computed outside the process.
func TestKeySecret(t *testing.T) {
	a, _ := ruleSets(t)
	pol := rewrite.Policy{Set: a, Site: a.Sites()[0], Deny: rules.DefaultDeny}
	c1, c2 := newCache(t, respcache.Options{}), newCache(t, respcache.Options{})
	body := page(2, 1000)
	k1, _ := c1.Key(body, &pol, "", curl)
	k2, _ := c2.Key(body, &pol, "", curl)
	if k1 == k2 {
		t.Error("two caches give the same key")
	}
	if k1 == (respcache.Key{}) {
		t.Error("Key is the zero Key")
	}
}

// TestKeyCoversPolicy fails when rewrite.Policy gains a field: the key must
// then cover it (Cache.Key), or the cache would serve a page rewritten
// under another policy.
func TestKeyCoversPolicy(t *testing.T) {
	covered := []string{"Set", "Site", "Deny", "Stub", "Guard", "Explain", "Head", "Placeholders", "Tail"}
	var fields []string
	for f := range reflect.TypeFor[rewrite.Policy]().Fields() {
		fields = append(fields, f.Name)
	}
	if !reflect.DeepEqual(fields, covered) {
		t.Errorf("rewrite.Policy has fields %v; the key covers %v", fields, covered)
	}
	var ph []string
	for f := range reflect.TypeFor[rewrite.Placeholders]().Fields() {
		ph = append(ph, f.Name)
	}
	if want := []string{"Reason", "Text", "Button", "Key"}; !reflect.DeepEqual(ph, want) {
		t.Errorf("rewrite.Placeholders has fields %v; the key covers %v", ph, want)
	}
}

// TestSitesApart: the same upstream page of two sites under the same
// denial has two entries; each site gets its own.
func TestSitesApart(t *testing.T) {
	a, _ := ruleSets(t)
	c := newCache(t, respcache.Options{})
	body := page(3, 5000)
	for i, site := range a.Sites() {
		pol := rewrite.Policy{Set: a, Site: site, Deny: rules.DefaultDeny, Stub: true}
		k, _ := c.Key(body, &pol, "", curl)
		if _, hit := c.Get(k); hit {
			t.Fatalf("site %s: hit before any Set of its own", site.Name)
		}
		c.Set(k, &respcache.Entry{Body: []byte(site.Name)})
		c.Wait()
		got, hit := c.Get(k)
		if !hit || string(got.Body) != site.Name {
			t.Fatalf("site %d %s: Get = %v %v, want its own entry", i, site.Name, got, hit)
		}
	}
}

func TestTooLarge(t *testing.T) {
	a, _ := ruleSets(t)
	pol := rewrite.Policy{Set: a, Site: a.Sites()[0], Deny: rules.DefaultDeny}
	const maxEntry = 64 << 10
	c := newCache(t, respcache.Options{MaxBytes: 4 << 20, MaxEntry: maxEntry})
	for _, tc := range []struct {
		size  int
		store bool
	}{
		{size: 1000, store: true},
		{size: maxEntry - 16<<10, store: true},
		{size: maxEntry - 100, store: false}, // with its overhead, above
		{size: maxEntry + 1, store: false},
		{size: 256 << 10, store: false},
		{size: 5 << 20, store: false}, // above the whole bound
	} {
		body := page(uint64(tc.size), 100)
		k, _ := c.Key(body, &pol, "", curl)
		e := &respcache.Entry{Body: make([]byte, tc.size)}
		if got := c.Set(k, e); got != tc.store {
			t.Errorf("size %d (cost %d): Set = %v, want %v", tc.size, e.Cost(), got, tc.store)
		}
		c.Wait()
		if _, hit := c.Get(k); hit != tc.store {
			t.Errorf("size %d: Get hit = %v, want %v", tc.size, hit, tc.store)
		}
	}
	if st := c.Stats(); st.RefusedTooLarge != 4 {
		t.Errorf("RefusedTooLarge = %d, want 4", st.RefusedTooLarge)
	}
}

// TestSetCopies: what Set was given may be reused at once; the entry
// keeps its own bytes.
func TestSetCopies(t *testing.T) {
	a, _ := ruleSets(t)
	pol := rewrite.Policy{Set: a, Site: a.Sites()[0], Deny: rules.DefaultDeny}
	c := newCache(t, respcache.Options{})
	body := []byte("<p>rewritten</p>")
	rm := []respcache.Removal{{Vendor: "google-analytics", Category: rules.Analytics, Action: rules.Remove, Element: "script", Count: 1}}
	k, _ := c.Key([]byte("upstream"), &pol, "", curl)
	c.Set(k, &respcache.Entry{Body: body, Removed: rm})
	c.Wait()
	copy(body, "XXXXXXXXXXXXXXXX")
	rm[0].Count = 99
	got, hit := c.Get(k)
	if !hit || string(got.Body) != "<p>rewritten</p>" || got.Removed[0].Count != 1 {
		t.Errorf("Get = %+v %v after the caller reused its buffers", got, hit)
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		opts             respcache.Options
		wantMax, wantErr string
	}{
		{opts: respcache.Options{}, wantMax: "67108864"},
		{opts: respcache.Options{MaxBytes: 1 << 10}, wantMax: "1024"},
		{opts: respcache.Options{MaxBytes: -1}, wantErr: "max bytes -1 is negative"},
		{opts: respcache.Options{MaxEntry: -1}, wantErr: "max entry -1 is negative"},
		{opts: respcache.Options{MaxBytes: 1 << 20, MaxEntry: 256 << 10}, wantMax: "1048576"},
		{opts: respcache.Options{MaxBytes: 1 << 20, MaxEntry: 256<<10 + 1}, wantErr: "max entry 262145 is above a quarter of max bytes 1048576"},
	} {
		c, err := respcache.New(tc.opts)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New(%+v) error = %v, want %q", tc.opts, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%+v): %v", tc.opts, err)
			continue
		}
		if got := fmt.Sprint(c.MaxBytes()); got != tc.wantMax {
			t.Errorf("New(%+v).MaxBytes() = %s, want %s", tc.opts, got, tc.wantMax)
		}
		c.Close()
	}
}

// TestNil: a nil cache is a cache that stores nothing.
func TestNil(t *testing.T) {
	var c *respcache.Cache
	a, _ := ruleSets(t)
	pol := rewrite.Policy{Set: a, Site: a.Sites()[0]}
	k, ok := c.Key([]byte("x"), &pol, "", curl)
	if ok {
		t.Error("nil cache: Key ok")
	}
	if c.Set(k, &respcache.Entry{}) {
		t.Error("nil cache: Set stored")
	}
	if _, hit := c.Get(k); hit {
		t.Error("nil cache: Get hit")
	}
	c.Wait()
	c.Close()
	if c.Bytes() != 0 || c.MaxBytes() != 0 || c.Stats() != (respcache.Stats{}) {
		t.Error("nil cache: counts something")
	}
}

// TestCloseReleasesGoroutines: Close stops ristretto's goroutines, and a
// closed cache stores nothing.
func TestCloseReleasesGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	c, err := respcache.New(respcache.Options{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ruleSets(t)
	pol := rewrite.Policy{Set: a, Site: a.Sites()[0]}
	k, _ := c.Key([]byte("x"), &pol, "", curl)
	c.Set(k, &respcache.Entry{Body: []byte("y")})
	c.Wait()
	c.Get(k)
	c.Close()
	c.Close()
	if err := goleak.Find(before); err != nil {
		t.Error(err)
	}
	if c.Set(k, &respcache.Entry{Body: []byte("y")}) {
		t.Error("closed cache: Set stored")
	}
	if _, hit := c.Get(k); hit {
		t.Error("closed cache: Get hit")
	}
}

func TestAppendRemovals(t *testing.T) {
	a, _ := ruleSets(t)
	site := a.Sites()[0]
	var out bytes.Buffer
	w := rewrite.NewWriter(&out, rewrite.Policy{Set: a, Site: site, Deny: rules.DefaultDeny})
	w.Write(page(4, 100)) //nolint:errcheck // to memory
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := respcache.AppendRemovals(nil, site, w.Removed())
	if len(got) == 0 {
		t.Fatal("the page's analytics script was not removed")
	}
	for i, r := range got {
		rm := w.Removed()[i]
		v := a.VendorByID(r.Vendor)
		if v != rm.Vendor || r.Category != site.Category(v) || r.Action != rm.Action || r.Element != rm.Element || r.Count != rm.Count {
			t.Errorf("removal %d = %+v, from %+v", i, r, rm)
		}
	}
}

func TestMetrics(t *testing.T) {
	a, _ := ruleSets(t)
	pol := rewrite.Policy{Set: a, Site: a.Sites()[0], Deny: rules.DefaultDeny}
	c := newCache(t, respcache.Options{MaxBytes: 1 << 20, MaxEntry: 64 << 10})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	k, _ := c.Key([]byte("a"), &pol, "", curl)
	c.Get(k)
	c.Set(k, &respcache.Entry{Body: make([]byte, 1000)})
	c.Set(k, &respcache.Entry{Body: make([]byte, 100<<10)})
	c.Wait()
	c.Get(k)
	c.Get(k)
	// The entry's copy of the body takes the allocator's size class.
	cost := (&respcache.Entry{Body: append([]byte(nil), make([]byte, 1000)...)}).Cost()
	want := fmt.Sprintf(`
# HELP consentgate_response_cache_bytes What the response cache's entries cost now: their bytes and a fixed overhead each.
# TYPE consentgate_response_cache_bytes gauge
consentgate_response_cache_bytes %d
# HELP consentgate_response_cache_evictions_total Entries the response cache dropped to make room for others.
# TYPE consentgate_response_cache_evictions_total counter
consentgate_response_cache_evictions_total 0
# HELP consentgate_response_cache_hits_total Rewritten responses served from the response cache: no decoding, rewriting or encoding.
# TYPE consentgate_response_cache_hits_total counter
consentgate_response_cache_hits_total 2
# HELP consentgate_response_cache_max_bytes The response cache's bound.
# TYPE consentgate_response_cache_max_bytes gauge
consentgate_response_cache_max_bytes 1.048576e+06
# HELP consentgate_response_cache_misses_total Response cache lookups that found nothing, so the body was rewritten.
# TYPE consentgate_response_cache_misses_total counter
consentgate_response_cache_misses_total 1
# HELP consentgate_response_cache_refused_total Responses the cache did not store, by reason: admission (used less than what it would displace), too_large (above the largest entry), busy (too many waiting to be stored).
# TYPE consentgate_response_cache_refused_total counter
consentgate_response_cache_refused_total{reason="admission"} 0
consentgate_response_cache_refused_total{reason="busy"} 0
consentgate_response_cache_refused_total{reason="too_large"} 1
`, cost)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if probs, err := testutil.GatherAndLint(reg); err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", probs, err)
	}
}

// TestConcurrent: goroutines keying, getting and setting at once (run
// under -race) never get another body's entry.
func TestConcurrent(t *testing.T) {
	a, _ := ruleSets(t)
	pol := rewrite.Policy{Set: a, Site: a.Sites()[0], Deny: rules.DefaultDeny}
	c := newCache(t, respcache.Options{MaxBytes: 1 << 20, MaxEntry: 16 << 10})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for range 2000 {
				n := r.IntN(300)
				body := fmt.Appendf(nil, "<p>page %d</p>", n)
				k, _ := c.Key(body, &pol, "", curl)
				if e, hit := c.Get(k); hit {
					if !bytes.Equal(e.Body, bytes.ToUpper(body)) {
						t.Errorf("page %d: got the entry %q", n, e.Body)
						return
					}
					continue
				}
				c.Set(k, &respcache.Entry{Body: bytes.ToUpper(body)})
			}
		})
	}
	wg.Wait()
	if st := c.Stats(); st.Hits == 0 {
		t.Errorf("no hits among 8000 reads of 300 pages: %+v", st)
	}
}

// TestCloseWhileInUse: Close while Gets and Sets run (ristretto panics
// when used after its Close): they miss and refuse after it, and nothing
// panics.
func TestCloseWhileInUse(t *testing.T) {
	a, _ := ruleSets(t)
	pol := rewrite.Policy{Set: a, Site: a.Sites()[0], Deny: rules.DefaultDeny}
	c, err := respcache.New(respcache.Options{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	started := make(chan struct{}, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				k, _ := c.Key(fmt.Appendf(nil, "%d %d", g, i%50), &pol, "", curl)
				if _, hit := c.Get(k); !hit {
					c.Set(k, &respcache.Entry{Body: []byte("x")})
				}
				if i == 100 {
					started <- struct{}{}
				}
			}
		})
	}
	for range 4 {
		<-started
	}
	c.Close()
	k, _ := c.Key([]byte("0 1"), &pol, "", curl)
	if c.Set(k, &respcache.Entry{Body: []byte("x")}) {
		t.Error("Set stored after Close")
	}
	if _, hit := c.Get(k); hit {
		t.Error("Get hit after Close")
	}
	wg.Wait()
}

// TestSetTwiceIsNoRefusal: two misses of one page set it twice before
// ristretto applies the first (two visitors at once); the second is not
// counted as refused by admission, and the entry is there.
func TestSetTwiceIsNoRefusal(t *testing.T) {
	a, _ := ruleSets(t)
	pol := rewrite.Policy{Set: a, Site: a.Sites()[0], Deny: rules.DefaultDeny}
	c := newCache(t, respcache.Options{MaxBytes: 1 << 20})
	for i := range 20 {
		k, _ := c.Key(fmt.Appendf(nil, "page %d", i), &pol, "", curl)
		c.Set(k, &respcache.Entry{Body: []byte("first")})
		c.Set(k, &respcache.Entry{Body: []byte("second")})
		c.Wait()
		if _, hit := c.Get(k); !hit {
			t.Errorf("page %d: not stored", i)
		}
	}
	if st := c.Stats(); st.RefusedAdmission != 0 {
		t.Errorf("RefusedAdmission = %d after setting pages twice in a cache with room, want 0", st.RefusedAdmission)
	}
}
