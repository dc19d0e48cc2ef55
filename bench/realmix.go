package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// realPage is one saved news page of ../shared/data/pages.
type realPage struct {
	name string // file name without .html.gz
	gz   []byte // the file as stored (what the origin serves with gzip)
	html []byte // decoded
}

// path is where the origin serves the page.
func (p realPage) path() string { return "/p/" + p.name + ".html" }

// maxRealPage bounds one decoded page.
const maxRealPage = 32 << 20

// pagesDir is -pages, else $CONSENTGATE_PAGES, else ../shared/data/pages
// beside the module root.
func pagesDir(flagVal, root string) string {
	if flagVal != "" {
		return flagVal
	}
	if d := os.Getenv("CONSENTGATE_PAGES"); d != "" {
		return d
	}
	return filepath.Join(root, "..", "shared", "data", "pages")
}

// readRealPages reads every *.html.gz of dir, sorted by name.
func readRealPages(dir string) ([]realPage, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.html.gz"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.html.gz pages in %s (give -pages DIR or set CONSENTGATE_PAGES)", dir)
	}
	sort.Strings(files)
	pages := make([]realPage, 0, len(files))
	for _, f := range files {
		gz, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return nil, fmt.Errorf("cannot read page %s: %w", f, err)
		}
		html, err := io.ReadAll(io.LimitReader(zr, maxRealPage+1))
		if err != nil {
			return nil, fmt.Errorf("cannot decode page %s: %w", f, err)
		}
		if len(html) > maxRealPage {
			return nil, fmt.Errorf("page %s: over %d MiB decoded", f, maxRealPage>>20)
		}
		pages = append(pages, realPage{name: strings.TrimSuffix(filepath.Base(f), ".html.gz"), gz: gz, html: html})
	}
	return pages, nil
}

// popularity returns the indexes of n pages in order of popularity, most
// popular first: a shuffle with a fixed seed, so that popularity has
// nothing to do with a page's name or size and every run ranks alike.
func popularity(n int, seed uint64) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	r.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}

// zipfCDF is the cumulative distribution of a Zipf law of exponent s over
// ranks 1..n: the page of rank k is requested with probability
// k^-s / H(n, s). The last value is exactly 1.
func zipfCDF(n int, s float64) []float64 {
	cdf := make([]float64, n)
	sum := 0.0
	for k := 1; k <= n; k++ {
		sum += math.Pow(float64(k), -s)
		cdf[k-1] = sum
	}
	for i := range cdf {
		cdf[i] /= sum
	}
	cdf[n-1] = 1
	return cdf
}

// mix is the real-traffic request mix: which page each rank is, how
// popular, and the share of opted-out visitors.
type mix struct {
	paths  []string  // by rank
	cdf    []float64 // by rank
	optout float64   // share of requests with Sec-GPC: 1
	s      float64   // the Zipf exponent
	seed   uint64
	host   string
}

func newMix(pages []realPage, s, optout float64, seed uint64) (mix, error) {
	if len(pages) == 0 {
		return mix{}, errors.New("no pages")
	}
	if s <= 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return mix{}, fmt.Errorf("-zipf %v: want a positive exponent", s)
	}
	if optout < 0 || optout > 1 || math.IsNaN(optout) {
		return mix{}, fmt.Errorf("-optout-share %v: want a share between 0 and 1", optout)
	}
	m := mix{cdf: zipfCDF(len(pages), s), optout: optout, s: s, seed: seed, host: "news.bench.example"}
	for _, i := range popularity(len(pages), seed) {
		m.paths = append(m.paths, pages[i].path())
	}
	return m, nil
}

// popular returns the most popular page of pages (those newMix was given)
// and the decoded size of a request's page on average, in bytes.
func (m mix) popular(pages []realPage) (top realPage, mean float64) {
	byPath := map[string]realPage{}
	for _, p := range pages {
		byPath[p.path()] = p
	}
	prev := 0.0
	for i, path := range m.paths {
		mean += (m.cdf[i] - prev) * float64(len(byPath[path].html))
		prev = m.cdf[i]
	}
	return byPath[m.paths[0]], mean
}

// luaScript is the wrk script of the mix: each request draws a page by its
// Zipf rank (binary search of the CDF) and, with the opt-out share's
// probability, carries Sec-GPC: 1; every request takes gzip. Each wrk
// thread seeds its own generator from the mix's seed and its number, so a
// run's sequence of requests is fixed. done prints the RESULT line of
// wrkScript plus what the threads sent.
func (m mix) luaScript() string {
	var b strings.Builder
	b.WriteString("-- The real-traffic mix of go run ./bench -real; generated at run time.\n")
	b.WriteString("local paths = {\n")
	for _, p := range m.paths {
		fmt.Fprintf(&b, "  %q,\n", p)
	}
	b.WriteString("}\nlocal cdf = {\n")
	for _, c := range m.cdf {
		fmt.Fprintf(&b, "  %s,\n", strconv.FormatFloat(c, 'g', -1, 64))
	}
	fmt.Fprintf(&b, "}\nlocal optout = %s\nlocal seed = %d\nlocal host = %q\n", strconv.FormatFloat(m.optout, 'g', -1, 64), m.seed%(1<<31), m.host)
	b.WriteString(`local threads = {}
local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("id", nthreads)
  table.insert(threads, thread)
end

local plain, out = {}, {}
sent, sent_out, sent_top = 0, 0, 0
function init(args)
  math.randomseed(seed + id)
  for i, p in ipairs(paths) do
    plain[i] = wrk.format("GET", p, {["Host"] = host, ["Accept-Encoding"] = "gzip"})
    out[i] = wrk.format("GET", p, {["Host"] = host, ["Accept-Encoding"] = "gzip", ["Sec-GPC"] = "1"})
  end
end

function request()
  local u = math.random()
  local lo, hi = 1, #cdf
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  sent = sent + 1
  if lo == 1 then sent_top = sent_top + 1 end
  if math.random() < optout then
    sent_out = sent_out + 1
    return out[lo]
  end
  return plain[lo]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p50_us=%d p99_us=%d p999_us=%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
  local n, o, t = 0, 0, 0
  for _, th in ipairs(threads) do
    n = n + th:get("sent")
    o = o + th:get("sent_out")
    t = t + th:get("sent_top")
  end
  io.write(string.format("MIX sent=%d optout=%d top=%d\n", n, o, t))
end
`)
	return b.String()
}

// mixSent is what the wrk threads sent: requests, those with Sec-GPC: 1,
// those for the most popular page.
type mixSent struct{ sent, optout, top int64 }

// parseMix reads the MIX line of the mix's done hook.
func parseMix(out string) (mixSent, error) {
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "MIX ")
		if !ok {
			continue
		}
		var m mixSent
		for _, kv := range strings.Fields(rest) {
			k, v, ok := strings.Cut(kv, "=")
			n, err := strconv.ParseInt(v, 10, 64)
			if !ok || err != nil {
				return mixSent{}, fmt.Errorf("wrk mix: bad field %q", kv)
			}
			switch k {
			case "sent":
				m.sent = n
			case "optout":
				m.optout = n
			case "top":
				m.top = n
			}
		}
		return m, nil
	}
	return mixSent{}, fmt.Errorf("wrk printed no MIX line:\n%s", tailLines(out, 10))
}
