package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/signals"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valkey-io/valkey-go"
)

// Options configure a Registry. URL is required.
type Options struct {
	// URL is redis://[USER:PASSWORD@]HOST:PORT[/DB], rediss:// (TLS),
	// valkey://, valkeys:// or unix:///path.
	URL string
	// Budget is the longest Lookup waits for the network (default
	// config.DefaultRegistryBudget).
	Budget time.Duration
	// NegativeTTL is how long an answer "no opt-out on record" is used
	// without asking again (default config.DefaultRegistryNegativeTTL).
	NegativeTTL time.Duration
	// Refresh is the age past which an opt-out on record is checked again
	// in the background (default config.DefaultRegistryRefresh). It is
	// served meanwhile, and kept for as long as the registry cannot answer.
	Refresh time.Duration
	// CacheEntries bounds the cached answers (default
	// config.DefaultRegistryCacheEntries).
	CacheEntries int64
	// LookupTimeout bounds one network lookup, which goes on after the
	// request that started it stopped waiting, so its answer is cached for
	// the next one (default 1s).
	LookupTimeout time.Duration
	// WriteTimeout bounds recording an opt-out or an opt-in (default 1s).
	WriteTimeout time.Duration
	// ProbeInterval is how often the registry is pinged while it is
	// unreachable (default 250ms; 5s while it answers).
	ProbeInterval time.Duration
	// MaxInFlight bounds the lookups on the network at once (default
	// 1024); past it a request does not wait and counts as shed.
	MaxInFlight int
	// Registerer receives the registry's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Registry is a client of the shared opt-out registry with a cache of
// answers in front. It is safe for concurrent use. See the package doc for
// what each failure does.
type Registry struct {
	opts   Options
	log    *slog.Logger
	client valkey.Client
	cache  *ristretto.Cache[uint64, *entry]
	m      *metrics

	up atomic.Bool
	// flushGen counts the times every cached negative answer became
	// untrustworthy (a lost connection: invalidations may have been
	// missed). A negative entry of an older generation is a miss.
	flushGen atomic.Uint64
	// invalSeq counts invalidation messages; a lookup that saw it change
	// while on the network does not cache its negative answer, which
	// could predate the write the message was about.
	invalSeq atomic.Uint64
	tracking bool // invalidations arrive (RESP3 client tracking)

	mu       sync.Mutex
	inflight map[Key]*call

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// entry is one cached answer. Only stale changes after it is stored.
type entry struct {
	key      Key
	optedOut bool
	at       int64  // unix nanoseconds when the registry gave the answer
	gen      uint64 // flushGen when stored
	stale    atomic.Bool
}

type call struct {
	done chan struct{}
	ans  signals.RegistryAnswer
}

// New connects to the registry. An unreachable registry is no error: the
// client keeps trying and lookups answer RegistryUnknown meanwhile. A URL
// that does not parse is.
func New(opts Options) (*Registry, error) {
	if err := config.CheckRegistryURL(opts.URL); err != nil {
		return nil, err
	}
	orDefault(&opts.Budget, config.DefaultRegistryBudget)
	orDefault(&opts.NegativeTTL, config.DefaultRegistryNegativeTTL)
	orDefault(&opts.Refresh, config.DefaultRegistryRefresh)
	orDefault(&opts.CacheEntries, config.DefaultRegistryCacheEntries)
	orDefault(&opts.LookupTimeout, time.Second)
	orDefault(&opts.WriteTimeout, time.Second)
	orDefault(&opts.ProbeInterval, 250*time.Millisecond)
	orDefault(&opts.MaxInFlight, 1024)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cache, err := ristretto.NewCache(&ristretto.Config[uint64, *entry]{
		NumCounters: opts.CacheEntries * 10,
		MaxCost:     opts.CacheEntries,
		BufferItems: 64,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot create the registry cache: %w", err)
	}
	r := &Registry{opts: opts, log: opts.Logger, cache: cache, inflight: make(map[Key]*call), m: newMetrics(opts.Registerer)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if err := r.connect(); err != nil {
		cache.Close()
		r.cancel()
		return nil, err
	}
	r.wg.Add(1)
	go r.probe()
	return r, nil
}

// connect builds the client. Client tracking in broadcast mode on
// KeyPrefix makes the server push an invalidation for every opt-out or
// opt-in any replica writes, so a cached answer is dropped at once rather
// than when its TTL runs out. NOLOOP: this replica's own writes are not
// echoed back; Record caches their answer itself, and an echo would mark
// that fresh entry stale and cost a GET on the next request.
func (r *Registry) connect() error {
	o, err := valkey.ParseURL(r.opts.URL)
	if err != nil {
		return fmt.Errorf("cannot use the registry URL %s: %w", config.RedactURL(r.opts.URL), err)
	}
	o.ClientName = "consentgate"
	o.ForceSingleClient = true // a primary (or a proxy in front of a cluster); and no error when it is down at start
	o.ClientTrackingOptions = []string{"PREFIX", KeyPrefix, "BCAST", "NOLOOP"}
	// One pipelined connection (the default is up to two): NOLOOP silences
	// only the connection that wrote, so with two each write still came
	// back on the other; and every invalidation arrived once per connection.
	// The registry's commands are a few bytes each; one pipeline carries them.
	o.PipelineMultiplex = -1
	o.OnInvalidations = r.onInvalidations
	o.ReadBufferEachConn = 64 << 10 // the answers are tiny; the default is 0.5 MiB per connection
	o.WriteBufferEachConn = 64 << 10
	o.Dialer.Timeout = 2 * time.Second
	o.ConnWriteTimeout = 2 * time.Second
	o.DisableRetry = true // a lookup is retried by the next request, not inside one
	client, err := valkey.NewClient(o)
	if errors.Is(err, valkey.ErrNoCache) {
		// A server without RESP3 (Redis before 6): no invalidations, so
		// NegativeTTL alone bounds how late another replica's write is seen.
		if client != nil {
			client.Close()
		}
		o.DisableCache, o.ClientTrackingOptions, o.OnInvalidations = true, nil, nil
		client, err = valkey.NewClient(o)
		r.log.Warn("the registry does not support client tracking (RESP3); opt-outs made through other replicas are seen within negative_ttl", "negative_ttl", r.opts.NegativeTTL.String())
	} else {
		r.tracking = true
	}
	if client == nil {
		return fmt.Errorf("cannot create the registry client for %s: %w", config.RedactURL(r.opts.URL), err)
	}
	r.client = client
	if err != nil {
		r.log.Warn("the registry is unreachable; requests are served on the other signals and cached opt-outs until it answers",
			"registry", config.RedactURL(r.opts.URL), "err", err)
		r.setUp(false)
	} else {
		r.setUp(true)
	}
	return nil
}

// Close stops the prober and closes the connections. Lookup must not be
// called after Close.
func (r *Registry) Close() {
	r.cancel()
	r.wg.Wait()
	r.client.Close()
	r.cache.Close()
}

// Up reports whether the last exchange with the registry succeeded.
func (r *Registry) Up() bool { return r.up.Load() }

// Budget is the longest Lookup waits.
func (r *Registry) Budget() time.Duration { return r.opts.Budget }

// Lookup answers whether the account k opted out. It waits for the network
// at most Budget, and not at all when the answer is cached or the registry
// is known to be down; it allocates nothing on a cache hit.
//
//   - A cached opt-out is answered at once, past its refresh age too (a
//     refresh starts in the background): it outlives any outage.
//   - A cached "no opt-out" is answered until NegativeTTL, an invalidation
//     or a lost connection.
//   - Otherwise one lookup per key goes to the network (concurrent
//     requests for the key share it); RegistryUnknown when it does not
//     answer within Budget (it goes on, and its answer is cached), when it
//     fails, or when the registry is down.
func (r *Registry) Lookup(k Key) signals.RegistryAnswer {
	now := time.Now().UnixNano()
	if e, ok := r.cache.Get(hashKey(k)); ok && e.key == k {
		if e.optedOut {
			age := now - e.at
			switch {
			case !r.up.Load() || age > 2*int64(r.opts.Refresh):
				r.m.stale.Inc()
			default:
				r.m.hit.Inc()
			}
			if (age > int64(r.opts.Refresh) || e.stale.Load()) && r.up.Load() {
				r.start(k) // refresh; keep answering the opt-out meanwhile
			}
			return signals.RegistryOptedOut
		}
		if now-e.at < int64(r.opts.NegativeTTL) && e.gen == r.flushGen.Load() {
			r.m.hit.Inc()
			return signals.RegistryNotOptedOut
		}
	}
	if !r.up.Load() {
		r.m.errors.Inc()
		return signals.RegistryUnknown
	}
	c := r.start(k)
	if c == nil {
		r.m.shed.Inc()
		return signals.RegistryUnknown
	}
	t := time.NewTimer(r.opts.Budget)
	defer t.Stop()
	select {
	case <-c.done:
		if c.ans == signals.RegistryUnknown {
			r.m.errors.Inc()
		} else {
			r.m.miss.Inc()
		}
		return c.ans
	case <-t.C:
		r.m.timeouts.Inc()
		return signals.RegistryUnknown
	}
}

// start returns the lookup of k on the network, starting it unless one is
// in flight; nil when MaxInFlight lookups are.
func (r *Registry) start(k Key) *call {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.inflight[k]; ok {
		return c
	}
	if len(r.inflight) >= r.opts.MaxInFlight {
		return nil
	}
	c := &call{done: make(chan struct{})}
	r.inflight[k] = c
	go r.fetch(k, c)
	return c
}

func (r *Registry) fetch(k Key, c *call) {
	gen, seq := r.flushGen.Load(), r.invalSeq.Load()
	ctx, cancel := context.WithTimeout(r.ctx, r.opts.LookupTimeout)
	defer cancel()
	start := time.Now()
	_, err := r.client.Do(ctx, r.client.B().Get().Key(k.Name()).Build()).ToString()
	elapsed := time.Since(start)
	ok := err == nil || valkey.IsValkeyNil(err)
	switch {
	case err == nil:
		c.ans = signals.RegistryOptedOut
		r.store(k, true, start, gen)
	case ok:
		c.ans = signals.RegistryNotOptedOut
		if r.invalSeq.Load() == seq {
			r.store(k, false, start, gen)
		}
	default:
		c.ans = signals.RegistryUnknown
	}
	// ristretto applies a Set asynchronously: wait, so the requests after
	// this one find the answer; only then count it.
	r.cache.Wait()
	r.m.duration.WithLabelValues("get").Observe(elapsed.Seconds())
	r.m.request("get", ok)
	if ok {
		r.setUp(true)
	} else if r.ctx.Err() == nil {
		r.failed(err)
	}
	r.mu.Lock()
	delete(r.inflight, k)
	r.mu.Unlock()
	close(c.done)
}

// store caches an answer given at t. A negative answer never replaces a
// cached opt-out younger than it.
func (r *Registry) store(k Key, optedOut bool, t time.Time, gen uint64) {
	e := &entry{key: k, optedOut: optedOut, at: t.UnixNano(), gen: gen}
	if old, ok := r.cache.Get(hashKey(k)); ok && !optedOut && old.key == k && old.optedOut && old.at > e.at {
		return // a lookup sent before an opt-out was recorded here
	}
	r.cache.Set(hashKey(k), e, 1)
}

// Record writes an opt-out (SET, the value is the Unix time) or clears it
// (DEL) within WriteTimeout, and caches the new answer. When the write
// fails an opt-out is still cached here, so this replica enforces it; an
// opt-in is not, so the account stays opted out: never consent by error.
func (r *Registry) Record(ctx context.Context, k Key, optedOut bool) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.WriteTimeout)
	defer cancel()
	op := "del"
	cmd := r.client.B().Del().Key(k.Name()).Build()
	if optedOut {
		op = "set"
		cmd = r.client.B().Set().Key(k.Name()).Value(strconv.FormatInt(time.Now().Unix(), 10)).Build()
	}
	start := time.Now()
	err := r.client.Do(ctx, cmd).Error()
	r.m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	r.m.request(op, err == nil)
	if err != nil {
		r.failed(err)
		if optedOut {
			r.store(k, true, start, r.flushGen.Load())
			r.cache.Wait()
		}
		return fmt.Errorf("cannot record the %s in the registry: %w", map[bool]string{true: "opt-out", false: "opt-in"}[optedOut], err)
	}
	r.setUp(true)
	r.store(k, optedOut, start, r.flushGen.Load())
	r.cache.Wait()
	return nil
}

// onInvalidations runs on the client's reading goroutine: nil means the
// connection was lost or the server flushed its tracking table, so every
// negative answer may be out of date; otherwise the keys listed changed.
// A changed opt-out is refreshed before the opt-in is believed.
func (r *Registry) onInvalidations(msgs []valkey.ValkeyMessage) {
	r.invalSeq.Add(1)
	if msgs == nil {
		r.flushGen.Add(1)
		r.m.invalidations.Inc()
		return
	}
	for i := range msgs {
		name, err := msgs[i].ToString()
		if err != nil {
			continue
		}
		k, ok := parseName(name)
		if !ok {
			continue
		}
		r.m.invalidations.Inc()
		if e, ok := r.cache.Get(hashKey(k)); ok && e.key == k {
			if e.optedOut {
				e.stale.Store(true)
			} else {
				r.cache.Del(hashKey(k))
			}
		}
	}
}

// failed records a failed exchange.
func (r *Registry) failed(err error) {
	if r.up.Load() {
		r.log.Warn("the registry stopped answering; serving cached opt-outs and the other signals",
			"registry", config.RedactURL(r.opts.URL), "err", err)
	}
	r.setUp(false)
}

func (r *Registry) setUp(up bool) {
	if was := r.up.Swap(up); was != up && up {
		r.log.Info("the registry answers again", "registry", config.RedactURL(r.opts.URL))
	}
	if up {
		r.m.up.Set(1)
	} else {
		r.m.up.Set(0)
	}
}

// probe pings the registry: every ProbeInterval while it is down, so it is
// used again soon after it comes back (the client reconnects on the
// ping), and every 20 of them while it is up, so an idle replica notices
// an outage.
func (r *Registry) probe() {
	defer r.wg.Done()
	t := time.NewTicker(r.opts.ProbeInterval)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		if n++; r.up.Load() && n%20 != 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(r.ctx, max(r.opts.LookupTimeout, time.Second))
		err := r.client.Do(ctx, r.client.B().Ping().Build()).Error()
		cancel()
		if r.ctx.Err() != nil {
			return
		}
		r.m.request("ping", err == nil)
		if err != nil {
			r.failed(err)
			continue
		}
		if !r.up.Load() {
			// Answers cached before the outage missed its invalidations.
			r.flushGen.Add(1)
		}
		r.setUp(true)
	}
}

// hashKey is the cache key of k: its first 8 bytes, uniformly distributed
// (an HMAC output); the entry keeps all of k, so a collision is a miss.
func hashKey(k Key) uint64 {
	return uint64(k[0]) | uint64(k[1])<<8 | uint64(k[2])<<16 | uint64(k[3])<<24 |
		uint64(k[4])<<32 | uint64(k[5])<<40 | uint64(k[6])<<48 | uint64(k[7])<<56
}

// orDefault sets *v to def when it is zero or negative (an option left
// unset).
func orDefault[T ~int | ~int64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
