package registry

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/consentgate/consentgate/rules"
)

// Key identifies an account in the registry: HMAC-SHA256 of the account id
// under the site's secret. The raw id never leaves the proxy.
type Key [sha256.Size]byte

// KeyPrefix starts the name of every registry key; the rest is the hex of a
// Key. Invalidation messages are subscribed by this prefix.
const KeyPrefix = "consentgate:optout:"

// Name returns the registry key of k: KeyPrefix and 64 hex digits.
func (k Key) Name() string {
	var b [len(KeyPrefix) + 2*sha256.Size]byte
	copy(b[:], KeyPrefix)
	hex.Encode(b[len(KeyPrefix):], k[:])
	return string(b[:])
}

// parseName is the inverse of Name.
func parseName(s string) (Key, bool) {
	var k Key
	if len(s) != len(KeyPrefix)+2*sha256.Size || s[:len(KeyPrefix)] != KeyPrefix {
		return k, false
	}
	_, err := hex.Decode(k[:], []byte(s[len(KeyPrefix):]))
	return k, err == nil
}

// Hasher computes the Keys of one secret. It is immutable and safe for
// concurrent use; Sum allocates nothing.
type Hasher struct {
	ipad, opad [sha256.BlockSize]byte
}

// NewHasher returns the Hasher of secret. A secret longer than the SHA-256
// block is hashed first, as HMAC does (rules.Compile already did that for a
// site's secret).
func NewHasher(secret []byte) *Hasher {
	if len(secret) > sha256.BlockSize {
		s := sha256.Sum256(secret)
		secret = s[:]
	}
	h := &Hasher{}
	copy(h.ipad[:], secret)
	copy(h.opad[:], secret)
	for i := range h.ipad {
		h.ipad[i] ^= 0x36
		h.opad[i] ^= 0x5c
	}
	return h
}

// Sum returns HMAC-SHA256(secret, id) (RFC 2104) and true, or false when id
// is empty or longer than rules.MaxAccountID: such a value is no account id.
func (h *Hasher) Sum(id []byte) (Key, bool) {
	if len(id) == 0 || len(id) > rules.MaxAccountID {
		return Key{}, false
	}
	// Two fixed-size buffers on the stack instead of hmac.New, which
	// allocates two hash states per call.
	var in [sha256.BlockSize + rules.MaxAccountID]byte
	n := copy(in[:], h.ipad[:])
	n += copy(in[n:], id)
	inner := sha256.Sum256(in[:n])
	var out [sha256.BlockSize + sha256.Size]byte
	copy(out[:], h.opad[:])
	copy(out[sha256.BlockSize:], inner[:])
	return sha256.Sum256(out[:]), true
}
