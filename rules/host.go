package rules

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// maxDots is the most dots a configured host may have (32 labels).
const maxDots = 31

// maxHostLen is the longest host name a lookup considers: the longest DNS
// name (RFC 1035 section 2.3.4). Longer inputs match nothing.
const maxHostLen = 253

// hostBuf holds a canonical host on the caller's stack.
type hostBuf [maxHostLen]byte

// canonical writes host to buf as the browser's host parser reads it,
// lower-cased, without a port and a trailing dot, and returns that part of
// buf. It returns nil for an empty or over-long host, for an IPv6 literal,
// which no vendor or site names, and for a host the browser refuses, which
// loads nothing. An ASCII host without '%' is only lower-cased; any other
// goes through decode. Neither allocates unless the host has a byte >= 0x80
// (written or percent-encoded).
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
	if len(host) == 0 {
		return nil
	}
	if len(host) > maxHostLen {
		return buf.decode(host)
	}
	for i, c := range host {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		} else if c >= 0x80 || c == '%' {
			return buf.decode(host)
		}
		buf[i] = c
	}
	return buf[:len(host)]
}

// browserIDNA is UTS #46 processing as the WHATWG URL Standard's "domain to
// ASCII" runs it: nontransitional, CheckBidi and CheckJoiners on,
// CheckHyphens and UseSTD3ASCIIRules off, no DNS length check.
var browserIDNA = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false),
	idna.StrictDomainName(false), idna.CheckHyphens(false), idna.VerifyDNSLength(false))

// decode is canonical for a host that has '%', a byte >= 0x80 or more than
// maxHostLen bytes (its port and one trailing dot already removed), as the
// WHATWG host parser reads it: percent-escapes decoded, then, when a byte
// >= 0x80 is left, UTF-8 decoding and UTS #46 mapping (browserIDNA: case and
// width folded, U+3002, U+FF0E and U+FF61 read as '.', ignorable code points
// dropped, the result in Punycode). A host that is invalid UTF-8, fails
// UTS #46 or then holds a forbidden domain code point ('%', '/', ':', '?',
// '@', controls, ...) makes the browser refuse the URL: nil.
func (buf *hostBuf) decode(host []byte) []byte {
	var tmp [4 * maxHostLen]byte
	d := tmp[:0]
	if len(host) > len(tmp) {
		// Percent-escapes shorten a host at most threefold, so an ASCII one
		// this long is over-long however it is written; a non-ASCII one may
		// still map to a short name (ignorable code points vanish).
		if !hasNonASCII(host) {
			return nil
		}
		d = make([]byte, 0, len(host))
	}
	ascii := true
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c == '%' && i+2 < len(host) {
			if x, ok := unhex(host[i+1], host[i+2]); ok {
				c = x
				i += 2
				if c == '%' {
					return nil
				}
			}
		}
		ascii = ascii && c < 0x80
		d = append(d, c)
	}
	if !ascii {
		if !utf8.Valid(d) {
			return nil // decoded to U+FFFD, which UTS #46 disallows
		}
		a, err := browserIDNA.ToASCII(string(d))
		if err != nil {
			return nil
		}
		d = append(d[:0], a...)
	}
	if n := len(d); n > 0 && d[n-1] == '.' && host[len(host)-1] != '.' {
		d = d[:n-1] // a trailing dot that was escaped or mapped
	}
	if len(d) == 0 || len(d) > maxHostLen {
		return nil
	}
	for i, c := range d {
		if forbiddenInDomain(c) {
			return nil
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(d)]
}

// hasNonASCII reports whether host has a byte >= 0x80, written or
// percent-encoded.
func hasNonASCII(host []byte) bool {
	for i, c := range host {
		if c >= 0x80 || c == '%' && i+2 < len(host) && hexDigit(host[i+1]) >= 8 && hexDigit(host[i+2]) < 16 {
			return true
		}
	}
	return false
}

// forbiddenInDomain reports whether c is a forbidden domain code point of
// the URL Standard: a C0 control, space, '#', '%', '/', ':', '<', '>', '?',
// '@', '[', '\\', ']', '^', '|' or DEL.
func forbiddenInDomain(c byte) bool {
	return c <= ' ' || c == 0x7f || strings.IndexByte("#%/:<>?@[\\]^|", c) >= 0
}

// hexDigit returns the value of a hex digit, or 16 for another byte.
func hexDigit(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c|0x20 && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10
	}
	return 16
}

func unhex(a, b byte) (byte, bool) {
	x, y := hexDigit(a), hexDigit(b)
	return x<<4 | y, x < 16 && y < 16
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
