package rules

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// maxDots is the most dots a configured host may have (32 labels).
const maxDots = 31

// maxHostLen is the longest host name a lookup considers: the longest DNS
// name (RFC 1035 section 2.3.4). Longer inputs match nothing.
const maxHostLen = 253

// hostBuf holds a canonical host on the caller's stack.
type hostBuf [maxHostLen]byte

// canonical writes host to buf lower-cased, without a port and a trailing dot,
// and returns that part of buf. It returns nil for an empty or over-long host
// and for an IPv6 literal, which no vendor or site names.
func (buf *hostBuf) canonical(host []byte) []byte {
	if len(host) == 0 || host[0] == '[' {
		return nil
	}
	if i := bytes.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	if len(host) == 0 || len(host) > maxHostLen {
		return nil
	}
	for i, c := range host {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(host)]
}

// nextSuffix returns h without its first label, and false when what is left
// has no dot: no vendor, first-party or wildcard entry is a bare top-level
// domain, so lookups stop there. (A loop over nextSuffix, not a walker
// taking a callback, keeps the caller's hostBuf on its stack; measured, it
// is also faster than recording the dots while copying.)
func nextSuffix(h []byte) ([]byte, bool) {
	i := bytes.IndexByte(h, '.')
	if i < 0 {
		return nil, false
	}
	h = h[i+1:]
	return h, bytes.IndexByte(h, '.') >= 0
}

// normaliseHost validates the syntax of a host name from config or catalogue
// and returns it lower-cased without a trailing dot.
func normaliseHost(h string) (string, error) {
	h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
	if h == "" {
		return "", errors.New("empty host")
	}
	if len(h) > maxHostLen {
		return "", fmt.Errorf("host is longer than %d bytes", maxHostLen)
	}
	for _, c := range h {
		if !(c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return "", fmt.Errorf("%q is not a host name (letters, digits, dots and dashes)", h)
		}
	}
	if strings.HasPrefix(h, ".") || strings.Contains(h, "..") {
		return "", fmt.Errorf("%q has an empty label", h)
	}
	if strings.Count(h, ".") > maxDots {
		return "", fmt.Errorf("%q has more than %d labels", h, maxDots+1)
	}
	return h, nil
}

// vendorHost validates a vendor's host suffix: a host name that is not a
// public suffix (ICANN or private section of the Public Suffix List), since
// a suffix such as "co.uk" or "github.io" would claim unrelated sites.
func vendorHost(h string) (string, error) {
	n, err := normaliseHost(h)
	if err != nil {
		return "", err
	}
	if etld, _ := publicsuffix.PublicSuffix(n); etld == n {
		return "", fmt.Errorf("%q is a public suffix; name a registrable domain or a host under one", n)
	}
	return n, nil
}

// hostFilter is a one-hash Bloom filter over the host suffixes of a Set: a
// suffix whose bit is clear is certainly not in the table, so most probes
// (the full host "www.example.com" before "example.com", and every probe for
// a host that is no tracker) cost one load instead of a string-map lookup.
// With a few thousand suffixes in 65 536 bits, few probes pass falsely.
type hostFilter [1 << 10]uint64

// filterKey hashes a suffix's length and first three bytes (fewer when it
// is shorter: a host from a page may be ".0" or "a.").
func filterKey(s []byte) uint32 {
	var b uint32
	for i := 0; i < 3 && i < len(s); i++ {
		b |= uint32(s[i]) << (8 * i)
	}
	h := uint32(len(s))*0x9E3779B1 ^ b*0x85EBCA6B
	return (h ^ h>>15) & (1<<16 - 1)
}

func (f *hostFilter) add(s string) {
	k := filterKey([]byte(s))
	f[k>>6] |= 1 << (k & 63)
}

func (f *hostFilter) mayHave(s []byte) bool {
	k := filterKey(s)
	return f[k>>6]&(1<<(k&63)) != 0
}
