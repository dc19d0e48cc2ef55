package main

import (
	"os"
	"slices"
	"testing"
)

// testPagesDir is ../shared/data/pages seen from this package.
const testPagesDir = "../../shared/data/pages"

// testPages reads the saved pages, sorted by name. Without them a
// benchmark is skipped on a developer machine and fails in CI (CI=true).
func testPages(tb testing.TB) []realPage {
	tb.Helper()
	dir := os.Getenv("CONSENTGATE_PAGES")
	if dir == "" {
		dir = testPagesDir
	}
	pages, err := readRealPages(dir)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("the saved pages: %v", err)
		}
		tb.Skipf("the saved pages are not here: %v", err)
	}
	return pages
}

// samplePages returns k pages spread over the sizes of pages: the
// smallest, the largest and k-2 evenly between, by decoded size.
func samplePages(pages []realPage, k int) []realPage {
	s := slices.Clone(pages)
	slices.SortStableFunc(s, func(a, b realPage) int { return len(a.html) - len(b.html) })
	if k >= len(s) {
		return s
	}
	out := make([]realPage, 0, k)
	for i := range k {
		out = append(out, s[i*(len(s)-1)/(k-1)])
	}
	return out
}

func TestSamplePages(t *testing.T) {
	var pages []realPage
	for i := range 10 {
		pages = append(pages, realPage{name: string(rune('a' + i)), html: make([]byte, 100-i)})
	}
	got := samplePages(pages, 4)
	var sizes []int
	for _, p := range got {
		sizes = append(sizes, len(p.html))
	}
	if !slices.Equal(sizes, []int{91, 94, 97, 100}) {
		t.Fatalf("samplePages sizes = %v, want [91 94 97 100]", sizes)
	}
	if len(samplePages(pages, 20)) != 10 {
		t.Fatal("asking for more pages than there are")
	}
}
