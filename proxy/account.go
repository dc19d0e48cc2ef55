package proxy

import (
	"context"

	"github.com/consentgate/consentgate/proxy/registry"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/signals"
	"github.com/valyala/fasthttp"
)

// hashers returns, by site index, the registry key hasher of each site
// with an account key (nil for the others, and for all without a
// registry).
func (s *Server) hashers(set *rules.Set) []*registry.Hasher {
	out := make([]*registry.Hasher, len(set.Sites()))
	if s.opts.Registry == nil {
		return out
	}
	for i, site := range set.Sites() {
		if site.Account != nil {
			out[i] = registry.NewHasher(site.Account.Secret)
		}
	}
	return out
}

// accountKey returns the registry key of the account the request carries:
// the site's account cookie, else its account header when the peer is a
// trusted proxy (anyone else could name any account).
func (s *Server) accountKey(ctx *fasthttp.RequestCtx, st *state, site *rules.Site) (registry.Key, bool) {
	h := st.hashers[site.Index()]
	if h == nil {
		return registry.Key{}, false
	}
	a := site.Account
	if a.Cookie != "" {
		if id := ctx.Request.Header.Cookie(a.Cookie); len(id) > 0 {
			return h.Sum(id)
		}
	}
	if a.Header != "" && s.trusted(peerAddr(ctx)) {
		if id := ctx.Request.Header.Peek(a.Header); len(id) > 0 {
			return h.Sum(id)
		}
	}
	return registry.Key{}, false
}

// registryAnswer asks the registry about the request's account: within the
// registry's budget, RegistryNone without an account key.
func (s *Server) registryAnswer(ctx *fasthttp.RequestCtx, st *state, site *rules.Site) signals.RegistryAnswer {
	k, ok := s.accountKey(ctx, st, site)
	if !ok {
		return signals.RegistryNone
	}
	return s.opts.Registry.Lookup(k)
}

// explain is the status endpoint's decision, registry answer included.
func (s *Server) explain(ctx *fasthttp.RequestCtx, st *state, site *rules.Site) *signals.Explanation {
	in := s.input(ctx, site)
	in.Registry = s.registryAnswer(ctx, st, site)
	return s.opts.Signals.ExplainInput(st.signals[site.Index()], &ctx.Request.Header, in)
}

// recordAccount writes an opt-out (or clears it on opt-in) for the
// request's account, so it follows the account to its other devices. A
// failed write is logged and counted (consentgate_registry_requests_total);
// the visitor's cookie is set all the same.
func (s *Server) recordAccount(ctx *fasthttp.RequestCtx, st *state, site *rules.Site, optedOut bool) accountRecord {
	if s.opts.Registry == nil {
		return accountNone
	}
	k, ok := s.accountKey(ctx, st, site)
	if !ok {
		return accountNone
	}
	if err := s.opts.Registry.Record(context.Background(), k, optedOut); err != nil {
		// Never the account id or its hash.
		s.log.Warn("cannot record a privacy choice in the registry", "site", site.Name, "opted_out", optedOut, "err", err)
		return accountFailed
	}
	return accountRecorded
}
