package main

import (
	stdgzip "compress/gzip"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/consentgate/consentgate/bench/internal/page"
	"github.com/klauspost/compress/gzip"
)

// The bytes-versus-CPU table of the gzip re-encode of an opted-out page:
// each encoder on the harness's 150 KB marketing page and on a sample of
// the saved news pages, fed 32 KiB at a time as the proxy writes, through
// one writer reset per page as the proxy pools them. Besides ns/op (wall)
// each reports gz-bytes (the output) and cpu-ns/op (user + system time of
// the process per page: steadier than wall time on a shared machine).
//
//	go test -run '^$' -bench GzipLevels -count 6 ./bench > gzip.txt
//	go run ./bench/figures -gzip-table gzip.txt

// gzipEncoder is one encoder and level of the table.
type gzipEncoder struct {
	name string
	new  func(io.Writer) (io.WriteCloser, func(io.Writer))
}

func klauspost(level int) func(io.Writer) (io.WriteCloser, func(io.Writer)) {
	return func(w io.Writer) (io.WriteCloser, func(io.Writer)) {
		zw, err := gzip.NewWriterLevel(w, level)
		if err != nil {
			panic(err)
		}
		return zw, zw.Reset
	}
}

func stdlib(level int) func(io.Writer) (io.WriteCloser, func(io.Writer)) {
	return func(w io.Writer) (io.WriteCloser, func(io.Writer)) {
		zw, err := stdgzip.NewWriterLevel(w, level)
		if err != nil {
			panic(err)
		}
		return zw, zw.Reset
	}
}

var gzipEncoders = []gzipEncoder{
	{"klauspost-stateless", klauspost(gzip.StatelessCompression)},
	{"klauspost-huffman", klauspost(gzip.HuffmanOnly)},
	{"klauspost-1", klauspost(gzip.BestSpeed)},
	{"klauspost-2", klauspost(2)},
	{"klauspost-3", klauspost(3)},
	{"klauspost-5", klauspost(5)}, // klauspost's DefaultCompression
	{"klauspost-6", klauspost(6)},
	{"stdlib-1", stdlib(stdgzip.BestSpeed)},
	{"stdlib-6", stdlib(stdgzip.DefaultCompression)},
}

// gzipPages are the pages of the table: the harness's gzip page and seven
// saved pages from the smallest to the largest.
func gzipPages(b *testing.B) []realPage {
	pages := []realPage{{name: "bench-marketing-150k", html: page.Marketing(150 << 10)}}
	return append(pages, samplePages(testPages(b), 7)...)
}

func BenchmarkGzipLevels(b *testing.B) {
	for _, pg := range gzipPages(b) {
		for _, enc := range gzipEncoders {
			b.Run(fmt.Sprintf("page=%s/enc=%s", pg.name, enc.name), func(b *testing.B) {
				var out countWriter
				zw, reset := enc.new(&out)
				b.SetBytes(int64(len(pg.html)))
				b.ReportAllocs()
				cpu0 := processCPU(b)
				for b.Loop() {
					out = 0
					reset(&out)
					write(b, zw, pg.html)
					if err := zw.Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(out), "gz-bytes")
				b.ReportMetric(float64(len(pg.html)), "html-bytes")
			})
		}
	}
}

// countWriter counts what is written to it and keeps nothing.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// processCPU is the user + system time of the process so far, in ns.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
