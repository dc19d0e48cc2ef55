package main

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestZipfCDF(t *testing.T) {
	cdf := zipfCDF(4, 1)
	// 1, 1/2, 1/3, 1/4 over H(4) = 25/12.
	want := []float64{12.0 / 25, 18.0 / 25, 22.0 / 25, 1}
	for i := range want {
		if math.Abs(cdf[i]-want[i]) > 1e-12 {
			t.Fatalf("zipfCDF(4, 1) = %v, want %v", cdf, want)
		}
	}
	cdf = zipfCDF(97, 0.8)
	if !slices.IsSorted(cdf) || cdf[96] != 1 || cdf[0] <= 0 {
		t.Fatalf("zipfCDF(97, 0.8) is not a distribution: %v", cdf)
	}
}

func TestPopularityFixedBySeed(t *testing.T) {
	a, b, c := popularity(97, 17), popularity(97, 17), popularity(97, 18)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed ranked the pages differently")
	}
	if slices.Equal(a, c) {
		t.Fatal("another seed ranked the pages alike")
	}
	s := slices.Clone(a)
	slices.Sort(s)
	for i, v := range s {
		if v != i {
			t.Fatalf("popularity(97, 17) is not a permutation: %v", a)
		}
	}
}

func TestNewMixRejects(t *testing.T) {
	pages := []realPage{{name: "a"}, {name: "b"}}
	for _, tt := range []struct{ s, share float64 }{{0, 0.3}, {-1, 0.3}, {math.NaN(), 0.3}, {1, -0.1}, {1, 1.5}, {1, math.NaN()}} {
		if _, err := newMix(pages, tt.s, tt.share, 1); err == nil {
			t.Errorf("newMix(s=%v, share=%v) succeeded", tt.s, tt.share)
		}
	}
	if _, err := newMix(nil, 1, 0.3, 1); err == nil {
		t.Error("newMix without pages succeeded")
	}
}

func TestLuaScript(t *testing.T) {
	pages := []realPage{{name: "a"}, {name: "b"}, {name: "c"}}
	m, err := newMix(pages, 1, 0.3, 17)
	if err != nil {
		t.Fatal(err)
	}
	s := m.luaScript()
	for _, want := range []string{`"/p/a.html"`, `"/p/b.html"`, `"/p/c.html"`, "local optout = 0.3\n", "local seed = 17\n",
		`["Sec-GPC"] = "1"`, `["Accept-Encoding"] = "gzip"`, "RESULT requests=", "MIX sent="} {
		if !strings.Contains(s, want) {
			t.Errorf("the script has no %q:\n%s", want, s)
		}
	}
	// The CDF ends in exactly 1, so every draw finds a page.
	if !strings.Contains(s, "  1,\n}") {
		t.Errorf("the CDF does not end in 1:\n%s", s)
	}
}

func TestPopular(t *testing.T) {
	pages := []realPage{{name: "a", html: make([]byte, 100)}, {name: "b", html: make([]byte, 300)}}
	m, err := newMix(pages, 1, 0.3, 17)
	if err != nil {
		t.Fatal(err)
	}
	top, mean := m.popular(pages)
	// Rank 1 gets 2/3 of the requests, rank 2 a third.
	other := pages[0]
	if top.name == "a" {
		other = pages[1]
	}
	want := 2.0/3*float64(len(top.html)) + 1.0/3*float64(len(other.html))
	if math.Abs(mean-want) > 1e-9 || top.path() != m.paths[0] {
		t.Fatalf("popular = %s, %v; want %s, %v", top.name, mean, m.paths[0], want)
	}
}

func TestParseMix(t *testing.T) {
	m, err := parseMix("RESULT requests=10 duration_us=1 errors=0 p50_us=1 p99_us=1 p999_us=1\nMIX sent=1000 optout=301 top=190\n")
	if err != nil {
		t.Fatal(err)
	}
	if m != (mixSent{sent: 1000, optout: 301, top: 190}) {
		t.Fatalf("parseMix = %+v", m)
	}
	for _, bad := range []string{"", "MIX sent=x\n", "MIX sent\n"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q) succeeded", bad)
		}
	}
}

func TestEndsHTML(t *testing.T) {
	for in, want := range map[string]bool{
		"<p>x</body></html>\n": true, "</BODY></HTML>  \r\n": true, "</html><!-- -->": false, "": false, "html>": false,
	} {
		if got := endsHTML([]byte(in)); got != want {
			t.Errorf("endsHTML(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDescendants(t *testing.T) {
	stats := map[int]procStat{1: {ppid: 0}, 10: {ppid: 1}, 11: {ppid: 10}, 12: {ppid: 10}, 13: {ppid: 12}, 20: {ppid: 1}}
	got := descendants(10, stats)
	slices.Sort(got)
	if !slices.Equal(got, []int{11, 12, 13}) {
		t.Fatalf("descendants(10) = %v, want [11 12 13]", got)
	}
	if d := descendants(13, stats); len(d) != 0 {
		t.Fatalf("descendants of a leaf = %v", d)
	}
}
