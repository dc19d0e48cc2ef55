package rewrite

import (
	"bytes"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"
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
	benchRewrite(b, [][]byte{benchPage(b)}, optOut(b, true), 16<<10)
}

// BenchmarkRewriteNeutralise is BenchmarkRewrite with every denied
// category neutralised, the page in one write.
func BenchmarkRewriteNeutralise(b *testing.B) {
	page := benchPage(b)
	benchRewrite(b, [][]byte{page}, neutral(b, true), len(page))
}

// benchRewrite rewrites pages in writes of chunk bytes, reusing one
// Writer, and checks that something was removed from the whole. Besides
// wall time it reports the process's CPU time per op (cpu-ns/op), which a
// shared machine disturbs far less: compare that column between runs.
func benchRewrite(b *testing.B, pages [][]byte, p Policy, chunk int) {
	n := 0
	for _, page := range pages {
		n += len(page)
	}
	w := NewWriter(io.Discard, p)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		removed := 0
		for _, page := range pages {
			w.Reset(io.Discard, p)
			for i := 0; i < len(page); i += chunk {
				w.Write(page[i:min(len(page), i+chunk)])
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			removed += len(w.Removed())
		}
		if removed == 0 {
			b.Fatal("nothing removed")
		}
	}
}

// BenchmarkRewriteTags rewrites markup of the usual shape and nothing to
// remove (cards with classes, SVG icons, links): what the tag states cost
// on their own: 8 000 tags in 143 KB.
func BenchmarkRewriteTags(b *testing.B) {
	page := []byte(strings.Repeat(`<div class="card card--wide" id="c12" data-track="x"><span class="t">text</span>`+
		`<svg class="i" aria-hidden="true"><use href="#i-1"></use></svg><a href="/x" class="l">go</a></div>`+"\n", 800))
	p := optOut(b, false)
	w := NewWriter(io.Discard, p)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		w.Reset(io.Discard, p)
		w.Write(page)
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if w.Changed() {
			b.Fatal("changed a page with nothing to remove")
		}
	}
}

// BenchmarkIndexByte is the floor: find every '<' of the page and nothing
// else.
func BenchmarkIndexByte(b *testing.B) { benchIndexByte(b, [][]byte{benchPage(b)}) }

// BenchmarkIndexByteCorpus is BenchmarkIndexByte over the corpus of real
// pages, the floor of BenchmarkRewriteCorpus.
func BenchmarkIndexByteCorpus(b *testing.B) { benchIndexByte(b, corpusList(b)) }

// BenchmarkIndexByteTags is the floor of a scanner that reads tags: from
// each '<' of the page, the end of the tag name and, for a tag of the
// usual shape, of its attributes (skipAttrs), with no decision and no
// output. Script and style content is read as if it were markup.
func BenchmarkIndexByteTags(b *testing.B) {
	page := benchPage(b)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	defer cpuPerOp(b)()
	n := 0
	for b.Loop() {
		for i := 0; ; {
			j := bytes.IndexByte(page[i:], '<')
			if j < 0 {
				break
			}
			i += j + 1
			if i < len(page) && page[i] == '/' {
				i++
			}
			if i = nameEnd(page, i); i < len(page) && page[i] != '>' {
				if g, _ := skipAttrs(page, i, false); g >= 0 {
					i = g
				}
			}
			n++
		}
	}
	if n == 0 {
		b.Fatal("no tags")
	}
}

func benchIndexByte(b *testing.B, pages [][]byte) {
	size := 0
	for _, page := range pages {
		size += len(page)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	defer cpuPerOp(b)()
	n := 0
	for b.Loop() {
		for _, page := range pages {
			for buf := page; ; {
				i := bytes.IndexByte(buf, '<')
				if i < 0 {
					break
				}
				n++
				buf = buf[i+1:]
			}
		}
	}
	if n == 0 {
		b.Fatal("no tags")
	}
}

// cpuPerOp starts counting the CPU time of the process (user and system);
// the function it returns reports it per op of the benchmark's loop, as
// cpu-ns/op. Run with -cpu 1, so that the only goroutine that works is the
// benchmark's.
func cpuPerOp(b *testing.B) func() {
	start := processCPU(b)
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// processCPU is the user and system CPU time the process used so far, in
// nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
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
	p := optOut(b, true)
	p.Guard = guard
	benchRewrite(b, corpusList(b), p, 32<<10)
}

// corpusList is the corpus of real pages in the order of their names.
func corpusList(tb testing.TB) [][]byte {
	pages := corpusPages(tb)
	names := slices.Sorted(maps.Keys(pages))
	all := make([][]byte, len(names))
	for i, name := range names {
		all[i] = pages[name]
	}
	return all
}
