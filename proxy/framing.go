package proxy

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// The proxy must read every request the way the upstream will: where
// fasthttp is lenient and forwards something other than what the proxy's
// own readers (signals scans the raw header block) saw, the request is
// refused instead.

// framingProblem returns why a parsed request must be refused, or "".
//
//   - obs-fold (a header line continued on the next; RFC 9112 §5.2 lets a
//     server refuse it): fasthttp joins "Sec-GPC:" and " 1" into
//     "Sec-GPC: 1" for the upstream, while the raw block read by signals
//     holds an empty Sec-GPC.
//   - Transfer-Encoding other than exactly chunked: fasthttp read
//     "identity" as no body and the body as a second request (RFC 9112
//     §6.1: an unknown coding gets 501; identity is no coding any more).
//   - a bare LF inside the block, a line that is not "token: value", or
//     both Content-Length and Transfer-Encoding: each read one way here
//     and possibly another upstream.
//   - trailer fields: fasthttp merges a chunked request's trailer into its
//     header, so a trailer "Sec-GPC: 1" reached the upstream as a header
//     the proxy never read. Browsers send no request trailers.
func framingProblem(h *fasthttp.RequestHeader) string {
	raw := h.RawHeaders()
	if bytes.Contains(raw, []byte("\n ")) || bytes.Contains(raw, []byte("\n\t")) {
		return "obs-fold line continuation"
	}
	if bareLF(raw) {
		return "a line ending in LF alone"
	}
	chunked, length := false, false
	for line := range bytes.Lines(raw) {
		if len(line) <= 2 {
			continue // the empty line that ends the block
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || !isToken(name) {
			return "a header line that is not name: value"
		}
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length = true
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(bytes.TrimSpace(value), []byte("chunked")) {
				return "transfer coding other than chunked"
			}
			chunked = true
		}
	}
	if chunked && length {
		// RFC 9112 §6.3 lets a server read such a request as chunked
		// (and close); an upstream or a cache in between may not.
		return "both Content-Length and Transfer-Encoding"
	}
	if chunked {
		// Declared (Trailer:) or received: fasthttp keeps both, and
		// writes them upstream as header fields.
		for range h.Trailers() {
			return "request trailer fields"
		}
	}
	return ""
}

// bareLF reports whether b has an LF not preceded by CR. fasthttp reads
// such a line as a line; an upstream may join it to its neighbour.
func bareLF(b []byte) bool {
	for i := 0; ; i++ {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return false
		}
		if i += j; i == 0 || b[i-1] != '\r' {
			return true
		}
	}
}

// isToken reports whether b is an RFC 9110 token (a field name).
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c >= 0x80 || !tokenChar[c] {
			return false
		}
	}
	return true
}

var tokenChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-32] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
