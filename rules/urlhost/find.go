package urlhost

import "bytes"

// Find returns the host of an http or https URL, a scheme-relative URL or
// a bare host name, without port or userinfo, where the browser's URL
// parser (WHATWG URL Standard) finds it; nil for any other URL (a relative
// path, javascript:, data:, ...). Leading and trailing C0 controls and
// spaces are ignored. After "http:" or "https:" (any case) any number of
// '/' and '\\' is skipped, none included: "https:host" is read as absolute,
// as a page of another scheme reads it. A URL that starts with two or more
// of them is scheme-relative and skips them all; one is a path. The host
// ends at '/', '\\', '?' or '#', and its port at the first ':' (after the
// ']' of an IPv6 literal). The host is returned as written, percent-escapes
// and non-ASCII bytes included (Buf.Canonical maps them as the browser
// does); ASCII tab and newline are not removed from u (callers reading
// markup remove them first). The result aliases u.
func Find(u []byte) []byte {
	u = trimC0Space(u)
	switch {
	case hasPrefixFold(u, "http:"):
		u = skipSlashes(u[5:])
	case hasPrefixFold(u, "https:"):
		u = skipSlashes(u[6:])
	case len(u) >= 2 && (u[0] == '/' || u[0] == '\\') && (u[1] == '/' || u[1] == '\\'):
		u = skipSlashes(u[2:])
	default:
		// A bare host: see looksLikeHost.
		if !looksLikeHost(u) {
			return nil
		}
	}
	end := len(u)
	for i, c := range u {
		if c == '/' || c == '?' || c == '#' || c == '\\' {
			end = i
			break
		}
	}
	u = u[:end]
	if i := bytes.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if len(u) > 0 && u[0] == '[' {
		if i := bytes.IndexByte(u, ']'); i >= 0 {
			u = u[:i+1]
		}
	} else if i := bytes.IndexByte(u, ':'); i >= 0 {
		u = u[:i]
	}
	return u
}

func hasPrefixFold(b []byte, p string) bool {
	return len(b) >= len(p) && bytes.EqualFold(b[:len(p)], []byte(p))
}

// trimC0Space removes leading and trailing C0 controls and spaces (bytes
// 0x00 to 0x20), as the URL parser does before it reads a URL; it keeps
// every other byte, non-ASCII white space included.
func trimC0Space(b []byte) []byte {
	for len(b) > 0 && b[0] <= ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] <= ' ' {
		b = b[:len(b)-1]
	}
	return b
}

// skipSlashes returns u without its leading '/' and '\\' (the URL parser's
// "special authority ignore slashes state").
func skipSlashes(u []byte) []byte {
	for len(u) > 0 && (u[0] == '/' || u[0] == '\\') {
		u = u[1:]
	}
	return u
}

// looksLikeHost reports whether u, up to its first '/', could be a host
// with at least one dot: ASCII letters, digits, '-', ':' (a port), '%' (an
// escape) and bytes >= 0x80 (a name that Canonical maps), where "%2E" and
// U+3002, U+FF0E and U+FF61 in UTF-8 count as dots.
func looksLikeHost(u []byte) bool {
	dot := false
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c == '.':
			dot = true
		case c == '-' || c == ':' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case c == '%':
			if i+2 < len(u) && u[i+1] == '2' && u[i+2]|0x20 == 'e' {
				dot = true
			}
		case c >= 0x80:
			if i+2 < len(u) && isFullStop(u[i], u[i+1], u[i+2]) {
				dot = true
			}
		case c == '/':
			return dot
		default:
			return false
		}
	}
	return dot
}

// isFullStop reports whether a, b, c are the UTF-8 of U+3002 IDEOGRAPHIC
// FULL STOP, U+FF0E FULLWIDTH FULL STOP or U+FF61 HALFWIDTH IDEOGRAPHIC FULL
// STOP, which UTS #46 maps to '.'.
func isFullStop(a, b, c byte) bool {
	return a == 0xE3 && b == 0x80 && c == 0x82 || a == 0xEF && (b == 0xBC && c == 0x8E || b == 0xBD && c == 0xA1)
}
