package rewrite

import (
	"encoding/binary"
	"html"
	"math/bits"
	"unicode/utf8"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/urlhost"
)

// classifier tells which denied vendor, if any, a URL or a host loads
// from, under one compiled policy. It remembers the last hosts of a page
// (hostCache), so reset it for each page.
type classifier struct {
	pol     *compiled
	hosts   hostCache
	scratch []byte // what clean returns
}

// reset makes c classify for pol, with an empty host cache.
func (c *classifier) reset(pol *compiled) {
	if cap(c.scratch) > MaxInline {
		c.scratch = nil
	}
	c.pol, c.scratch = pol, c.scratch[:0]
	c.hosts.n, c.hosts.next = 0, 0
}

// classify returns the vendor of a cleaned URL if it is denied.
func (cl *classifier) classify(u []byte) *rules.Vendor {
	if len(u) == 0 {
		return nil
	}
	// Pages repeat a few hosts (their CDN) hundreds of times: remember the
	// last few answers for this page, by the URL up to the '/' that ends
	// its host (urlhost.Find reads nothing past that '/'), and by host.
	c := &cl.hosts
	if v, ok := c.prefix(u); ok {
		return v
	}
	h := urlhost.Find(u)
	if len(h) == 0 || len(h) > len(c.host[0]) {
		return cl.classifyHost(h)
	}
	k := -1
	for j := range c.n {
		if c.len[j] == len(h) && string(c.host[j][:len(h)]) == string(h) {
			k = j
			break
		}
	}
	if k < 0 {
		k = c.next
		c.next = (c.next + 1) % len(c.v)
		c.n = max(c.n, k+1)
		c.len[k] = copy(c.host[k][:], h)
		c.v[k] = cl.classifyHost(h)
	}
	// h is a part of u: remember the URL up to its end when a '/' follows.
	c.plen[k] = 0
	if start := cap(u) - cap(h); start >= 0 && start+len(h) < len(u) && &u[start] == &h[0] {
		if end := start + len(h); u[end] == '/' && end <= len(c.pre[k]) && !needsClean(u[:end]) {
			c.plen[k] = copy(c.pre[k][:], u[:end])
		}
	}
	return c.v[k]
}

// classifyHost returns the vendor of a host if it is denied.
func (cl *classifier) classifyHost(h []byte) *rules.Vendor {
	if len(h) == 0 {
		return nil
	}
	v := cl.pol.set.Classify(cl.pol.site, h)
	if !cl.pol.denied(v) {
		return nil
	}
	return v
}

// prefix looks u up by the start of the URLs in the cache. As that start
// holds nothing that clean changes, u may be cleaned or not.
func (c *hostCache) prefix(u []byte) (*rules.Vendor, bool) {
	for k := range c.n {
		if n := c.plen[k]; n > 0 && n < len(u) && u[n] == '/' && string(u[:n]) == string(c.pre[k][:n]) {
			return c.v[k], true
		}
	}
	return nil, false
}

// hostCache holds the last hosts classified for a page and their denied
// vendor (or nil), with the start of a URL that had the host, through the
// host (plen 0 when none). It is valid for one Policy, so Reset clears it.
type hostCache struct {
	host [8][64]byte
	len  [8]int
	pre  [8][96]byte
	plen [8]int
	v    [8]*rules.Vendor
	n    int
	next int
}

// urlPrefix classifies a URL of which only the first bytes, u (cleaned),
// are known: the denied vendor and whether it is known. It is known when
// the host ends within u (a '/' or the like follows it), or when u has no
// host and is long enough to be sure of that; not while the host may go
// on past u, or u may yet become "//host".
func (cl *classifier) urlPrefix(u []byte) (*rules.Vendor, bool) {
	h := urlhost.Find(u)
	if len(h) == 0 {
		if t := trimCSSSpace(u); len(t) < 16 || t[len(t)-1] == '/' || t[len(t)-1] == '\\' {
			return nil, false
		}
		return nil, true
	}
	if cap(u)-cap(h)+len(h) >= len(u) {
		return nil, false // the host may go on
	}
	return cl.classify(u), true
}

// classifyList classifies each URL of a srcset (srcset true) or of a
// space-separated list (ping) and returns the first denied vendor.
func (cl *classifier) classifyList(val []byte, srcset bool) *rules.Vendor {
	if v, ok := cl.list(val, srcset, true); ok {
		return v
	}
	v, _ := cl.list(cl.clean(val, true), srcset, false)
	return v
}

// list is classifyList over s. With raw, s is the value as it is and list
// gives up (ok false) at the first byte that clean would change in a list;
// up to there, the value and its cleaned form split the same way.
func (cl *classifier) list(s []byte, srcset, raw bool) (v *rules.Vendor, ok bool) {
	sep, stop, desc := uint8(uSpace), uint8(uSpace), uint8(uComma)
	if srcset {
		sep |= uComma
	}
	if raw {
		stop |= uRef
		desc |= uRef
	}
	for i := 0; i < len(s); {
		for i < len(s) && uclass[s[i]]&sep != 0 {
			i++
		}
		start := i
		i = urlEnd(s, i)
		for i < len(s) && uclass[s[i]]&stop == 0 {
			i++
		}
		if i < len(s) && uclass[s[i]]&uRef != 0 && raw {
			return nil, false
		}
		u := s[start:i]
		if srcset {
			if n := len(u); n > 0 && u[n-1] == ',' {
				for len(u) > 0 && u[len(u)-1] == ',' {
					u = u[:len(u)-1]
				}
			} else {
				// Skip the descriptors, up to the next comma.
				for i < len(s) && uclass[s[i]]&desc == 0 {
					i++
				}
				if i < len(s) && uclass[s[i]]&uRef != 0 && raw {
					return nil, false
				}
			}
		}
		if v := cl.classify(u); v != nil {
			return v, true
		}
	}
	return nil, true
}

// urlEnd skips, eight bytes at a time (see nameEnd), the bytes from s[i]
// that can be neither white space nor a byte clean changes in a list.
func urlEnd(s []byte, i int) int {
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		if m := (x-0x21*ones)&^x&high | zeros(x^'&'*ones) | zeros(x^'%'*ones) | zeros(x^'\\'*ones); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	return i
}

// clean returns an attribute value as the browser's URL parser sees it,
// as far as the host goes: character references decoded (a non-ASCII one
// to its UTF-8), ASCII tab and newline removed (unless keepSpace, for
// lists), backslashes read as slashes, and percent-encoded host characters
// decoded: ASCII letters, digits, '.' and '-', and bytes >= 0x80, which
// can never be a delimiter (rules.Set.Classify reads non-ASCII hosts as the
// browser does). Every change makes the value shorter or keeps its length.
// The result may alias cl.scratch.
func (cl *classifier) clean(v []byte, keepSpace bool) []byte {
	if !needsClean(v) {
		return v
	}
	b := decodeRefs(cl.scratch[:0], v)
	// Second pass, in place: what the URL parser does, on decoded text.
	n := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case (c == '\t' || c == '\n' || c == '\r') && !keepSpace:
			continue
		case c == '\\':
			c = '/'
		case c == '%' && i+2 < len(b):
			if h, ok := unhex(b[i+1], b[i+2]); ok && (isAlpha(h) || h >= '0' && h <= '9' || h == '.' || h == '-' || h >= 0x80) {
				c = h
				i += 2
			}
		}
		b[n] = c
		n++
	}
	cl.scratch = b[:n]
	return cl.scratch
}

// Byte classes of attribute values.
const (
	uSpace = 1 << iota // HTML white space
	uComma             // ','
	uClean             // '&', '\\', tab, LF, CR, '%': clean has work to do
	uRef               // '&', '\\', '%': what clean changes in a list
)

var uclass = func() (t [256]uint8) {
	for _, c := range []byte(" \t\n\r\f") {
		t[c] = uSpace
	}
	t[','] = uComma
	for _, c := range []byte("&\\\t\n\r%") {
		t[c] |= uClean
	}
	for _, c := range []byte("&\\%") {
		t[c] |= uRef
	}
	return t
}()

// needsClean reports whether v holds a byte that clean changes or decodes.
func needsClean(v []byte) bool {
	for len(v) >= 4 {
		if (uclass[v[0]]|uclass[v[1]]|uclass[v[2]]|uclass[v[3]])&uClean != 0 {
			return true
		}
		v = v[4:]
	}
	for _, c := range v {
		if uclass[c]&uClean != 0 {
			return true
		}
	}
	return false
}

func unhex(a, b byte) (byte, bool) {
	x, ok1 := hexVal(a)
	y, ok2 := hexVal(b)
	return x<<4 | y, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return c | 0x20 - 'a' + 10, true
	}
	return 0, false
}

// charRef decodes the character reference at the start of b ("&...") as
// the HTML tokenizer does in an attribute value, and returns its length n;
// n == 0 when b does not start with one it knows. A numeric reference may
// be any code point: as in the tokenizer, 0, a surrogate or one past
// U+10FFFF reads as U+FFFD and 0x80 to 0x9F as windows-1252 (&#x99; is
// U+2122, which a host maps to "tm"). It is never longer in UTF-8 than
// the reference ("&#128" is five bytes, U+20AC three).
func charRef(b []byte) (rune, int) {
	if len(b) < 3 {
		return 0, 0
	}
	if b[1] == '#' {
		j, base := 2, 10
		if b[j]|0x20 == 'x' {
			j, base = 3, 16
		}
		start, cp := j, 0
		for ; j < len(b); j++ {
			d, ok := hexVal(b[j])
			if !ok || base == 10 && d > 9 {
				break
			}
			if cp <= 0x10FFFF {
				cp = cp*base + int(d)
			}
		}
		if j == start {
			return 0, 0
		}
		if j < len(b) && b[j] == ';' {
			j++
		}
		switch {
		case cp == 0 || cp > utf8.MaxRune || 0xD800 <= cp && cp <= 0xDFFF:
			return utf8.RuneError, j
		case 0x80 <= cp && cp <= 0x9F:
			if r := win1252[cp-0x80]; r != 0 {
				return r, j
			}
		}
		return rune(cp), j
	}
	end := 1
	for end < len(b) && end < 12 && (isAlpha(b[end]) || b[end] >= '0' && b[end] <= '9') {
		end++
	}
	name := b[1:end]
	if end < len(b) && b[end] == ';' {
		for _, r := range namedRefs {
			if string(name) == r.name {
				return rune(r.c), end + 1
			}
		}
		// Any other of the 2 000-odd named references (&shy;, which a host
		// drops, or &fopf;, which it maps to "f"); rare, so the standard
		// library's table is used, allocation and all. The ones that stand
		// for two code points never occur in a host.
		ref := string(b[:end+1])
		if s := html.UnescapeString(ref); s != ref {
			if r, size := utf8.DecodeRuneInString(s); size == len(s) {
				return r, end + 1
			}
		}
		return 0, 0
	}
	// Legacy references without ';' (HTML tokenizer: in an attribute only
	// when not followed by an alphanumeric or '=').
	for _, r := range namedRefs[:4] {
		if len(name) >= len(r.name) && string(name[:len(r.name)]) == r.name {
			k := 1 + len(r.name)
			if k < len(b) && (isAlpha(b[k]) || b[k] >= '0' && b[k] <= '9' || b[k] == '=') {
				return 0, 0
			}
			return rune(r.c), k
		}
	}
	return 0, 0
}

// win1252 is what the HTML tokenizer reads for a numeric reference to
// 0x80 to 0x9F (0: the code point itself).
var win1252 = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

var namedRefs = []struct {
	name string
	c    byte
}{
	{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'},
	{"AMP", '&'}, {"LT", '<'}, {"GT", '>'}, {"QUOT", '"'},
	{"sol", '/'}, {"colon", ':'}, {"period", '.'}, {"apos", '\''}, {"Tab", '\t'},
	{"NewLine", '\n'}, {"num", '#'}, {"percnt", '%'}, {"quest", '?'}, {"equals", '='},
	{"commat", '@'}, {"lowbar", '_'}, {"UnderBar", '_'}, {"dollar", '$'}, {"excl", '!'},
	{"lpar", '('}, {"rpar", ')'}, {"plus", '+'}, {"comma", ','}, {"semi", ';'},
	{"bsol", '\\'}, {"lsqb", '['}, {"rsqb", ']'}, {"lbrack", '['}, {"rbrack", ']'},
	{"ast", '*'}, {"midast", '*'}, {"Hat", '^'}, {"grave", '`'}, {"lcub", '{'}, {"rcub", '}'},
	{"lbrace", '{'}, {"rbrace", '}'}, {"verbar", '|'}, {"vert", '|'}, {"VerticalLine", '|'},
}
