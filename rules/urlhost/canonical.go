package urlhost

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// MaxLen is the longest host name a lookup considers: the longest DNS name
// (RFC 1035 section 2.3.4). Longer inputs match nothing.
const MaxLen = 253

// Buf holds a canonical host on the caller's stack.
type Buf [MaxLen]byte

// Canonical writes host to buf as the browser's host parser reads it,
// lower-cased, without a port and a trailing dot, and returns that part of
// buf. It returns nil for an empty or over-long host, for an IPv6 literal,
// which no vendor or site names, and for a host the browser refuses, which
// loads nothing. An ASCII host without '%' is only lower-cased; any other
// goes through decode. Neither allocates unless the host has a byte >= 0x80
// (written or percent-encoded).
func (buf *Buf) Canonical(host []byte) []byte {
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
	if len(host) > MaxLen {
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

// decode is Canonical for a host that has '%', a byte >= 0x80 or more than
// MaxLen bytes (its port and one trailing dot already removed), as the
// WHATWG host parser reads it: percent-escapes decoded, then, when a byte
// >= 0x80 is left, UTF-8 decoding and UTS #46 mapping (browserIDNA: case and
// width folded, U+3002, U+FF0E and U+FF61 read as '.', ignorable code points
// dropped, the result in Punycode). A host that is invalid UTF-8, fails
// UTS #46 or then holds a forbidden domain code point ('%', '/', ':', '?',
// '@', controls, ...) makes the browser refuse the URL: nil.
func (buf *Buf) decode(host []byte) []byte {
	var tmp [4 * MaxLen]byte
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
	if len(d) == 0 || len(d) > MaxLen {
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

// NextSuffix returns h without its first label, and false when what is
// left has no dot: no vendor, first-party or wildcard entry is a bare
// top-level domain, so lookups stop there. (A loop over NextSuffix, not a
// walker taking a callback, keeps the caller's Buf on its stack; measured,
// it is also faster than recording the dots while copying.)
func NextSuffix(h []byte) ([]byte, bool) {
	i := bytes.IndexByte(h, '.')
	if i < 0 {
		return nil, false
	}
	h = h[i+1:]
	return h, bytes.IndexByte(h, '.') >= 0
}
