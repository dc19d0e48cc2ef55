package proxytest

import (
	"strings"
	"sync"
	"testing"
)

func TestBuffer(t *testing.T) {
	f := func(max int, writes []string, want string) {
		t.Helper()
		b := &Buffer{Max: max}
		for _, w := range writes {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Max %d: Write(%q) = %d, %v; want %d, nil", max, w, n, err, len(w))
			}
		}
		if got := b.String(); got != want {
			t.Errorf("Max %d, writes %q: kept %q, want %q", max, writes, got, want)
		}
	}
	f(0, nil, "")
	f(0, []string{"ab", "cd"}, "abcd")
	f(3, []string{"ab", "cd", "ef"}, "abcd") // over Max after the second: the third is dropped
	f(4, []string{"ab", "cd", "ef"}, "abcdef")
	f(-1, []string{"ab", "cd"}, "abcd")
}

// TestBufferConcurrent writes from several goroutines while reading; run
// with -race it fails if a write or read is not guarded.
func TestBufferConcurrent(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x")) //nolint:errcheck // never fails
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 400) {
		t.Errorf("kept %d bytes, want 400", len(got))
	}
}
