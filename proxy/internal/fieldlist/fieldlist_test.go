package fieldlist

import (
	"slices"
	"testing"
)

func TestNext(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		var got []string
		for rest := []byte(in); len(rest) > 0; {
			var e []byte
			e, rest = Next(rest)
			got = append(got, string(e))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	f("")
	f("gzip", "gzip")
	f(" gzip , br;q=0.5,zstd ", "gzip", "br;q=0.5", "zstd")
	f("a,,b", "a", "", "b")
	f("a,", "a")
	f("\tkeep-alive,\tUpgrade", "keep-alive", "Upgrade")
}

func TestNextAllocatesNothing(t *testing.T) {
	list := []byte("private, max-age=0, no-cache")
	if n := testing.AllocsPerRun(100, func() {
		for rest := list; len(rest) > 0; {
			_, rest = Next(rest)
		}
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}
