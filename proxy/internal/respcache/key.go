package respcache

import (
	"crypto/rand"
	"encoding/binary"

	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/minio/highwayhash"
)

// Key identifies one rewritten response: a keyed 128-bit hash of the
// upstream body and of everything else the rewritten bytes depend on. The
// zero Key is the key of nothing.
type Key struct{ lo, hi uint64 }

// keyTag starts the encoding Key hashes, so the encoding can change
// without old and new keys meeting.
const keyTag = "consentgate response cache key 1\x00"

// secret returns a new random key for HighwayHash.
func secret() [highwayhash.Size]byte {
	var k [highwayhash.Size]byte
	rand.Read(k[:]) //nolint:errcheck // never fails (crypto/rand)
	return k
}

// Key returns the key of body, the upstream body as received (before it is
// decoded) in the content coding coding (its token: "gzip", "br"; "" or
// "identity" for none), rewritten under pol for a client that takes the
// codings accept (a coding.Set of the proxy: with coding it decides the
// coding the response is sent in, and whether the upstream's bytes can go
// out as they came). ok is false when the rewritten bytes depend on
// something no key can hold, so the response must not be cached:
// placeholders that carry a key of their own response (Placeholders.Key).
//
// The key covers the rule-set version (pol.Set), the site's name
// (pol.Site), the denied categories, the stub, the guard, Explain, the
// head and tail inserted and the placeholders' texts: the site's actions
// and allow-list are in the rule-set version. It is a HighwayHash-128 under
// the cache's secret, so no one outside the process can make two bodies
// that share a key. Key does not allocate; a nil Cache returns the zero
// Key and false.
func (c *Cache) Key(body []byte, pol *rewrite.Policy, coding string, accept uint8) (k Key, ok bool) {
	if c == nil || (pol.Placeholders != nil && pol.Placeholders.Key != "") {
		return Key{}, false
	}
	var buf [512]byte
	b := append(buf[:0], keyTag...)
	sum := highwayhash.Sum128(body, c.secret[:])
	b = append(b, sum[:]...)
	b = appendString(b, canonCoding(coding))
	b = append(b, accept)
	version, site := "", ""
	if pol.Set != nil {
		version = pol.Set.Version()
	}
	if pol.Site != nil {
		site = pol.Site.Name
	}
	b = appendString(b, version)
	b = appendString(b, site)
	var flags byte
	for i, f := range [...]bool{pol.Stub, pol.Guard, pol.Explain, pol.Placeholders != nil} {
		if f {
			flags |= 1 << i
		}
	}
	b = append(b, byte(pol.Deny), flags)
	if ph := pol.Placeholders; ph != nil {
		b = appendString(b, ph.Reason)
		b = appendString(b, ph.Text)
		b = appendString(b, ph.Button)
	}
	// The head (the guard's script, some KiB) and the tail (the notice) by
	// their hashes: the buffer stays on the stack.
	head := highwayhash.Sum128(pol.Head, c.secret[:])
	tail := highwayhash.Sum128(pol.Tail, c.secret[:])
	b = appendString(b, string(head[:]))
	b = appendString(b, string(tail[:]))
	sum = highwayhash.Sum128(b, c.secret[:])
	return Key{binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:])}, true
}

// canonCoding spells identity one way.
func canonCoding(c string) string {
	if c == "identity" {
		return ""
	}
	return c
}

// appendString appends s with its length first, so that no two sequences
// of strings encode the same.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
