package registry

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// TestHasherIsHMAC compares Sum with crypto/hmac over secrets shorter than,
// as long as and longer than the block, and ids up to the limit.
func TestHasherIsHMAC(t *testing.T) {
	for _, secret := range []string{"0123456789abcdef", strings.Repeat("s", 64), strings.Repeat("long", 40)} {
		h := NewHasher([]byte(secret))
		for _, id := range []string{"u", "user-42", strings.Repeat("x", 55), strings.Repeat("y", 56), strings.Repeat("z", rules.MaxAccountID)} {
			got, ok := h.Sum([]byte(id))
			m := hmac.New(sha256.New, []byte(secret))
			m.Write([]byte(id))
			if !ok || string(got[:]) != string(m.Sum(nil)) {
				t.Errorf("secret %d bytes, id %d bytes: Sum differs from crypto/hmac", len(secret), len(id))
			}
		}
	}
	h := NewHasher([]byte("0123456789abcdef"))
	for _, id := range []string{"", strings.Repeat("x", rules.MaxAccountID+1)} {
		if _, ok := h.Sum([]byte(id)); ok {
			t.Errorf("id of %d bytes accepted", len(id))
		}
	}
}

func TestKeyName(t *testing.T) {
	k, _ := NewHasher([]byte("0123456789abcdef")).Sum([]byte("user-42"))
	n := k.Name()
	if !strings.HasPrefix(n, KeyPrefix) || len(n) != len(KeyPrefix)+64 || strings.Contains(n, "user-42") {
		t.Fatalf("Name = %q", n)
	}
	if back, ok := parseName(n); !ok || back != k {
		t.Errorf("parseName(%q) = %x, %v", n, back, ok)
	}
	for _, bad := range []string{"", KeyPrefix, KeyPrefix + strings.Repeat("g", 64), "other:" + strings.Repeat("0", 64)} {
		if _, ok := parseName(bad); ok {
			t.Errorf("parseName(%q) accepted", bad)
		}
	}
}

func TestSumAllocatesNothing(t *testing.T) {
	h := NewHasher([]byte("0123456789abcdef"))
	id := []byte("user-42")
	if n := testing.AllocsPerRun(100, func() { h.Sum(id) }); n != 0 {
		t.Errorf("%v allocations per Sum", n)
	}
}

func BenchmarkSum(b *testing.B) {
	h := NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	id := []byte("3f0c2a9e-7d41-4b8e-9a55-0c1d2e3f4a5b")
	b.ReportAllocs()
	b.SetBytes(int64(len(id)))
	for b.Loop() {
		h.Sum(id)
	}
}

func BenchmarkCryptoHMAC(b *testing.B) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	id := []byte("3f0c2a9e-7d41-4b8e-9a55-0c1d2e3f4a5b")
	b.ReportAllocs()
	b.SetBytes(int64(len(id)))
	var out [32]byte
	for b.Loop() {
		m := hmac.New(sha256.New, secret)
		m.Write(id)
		m.Sum(out[:0])
	}
}
