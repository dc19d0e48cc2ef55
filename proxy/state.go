package proxy

import (
	"net"
	"time"

	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/proxy/registry"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/signals"
	"github.com/valyala/fasthttp"
)

// state is everything derived from one rule set, swapped as a whole.
type state struct {
	set     *rules.Set
	sites   []*siteMetrics         // by site index
	clients []*fasthttp.HostClient // by site index
	vary    [][]string             // by site index: the headers responses vary on
	hashers []*registry.Hasher     // by site index; nil: no account key
	signals []*signals.Policy      // by site index: what the signals read of the site
	guards  *guard.Cache           // the runtime guard's scripts, compiled on first use
}

// swapNotifier is a Rules that announces each set it makes current
// (reload.Holder).
type swapNotifier interface {
	OnSwap(func(*rules.Set)) (cancel func())
}

// current returns the state of the rule set in use. With a Rules that
// announces its swaps (reload.Holder) the state is built at the swap; with
// any other, by the first request that sees a new set.
func (s *Server) current() *state {
	set := s.opts.Rules.Load()
	if st := s.state.Load(); st != nil && st.set == set {
		return st
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Load again under the lock: a caller that loaded an older set must not
	// replace the state of a newer one.
	set = s.opts.Rules.Load()
	prev := s.state.Load()
	if prev != nil && prev.set == set {
		return prev
	}
	st := &state{set: set, sites: s.metrics.forSet(set), hashers: s.hashers(set), guards: guard.NewCache(set)}
	for _, site := range set.Sites() {
		st.clients = append(st.clients, s.client(site))
		st.vary = append(st.vary, varyNames(site))
		st.signals = append(st.signals, signals.PolicyOf(site))
		if site.CountryHeader != "" && len(s.opts.TrustedProxies) == 0 && !s.opts.TrustForwarded {
			s.log.Warn("the site reads a country header but no peer is a trusted proxy: it counts only when it names an opt-in country; set --trusted-proxies to the front end that writes it",
				"site", site.Name, "header", site.CountryHeader)
		}
	}
	if prev != nil {
		s.metrics.dropSites(removedSites(prev.sites, st.sites))
		s.retireClients(st.clients)
	}
	s.state.Store(st)
	return st
}

// removedSites returns the names of the sites in prev that next lacks.
func removedSites(prev, next []*siteMetrics) []string {
	keep := make(map[string]bool, len(next))
	for _, sm := range next {
		keep[sm.name] = true
	}
	var out []string
	for _, sm := range prev {
		if !keep[sm.name] {
			out = append(out, sm.name)
		}
	}
	return out
}

// retireClients drops from the client map every upstream client the new
// state does not use. Requests that loaded an older state keep using theirs:
// a retired client's idle connections are closed now and at every later
// swap and at Shutdown, until it has none (fasthttp's own cleaner closes
// them after MaxIdleConnDuration anyway). s.mu is held.
func (s *Server) retireClients(used []*fasthttp.HostClient) {
	inUse := make(map[*fasthttp.HostClient]bool, len(used))
	for _, c := range used {
		inUse[c] = true
	}
	for key, c := range s.clients {
		if !inUse[c] {
			delete(s.clients, key)
			s.retired = append(s.retired, c)
		}
	}
	s.sweepRetired()
}

// sweepRetired closes the idle connections of retired clients and forgets
// those with none left. s.mu is held.
func (s *Server) sweepRetired() {
	kept := s.retired[:0]
	for _, c := range s.retired {
		c.CloseIdleConnections()
		if c.ConnsCount() > 0 {
			kept = append(kept, c) // a request still uses one
		}
	}
	clear(s.retired[len(kept):])
	s.retired = kept
}

// client returns the HostClient for a site's upstream, shared by every site
// and rule set with the same upstream so keep-alive connections survive a
// reload. The address is fixed: the proxy never dials a host taken from the
// request (an open proxy). s.mu is held.
func (s *Server) client(site *rules.Site) *fasthttp.HostClient {
	u := site.Upstream
	key := u.Scheme + "://" + u.Host
	if c, ok := s.clients[key]; ok {
		return c
	}
	addr := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	c := &fasthttp.HostClient{
		Addr: addr,
		// No Name: fasthttp sends it as the User-Agent of requests that
		// have none. The upstream gets what the visitor sent.
		IsTLS:                         u.Scheme == "https",
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: false,
		DisablePathNormalizing:        true,
		StreamResponseBody:            true,
		DialTimeout:                   dialUpstream,
		MaxIdleConnDuration:           50 * time.Second, // below the usual 60-75 s origin keep-alive
		ReadBufferSize:                32 << 10,
		MaxConns:                      4096,
		// Retry only requests that change nothing, and only on a reused
		// connection the origin closed (upconn.go): a POST or PUT reaches
		// the origin once.
		Transport:                 reuseTransport{s},
		RetryIfErr:                retryStale,
		MaxIdemponentCallAttempts: staleRetries + 1,
	}
	s.clients[key] = c
	return c
}
