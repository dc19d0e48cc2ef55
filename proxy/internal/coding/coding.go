package coding

import (
	"bytes"

	"github.com/consentgate/consentgate/proxy/internal/fieldlist"
)

// Encoding is one content coding (RFC 9110 §8.4.1) as the proxy tells them
// apart.
type Encoding uint8

// The codings the proxy reads, and Unknown for any other.
const (
	Identity Encoding = iota
	Gzip
	Brotli
	Zstd
	Deflate
	// Unknown is a coding the proxy cannot decode, or several codings
	// applied in turn ("gzip, br"): the body can only be passed as it is.
	Unknown
)

var names = [...]string{Identity: "identity", Gzip: "gzip", Brotli: "br", Zstd: "zstd", Deflate: "deflate", Unknown: "unknown"}

// String returns the coding's token ("br" for Brotli), "unknown" for
// Unknown.
func (e Encoding) String() string { return names[min(e, Unknown)] }

// Header returns the Content-Encoding value of a body in e: "" for
// Identity, which needs none.
func (e Encoding) Header() string {
	if e == Identity {
		return ""
	}
	return e.String()
}

// Of returns the coding a Content-Encoding value names: Identity for an
// empty value or "identity", Gzip for "gzip" or "x-gzip" (RFC 9110
// §8.4.1.3), and so on, in any case, with white space around; Unknown for
// any other value, several codings among them.
func Of(contentEncoding []byte) Encoding {
	v := bytes.TrimSpace(contentEncoding)
	if len(v) == 0 {
		return Identity
	}
	if e, ok := token(v); ok {
		return e
	}
	return Unknown
}

// token returns the Encoding of one coding token.
func token(t []byte) (Encoding, bool) {
	switch {
	case bytes.EqualFold(t, []byte("gzip")), bytes.EqualFold(t, []byte("x-gzip")):
		return Gzip, true
	case bytes.EqualFold(t, []byte("br")):
		return Brotli, true
	case bytes.EqualFold(t, []byte("zstd")):
		return Zstd, true
	case bytes.EqualFold(t, []byte("deflate")):
		return Deflate, true
	case bytes.EqualFold(t, []byte("identity")):
		return Identity, true
	}
	return Unknown, false
}

// Set is a set of codings.
type Set uint8

// SetOf returns the set of the codings es.
func SetOf(es ...Encoding) Set {
	var s Set
	for _, e := range es {
		s |= 1 << e
	}
	return s
}

// Has reports whether e is in s.
func (s Set) Has(e Encoding) bool { return s&(1<<e) != 0 }

// Decodable are the codings the proxy decodes (Open).
const Decodable Set = 1<<Gzip | 1<<Brotli | 1<<Zstd | 1<<Deflate

// all are the codings Accepted can answer for.
const all Set = 1<<Identity | Decodable

// Accepted returns the codings, among Identity, Gzip, Brotli, Zstd and
// Deflate, that an Accept-Encoding value accepts (RFC 9110 §12.5.3): each
// one listed with a weight above 0 ("gzip", "gzip;q=0.5"; "x-gzip" is
// gzip); "*" stands for every coding the value does not list, with its
// weight; identity is accepted unless the value refuses it ("identity;q=0",
// or "*;q=0" without identity listed). A weight that is not a valid qvalue
// counts as 1 (the coding is listed, and the visitor meant something).
//
// An empty value accepts identity alone, and so does no header at all,
// where RFC 9110 would allow any coding: curl and scripts that send none
// cannot read what they did not ask for. It does not allocate.
func Accepted(ae []byte) Set {
	var listed, yes Set
	star := -1 // weight of "*": -1 absent, 0 refused, 1 accepted
	for rest := ae; len(rest) > 0; {
		var f []byte
		f, rest = fieldlist.Next(rest)
		name, params, _ := bytes.Cut(f, []byte{';'})
		name = bytes.TrimSpace(name)
		ok := !zeroWeight(params)
		if bytes.Equal(name, []byte("*")) {
			star = 0
			if ok {
				star = 1
			}
			continue
		}
		e, known := token(name)
		if !known || listed.Has(e) {
			continue // the first of a repeated coding counts
		}
		listed |= 1 << e
		if ok {
			yes |= 1 << e
		}
	}
	if star == 1 {
		yes |= all &^ listed
	}
	if !listed.Has(Identity) && star != 0 {
		yes |= 1 << Identity
	}
	return yes
}

// zeroWeight reports whether the parameters of an Accept-Encoding element
// give it the weight 0: "q=0", "q=0.", "q=0.0", up to three zero digits,
// in any case, with white space around.
func zeroWeight(params []byte) bool {
	for rest := params; len(rest) > 0; {
		var p []byte
		if i := bytes.IndexByte(rest, ';'); i >= 0 {
			p, rest = rest[:i], rest[i+1:]
		} else {
			p, rest = rest, nil
		}
		k, v, ok := bytes.Cut(bytes.TrimSpace(p), []byte{'='})
		if !ok || !bytes.EqualFold(bytes.TrimSpace(k), []byte("q")) {
			continue
		}
		v = bytes.TrimSpace(v)
		if len(v) == 0 || v[0] != '0' {
			return false
		}
		v = v[1:]
		if len(v) > 0 {
			if v[0] != '.' || len(v) > 4 {
				return false
			}
			for _, c := range v[1:] {
				if c != '0' {
					return false
				}
			}
		}
		return true
	}
	return false
}

// Output returns the coding a body the proxy wrote itself (a rewritten
// page) is sent in to a client that accepts s, when the upstream sent it
// in in: gzip when it came gzip and the client takes gzip, else identity.
// A body the upstream sent plain is not encoded (the upstream, or a CDN in
// front of the proxy, chose that), and brotli, zstd and deflate are not
// written: their encoders cost several times gzip's fastest level per
// page. A response cache keys what it stores by this coding.
func (s Set) Output(in Encoding) Encoding {
	if in == Gzip && s.Has(Gzip) {
		return Gzip
	}
	return Identity
}

// requestValues are the Accept-Encoding values Request returns, by the set
// of codings they offer (the bits of Decodable), so none is built per
// request.
var requestValues = func() (v [1 << Unknown]string) {
	order := []Encoding{Gzip, Brotli, Zstd, Deflate}
	for s := range v {
		b := ""
		for _, e := range order {
			if Set(s).Has(e) {
				if b != "" {
					b += ", "
				}
				b += e.String()
			}
		}
		if b == "" {
			b = "identity"
		}
		v[s] = b
	}
	return v
}()

// Request returns the Accept-Encoding value of a request the proxy sends
// upstream for a client that accepts client, when the response path can
// read the codings in can: those of can the client accepts too, since a
// response the proxy does not change (a script, a style sheet) goes to the
// client as the upstream sent it, and one it changes must be read first;
// "identity" when there are none. The value is a constant.
func Request(client, can Set) string {
	return requestValues[client&can&Decodable]
}
