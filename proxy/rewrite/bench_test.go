package rewrite

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/tdewolff/parse/v2"
	tdhtml "github.com/tdewolff/parse/v2/html"
	"golang.org/x/net/html"
)

// benchPage is a 145 KB marketing page: mega-menu, feature grid with
// srcset images, trackers in head and body, a 40 KB inline JSON state.
func benchPage(b *testing.B) []byte {
	b.Helper()
	page, err := os.ReadFile("testdata/marketing-150k.input.html")
	if err != nil {
		b.Fatal(err)
	}
	return page
}

// BenchmarkRewrite rewrites the page for an opted-out visitor, in 16 KiB
// writes as a proxy would, reusing one Writer.
func BenchmarkRewrite(b *testing.B) {
	page := benchPage(b)
	p := optOut(b, true)
	w := NewWriter(io.Discard, p)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		w.Reset(io.Discard, p)
		for i := 0; i < len(page); i += 16 << 10 {
			w.Write(page[i:min(len(page), i+16<<10)])
		}
		if err := w.Close(); err != nil || len(w.Removed()) == 0 {
			b.Fatal("nothing removed", err)
		}
	}
}

// BenchmarkRewriteNeutralise is BenchmarkRewrite with every denied
// category neutralised.
func BenchmarkRewriteNeutralise(b *testing.B) {
	page := benchPage(b)
	p := neutral(b, true)
	w := NewWriter(io.Discard, p)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		w.Reset(io.Discard, p)
		w.Write(page)
		w.Close()
	}
}

// BenchmarkIndexByte is the floor: find every '<' and nothing else.
func BenchmarkIndexByte(b *testing.B) {
	page := benchPage(b)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		buf := page
		for {
			i := bytes.IndexByte(buf, '<')
			if i < 0 {
				break
			}
			n++
			buf = buf[i+1:]
		}
	}
	if n == 0 {
		b.Fatal("no tags")
	}
}

// BenchmarkXNetTokenizer tokenizes the page with golang.org/x/net/html.
func BenchmarkXNetTokenizer(b *testing.B) {
	page := benchPage(b)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		z := html.NewTokenizer(bytes.NewReader(page))
		for z.Next() != html.ErrorToken {
		}
	}
}

// BenchmarkTdewolffLexer lexes the page with github.com/tdewolff/parse/v2/html.
func BenchmarkTdewolffLexer(b *testing.B) {
	page := benchPage(b)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		l := tdhtml.NewLexer(parse.NewInputBytes(page))
		for {
			if tt, _ := l.Next(); tt == tdhtml.ErrorToken {
				break
			}
		}
	}
}

// TestAllocs checks that rewriting a page with a reused Writer allocates
// nothing once warm (BenchmarkRewrite: 0 allocs/op). AllocsPerRun divides
// the count by the runs in whole numbers, so an allocation now and then
// (rules.Set.Classify refilling a host from the shared cache after a
// front-table collision) reads as 0; one per page does not.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	page, err := os.ReadFile("testdata/marketing-150k.input.html")
	if err != nil {
		t.Fatal(err)
	}
	p := optOut(t, true)
	w := NewWriter(io.Discard, p)
	run := func() {
		w.Reset(io.Discard, p)
		for i := 0; i < len(page); i += 4 << 10 {
			w.Write(page[i:min(len(page), i+4<<10)])
		}
		w.Close()
	}
	run()
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Errorf("rewriting the page allocates %v times per run, want 0", n)
	}
}

// BenchmarkRewriteCorpus rewrites the corpus of real news pages (see
// corpusPages) for an opted-out visitor, in 32 KiB writes as the proxy
// does, reusing one Writer: the inline scripts of real pages, judged.
// Without the runtime guard, a script with no loader evidence is read to
// its end.
func BenchmarkRewriteCorpus(b *testing.B) { benchCorpus(b, false) }

// BenchmarkRewriteCorpusGuard is BenchmarkRewriteCorpus for pages with the
// runtime guard, where the classifier stops at a script's first
// first-party name.
func BenchmarkRewriteCorpusGuard(b *testing.B) { benchCorpus(b, true) }

func benchCorpus(b *testing.B, guard bool) {
	pages := corpusPages(b)
	var all [][]byte
	n := 0
	for _, p := range pages {
		all = append(all, p)
		n += len(p)
	}
	p := optOut(b, true)
	p.Guard = guard
	w := NewWriter(io.Discard, p)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		for _, page := range all {
			w.Reset(io.Discard, p)
			for i := 0; i < len(page); i += 32 << 10 {
				w.Write(page[i:min(len(page), i+32<<10)])
			}
			w.Close()
		}
	}
}
