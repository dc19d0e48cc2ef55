package main

import (
	"bytes"
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const pageOut = `goos: linux
pkg: github.com/consentgate/consentgate/bench
BenchmarkPageCPU/page=a/mode=direct-2   	     200	     20000 ns/op	     20000 cpu-ns/op	     30000 html-bytes	    1760 B/op	       0 allocs/op
BenchmarkPageCPU/page=a/mode=plain-2    	     200	     60000 ns/op	     70000 cpu-ns/op	     30000 html-bytes	    4401 B/op	       9 allocs/op
BenchmarkPageCPU/page=a/mode=cold-2     	     200	   1000000 ns/op	    920000 cpu-ns/op	     30000 html-bytes	   71539 B/op	      38 allocs/op
BenchmarkPageCPU/page=a/mode=cold-2     	     200	   1000000 ns/op	    940000 cpu-ns/op	     30000 html-bytes	   71539 B/op	      38 allocs/op
BenchmarkPageCPU/page=a/mode=cold-2     	     200	   1000000 ns/op	    990000 cpu-ns/op	     30000 html-bytes	   71539 B/op	      38 allocs/op
BenchmarkPageCPU/page=b/mode=direct-2   	     200	     20000 ns/op	     30000 cpu-ns/op	    900000 html-bytes	    1760 B/op	       0 allocs/op
BenchmarkPageCPU/page=b/mode=plain-2    	     200	     60000 ns/op	    130000 cpu-ns/op	    900000 html-bytes	    4401 B/op	       9 allocs/op
BenchmarkPageCPU/page=b/mode=cold-2     	     200	   1000000 ns/op	   9030000 cpu-ns/op	    900000 html-bytes	   71539 B/op	      38 allocs/op
PASS
`

const warmOut = `BenchmarkPageCPU/page=a/mode=warm-2     	     200	     60000 ns/op	     90000 cpu-ns/op	     30000 html-bytes
BenchmarkPageCPU/page=b/mode=warm-2     	     200	     60000 ns/op	    150000 cpu-ns/op	    900000 html-bytes
`

func TestParseBench(t *testing.T) {
	rs, err := parseBench(strings.NewReader(pageOut + "BenchmarkX-2 log line\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 8 {
		t.Fatalf("%d results, want 8", len(rs))
	}
	r := rs[1]
	if r.bench != "PageCPU" || r.keys["page"] != "a" || r.keys["mode"] != "plain" || r.metrics["cpu-ns/op"] != 70000 || r.metrics["allocs/op"] != 9 {
		t.Fatalf("result = %+v", r)
	}
	if _, err := parseBench(strings.NewReader("BenchmarkX-2 10 5 ns/op 7\n")); err == nil {
		t.Error("a value without a unit parsed")
	}
	if _, err := parseBench(strings.NewReader("BenchmarkX-2 10 five ns/op\n")); err == nil {
		t.Error("a value that is no number parsed")
	}
}

func TestPageCPU(t *testing.T) {
	rs, _ := parseBench(strings.NewReader(pageOut))
	pts, err := pageCPU(rs)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 || pts[0].page != "a" || pts[0].plain != 50 || pts[0].cold != 920 || !math.IsNaN(pts[0].warm) ||
		pts[1].htmlBytes != 900000 || pts[1].cold != 9000 {
		t.Fatalf("pageCPU = %+v", pts)
	}
	rs, _ = parseBench(strings.NewReader(pageOut + warmOut))
	if pts, _ = pageCPU(rs); pts[0].warm != 70 || pts[1].warm != 120 {
		t.Fatalf("warm = %v, %v; want 70, 120", pts[0].warm, pts[1].warm)
	}
	rs, _ = parseBench(strings.NewReader("BenchmarkPageCPU/page=a/mode=plain-2 1 1 cpu-ns/op\n"))
	if _, err := pageCPU(rs); err == nil {
		t.Error("a page without its direct baseline charted")
	}
}

// TestChartWarmGap: without warm results the chart says so in words and
// draws no warm point; with them it draws one per page.
func TestChartWarmGap(t *testing.T) {
	for _, tt := range []struct {
		in       string
		gap      bool
		triangle int
	}{{pageOut, true, 0}, {pageOut + warmOut, false, 2 + 1}} {
		rs, _ := parseBench(strings.NewReader(tt.in))
		pts, err := pageCPU(rs)
		if err != nil {
			t.Fatal(err)
		}
		svg := svgChart(pts, "t", []string{"go test … & more"})
		if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if got := strings.Contains(svg, "not measured"); got != tt.gap {
			t.Errorf("gap label present %v, want %v", got, tt.gap)
		}
		if got := strings.Count(svg, "l4 7h-8z"); got != tt.triangle {
			t.Errorf("%d warm markers, want %d (a point per page and the legend's)", got, tt.triangle)
		}
		if strings.Count(svg, "<rect x=") < 2+1 {
			t.Error("the cold points are missing")
		}
	}
}

const gzipOut = `BenchmarkGzipLevels/page=bench-marketing-150k/enc=klauspost-1-2  20  447356 ns/op  345.39 MB/s  400000 cpu-ns/op  30000 gz-bytes  150000 html-bytes
BenchmarkGzipLevels/page=bench-marketing-150k/enc=stdlib-6-2  20  447356 ns/op  345.39 MB/s  4000000 cpu-ns/op  20000 gz-bytes  150000 html-bytes
BenchmarkGzipLevels/page=x/enc=klauspost-1-2  20  300000 ns/op  345.39 MB/s  200000 cpu-ns/op  20000 gz-bytes  100000 html-bytes
BenchmarkGzipLevels/page=y/enc=klauspost-1-2  20  300000 ns/op  345.39 MB/s  200000 cpu-ns/op  20000 gz-bytes  100000 html-bytes
BenchmarkGzipLevels/page=x/enc=stdlib-6-2  20  300000 ns/op  345.39 MB/s  1000000 cpu-ns/op  15000 gz-bytes  100000 html-bytes
BenchmarkGzipLevels/page=y/enc=stdlib-6-2  20  300000 ns/op  345.39 MB/s  1000000 cpu-ns/op  15000 gz-bytes  100000 html-bytes
`

func TestGzipTable(t *testing.T) {
	rs, _ := parseBench(strings.NewReader(gzipOut))
	rows, err := gzipRows(rs)
	if err != nil {
		t.Fatal(err)
	}
	got := gzipTable(rows, "klauspost-1")
	for _, want := range []string{
		"| 2 saved pages: bytes |",
		"| klauspost-1 | 30000 | 400 | 40000 | 20.0% | 400 | 500 | 1.00× | 1.00× |",
		"| stdlib-6 | 20000 | 4000 | 30000 | 15.0% | 2000 | 100 | 0.75× | 5.00× |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the table has no %q:\n%s", want, got)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "p.txt")
	os.WriteFile(in, []byte(pageOut), 0o644) //nolint:errcheck
	out := filepath.Join(dir, "c.svg")
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-page-cpu", in, "-svg", out, "-note", "a note"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(out); err != nil || !bytes.Contains(b, []byte("a note")) {
		t.Fatalf("the chart: %v %.100s", err, b)
	}
	if err := run(nil, &stdout, &stderr); err == nil {
		t.Error("no input accepted")
	}
	if err := run([]string{"-gzip-table", in}, &stdout, &stderr); err == nil {
		t.Error("a gzip table from PageCPU results")
	}
}
