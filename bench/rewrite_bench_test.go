package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/consentgate/consentgate/bench/internal/page"
	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
	rulesconfig "github.com/consentgate/consentgate/rules/config"
	"github.com/klauspost/compress/gzip"
)

// The micro-benchmarks of the opted-out body path on the harness's 150 KB
// marketing page, each beside its same-run baseline:
//
//	go test -run '^$' -bench . -benchmem -count 10 ./bench > new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest old.txt new.txt

func benchPolicy(b *testing.B) rewrite.Policy {
	b.Helper()
	set, err := rules.Compile(rulesconfig.Default("http://127.0.0.1:1"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(set.Close)
	return rewrite.Policy{Set: set, Site: set.Site([]byte("bench.example")), Deny: rules.DefaultDeny}
}

// write feeds pg to w 32 KiB at a time, as the proxy's body pipeline does.
func write(b *testing.B, w io.Writer, pg []byte) {
	for i := 0; i < len(pg); i += 32 << 10 {
		if _, err := w.Write(pg[i:min(len(pg), i+32<<10)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCopy150K is the baseline: the page moved 32 KiB at a time.
func BenchmarkCopy150K(b *testing.B) {
	pg := page.Marketing(150 << 10)
	var out bytes.Buffer
	b.SetBytes(int64(len(pg)))
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		write(b, &out, pg)
	}
}

// BenchmarkRewrite150K is one opted-out page through a new rewrite.Writer,
// as proxy/body.go does per request.
func BenchmarkRewrite150K(b *testing.B) {
	pg, p := page.Marketing(150<<10), benchPolicy(b)
	var out bytes.Buffer
	b.SetBytes(int64(len(pg)))
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		w := rewrite.NewWriter(&out, p)
		write(b, w, pg)
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRewriteReset150K reuses one Writer through Reset.
func BenchmarkRewriteReset150K(b *testing.B) {
	pg, p := page.Marketing(150<<10), benchPolicy(b)
	var out bytes.Buffer
	w := rewrite.NewWriter(&out, p)
	b.SetBytes(int64(len(pg)))
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		w.Reset(&out, p)
		write(b, w, pg)
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// gzipPage runs the opted-out gzip path: decode, rewrite, re-encode at
// BestSpeed. With reuse, the gzip reader and writer and the rewriter are
// reset instead of allocated for every page.
func gzipPage(b *testing.B, reuse bool) {
	raw, p := page.Marketing(150<<10), benchPolicy(b)
	gz := page.Gzip(raw)
	var out bytes.Buffer
	var zr gzip.Reader
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	rw := rewrite.NewWriter(zw, p)
	chunk := make([]byte, 32<<10)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		var r *gzip.Reader
		var err error
		if reuse {
			err = zr.Reset(bytes.NewReader(gz))
			r = &zr
			zw.Reset(&out)
			rw.Reset(zw, p)
		} else {
			r, err = gzip.NewReader(bytes.NewReader(gz))
			zw, _ = gzip.NewWriterLevel(&out, gzip.BestSpeed)
			rw = rewrite.NewWriter(zw, p)
		}
		if err != nil {
			b.Fatal(err)
		}
		for {
			n, err := r.Read(chunk)
			if n > 0 {
				if _, werr := rw.Write(chunk[:n]); werr != nil {
					b.Fatal(werr)
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := rw.Close(); err != nil {
			b.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGzipPage150K allocates the gzip reader, writer and rewriter per
// page, as proxy/body.go does.
func BenchmarkGzipPage150K(b *testing.B) { gzipPage(b, false) }

// BenchmarkGzipPageReuse150K resets them instead.
func BenchmarkGzipPageReuse150K(b *testing.B) { gzipPage(b, true) }
