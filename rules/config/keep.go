package config

import (
	"crypto/sha256"
	"encoding/hex"
)

// KeepScript is one entry of a site's keep_scripts as written: an
// inline script the rewriter always keeps, named by exactly one of its id
// attribute, one of its classes or the SHA-256 of its content.
type KeepScript struct {
	ID    string `yaml:"id"`
	Class string `yaml:"class"`
	// SHA256 is the hash of the script's content (the bytes between its
	// start tag and its end tag), in hex, as consentgate explain-page
	// prints it.
	SHA256 string `yaml:"sha256"`
}

// Hash is the SHA256 entry decoded; false when it is not 64 hex digits.
func (k KeepScript) Hash() ([sha256.Size]byte, bool) {
	var h [sha256.Size]byte
	b, err := hex.DecodeString(k.SHA256)
	if err != nil || len(b) != len(h) {
		return h, false
	}
	copy(h[:], b)
	return h, true
}
