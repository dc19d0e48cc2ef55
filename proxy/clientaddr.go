package proxy

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/signals"
	"github.com/valyala/fasthttp"
)

// ParseTrustedProxies parses a comma-separated list of addresses and CIDR
// prefixes ("10.0.0.0/8, 192.168.1.7, fd00::/8") for Options.TrustedProxies.
// An empty list trusts no one.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix (like 10.0.0.0/8)", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// trusted reports whether a peer is one whose X-Forwarded-* headers the
// proxy believes: every peer with TrustForwarded, else one inside
// TrustedProxies.
func (s *Server) trusted(a netip.Addr) bool {
	if s.opts.TrustForwarded {
		return true
	}
	a = a.Unmap()
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr is the address of the TCP peer.
func peerAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	a, _ := netip.AddrFromSlice(ctx.RemoteIP())
	return a.Unmap()
}

// clientAddr is the visitor's address: the TCP peer's, unless the peer is
// a trusted proxy; then the X-Forwarded-For entries are walked from the
// right (the hop nearest to us) past every trusted proxy, and the first
// address that is not one is the visitor (the rightmost untrusted address,
// as nginx's real_ip_recursive reads it: entries further left could be
// written by the visitor). If every entry is trusted, the leftmost is
// used; if the walk meets an entry that is not an address, the last
// trusted hop before it is, so a forged or broken header never yields an
// address the proxies did not see. The result is used for the GeoIP
// lookup, never for a decision on its own.
func (s *Server) clientAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	a := peerAddr(ctx)
	return s.clientAddrFrom(ctx, a, s.trusted(a))
}

// input is what the signals need to know of where a request came from:
// the visitor's address when the site has a GeoIP database, and whether
// its country header comes from a trusted proxy. Sites that use neither
// cost nothing here.
func (s *Server) input(ctx *fasthttp.RequestCtx, site *rules.Site) signals.Input {
	if site.CountryHeader == "" && site.GeoIPDatabase == "" {
		return signals.Input{}
	}
	a := peerAddr(ctx)
	in := signals.Input{Trusted: s.trusted(a)}
	if site.GeoIPDatabase != "" {
		in.Addr = s.clientAddrFrom(ctx, a, in.Trusted)
	}
	return in
}

// clientAddrFrom is clientAddr for the peer a, trusted or not.
func (s *Server) clientAddrFrom(ctx *fasthttp.RequestCtx, a netip.Addr, trusted bool) netip.Addr {
	if !trusted {
		return a
	}
	// Several header lines are one comma-separated list, in order.
	lines := ctx.Request.Header.PeekAll("X-Forwarded-For")
	for l := len(lines) - 1; l >= 0; l-- {
		for rest := lines[l]; len(rest) > 0; {
			i := bytes.LastIndexByte(rest, ',')
			f := bytes.TrimSpace(rest[i+1:])
			rest = rest[:max(i, 0)]
			if len(f) == 0 {
				continue
			}
			c, ok := parseForwardedAddr(f)
			if !ok {
				return a
			}
			a = c
			if !s.trusted(a) {
				return a
			}
		}
	}
	return a
}

// parseForwardedAddr reads one X-Forwarded-For entry: an address, maybe
// with a port ("203.0.113.7:5040", "[2001:db8::1]:80").
func parseForwardedAddr(f []byte) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(string(f)); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(string(f)); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}
