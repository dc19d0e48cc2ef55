package rules

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/publicsuffix"
)

// pagesDir holds the 97 saved news pages shared with the project's tests
// (shared/data/pages beside the checkout; never copied into the repository).
func pagesDir() string { return sharedData("CONSENTGATE_PAGES", "pages") }

// readPages returns each page's site (from the file name, "bbc.com" for
// bbc.com-70cb2d5b.html.gz) and its HTML, or skips the test without them
// (fails with CI=true).
func readPages(t *testing.T) (sites []string, docs [][]byte) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(pagesDir(), "*.html.gz"))
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs the saved pages in %s (how to get them: .ci/run)", pagesDir())
		}
		t.Skipf("no saved pages in %s (set CONSENTGATE_PAGES; how to get them: .ci/run)", pagesDir())
	}
	for _, f := range files {
		b, err := readGzip(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		sites = append(sites, name[:strings.LastIndexByte(name, '-')])
		docs = append(docs, b)
	}
	return sites, docs
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return io.ReadAll(zr)
}

// hostRun returns the longest run of host bytes (letters, digits, '-' and
// '.') at the start of b, shortened to end in a label of two or more
// letters (a top-level domain), or nil when it has no dot or no such end.
func hostRun(b []byte) []byte {
	n := 0
	for n < len(b) && (b[n] == '.' || b[n] == '-' || b[n] >= '0' && b[n] <= '9' || b[n]|0x20 >= 'a' && b[n]|0x20 <= 'z') {
		n++
	}
	h := b[:n]
	for len(h) > 0 {
		dot := bytes.LastIndexByte(h, '.')
		if dot <= 0 {
			return nil
		}
		tld := h[dot+1:]
		letters := len(tld) >= 2
		for _, c := range tld {
			letters = letters && c|0x20 >= 'a' && c|0x20 <= 'z'
		}
		if letters {
			return h
		}
		h = h[:dot]
	}
	return nil
}

// scriptHosts calls add with every host in text written after "//" (also
// as "\/\/", "\x2f\x2f" or "\u002f\u002f" inside a JavaScript string) and,
// when parts is set, every string literal that starts with a host or a
// host part and a path: ".quantserve.com/aquant.js", 'cdn.krxd.net/x'.
func scriptHosts(text []byte, parts bool, add func([]byte)) {
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '/' && i+1 < len(text) && text[i+1] == '/':
			if h := hostRun(text[i+2:]); h != nil && h[0] != '.' && h[0] != '-' {
				add(h)
			}
			i++
		case c == '\\':
			for _, esc := range []string{`\/\/`, `\x2f\x2f`, `\x2F\x2F`, `\u002f\u002f`, `\u002F\u002F`} {
				if bytes.HasPrefix(text[i:], []byte(esc)) {
					if h := hostRun(text[i+len(esc):]); h != nil && h[0] != '.' && h[0] != '-' {
						add(h)
					}
					break
				}
			}
		case parts && (c == '"' || c == '\''):
			j := i + 1
			if j < len(text) && text[j] == '.' {
				j++
			}
			if h := hostRun(text[j:]); h != nil && h[0] != '.' && h[0] != '-' && j+len(h) < len(text) && text[j+len(h)] == '/' {
				add(h)
			}
		}
	}
}

// pageHosts returns the third-party hosts a page loads from or names in
// its executable inline scripts: URL attributes of elements that load
// something (src, data-src, srcset, poster, data, the href of link and
// base), url() in style, and in inline scripts every "//host" and every
// string literal that starts with a host or a host part. Links the
// visitor follows (a href) are not loads and are left out, as are hosts
// of the page's own registrable domain and names that end in no ICANN
// public suffix.
func pageHosts(site string, doc []byte) map[string]bool {
	own, _ := publicsuffix.EffectiveTLDPlusOne(site)
	hosts := make(map[string]bool)
	add := func(h string) {
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if suf, icann := publicsuffix.PublicSuffix(h); !icann || suf == h {
			return
		}
		if d, err := publicsuffix.EffectiveTLDPlusOne(h); err != nil || d == own {
			return
		}
		hosts[h] = true
	}
	addBytes := func(h []byte) { add(string(h)) }
	scan := func(b []byte, parts bool) { scriptHosts(b, parts, addBytes) }
	z := html.NewTokenizer(bytes.NewReader(doc))
	text := false // inside an executable script or a style element
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return hosts
		case html.StartTagToken, html.SelfClosingTagToken:
			name, more := z.TagName()
			tag := string(name)
			exec := true
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				switch string(k) {
				case "type":
					t := strings.ToLower(strings.TrimSpace(string(v)))
					exec = t == "" || strings.Contains(t, "javascript") || t == "module" || t == "text/plain"
				case "src", "data-src", "data-lazy-src", "srcset", "data-srcset", "poster", "data", "style":
					scan(append([]byte(" "), v...), false)
				case "href":
					if tag == "link" || tag == "base" {
						scan(v, false)
					}
				}
			}
			text = tt == html.StartTagToken && (tag == "script" && exec || tag == "style")
		case html.TextToken:
			if text {
				scan(z.Text(), true)
			}
		case html.EndTagToken:
			text = false
		}
	}
}

// hostRank is a host and the number of pages that use it.
type hostRank struct {
	host  string
	pages int
}

// rankHosts counts, for every third-party host, the pages that use it,
// most used first.
func rankHosts(sites []string, docs [][]byte) []hostRank {
	n := make(map[string]int)
	for i, doc := range docs {
		for h := range pageHosts(sites[i], doc) {
			n[h]++
		}
	}
	out := make([]hostRank, 0, len(n))
	for h, c := range n {
		out = append(out, hostRank{h, c})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].pages > out[j].pages || out[i].pages == out[j].pages && out[i].host < out[j].host
	})
	return out
}

// coverageDoc is the ranked host table of the saved pages.
const coverageDoc = "../docs/catalogue-coverage.md"

// Markers around the generated and the hand-written tables of coverageDoc.
const (
	leftOutBegin = "<!-- left-out:begin -->"
	leftOutEnd   = "<!-- left-out:end -->"
	hostsBegin   = "<!-- hosts:begin -->"
	hostsEnd     = "<!-- hosts:end -->"
)

// between returns the text of doc between the markers begin and end.
func between(t *testing.T, doc, begin, end string) (before, inside, after string) {
	t.Helper()
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s: no %s ... %s section", coverageDoc, begin, end)
	}
	return doc[:i+len(begin)], doc[i+len(begin) : j], doc[j:]
}

// tableRows returns the cells of the rows of a Markdown table, header and
// separator left out.
func tableRows(table string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(table, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	if len(rows) >= 2 {
		rows = rows[2:]
	}
	return rows
}

// TestPagesCoverage ranks every third-party host the 97 saved news pages
// load from or name in their inline scripts (pageHosts) and checks that
// each one is either in the catalogue or deliberately left out, by domain,
// in the hand-written table of docs/catalogue-coverage.md. The ranked host
// table in that file is generated: go test ./rules -run TestPagesCoverage
// -update rewrites it, and the test fails while it is out of date.
func TestPagesCoverage(t *testing.T) {
	sites, docs := readPages(t)
	s := testSet(t)
	raw, err := os.ReadFile(coverageDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	_, leftOutTable, _ := between(t, doc, leftOutBegin, leftOutEnd)
	leftOut := make(map[string]string) // domain → why
	for _, row := range tableRows(leftOutTable) {
		if len(row) != 2 || row[0] == "" || row[1] == "" {
			t.Errorf("%s: left-out row %q: want | domain | why |", coverageDoc, row)
			continue
		}
		d := strings.Trim(row[0], "`")
		if _, dup := leftOut[d]; dup {
			t.Errorf("%s: domain %s is left out twice", coverageDoc, d)
		}
		leftOut[d] = row[1]
	}
	used := make(map[string]bool)
	leftOutFor := func(h string) string {
		for p := h; ; {
			if _, ok := leftOut[p]; ok {
				return p
			}
			i := strings.IndexByte(p, '.')
			if i < 0 {
				return ""
			}
			p = p[i+1:]
		}
	}
	ranked := rankHosts(sites, docs)
	var b strings.Builder
	b.WriteString("\n| # | host | pages | vendor | category |\n| --: | --- | --: | --- | --- |\n")
	trackers, known, vendors := 0, 0, make(map[string]bool)
	for i, r := range ranked {
		v := s.VendorForHost([]byte(r.host))
		vendor, category := "—", ""
		switch d := leftOutFor(r.host); {
		case v != nil:
			vendor, category = "`"+v.ID+"`", v.Category.String()
			known++
			vendors[v.ID] = true
			if v.Category != Necessary && v.Category != Functional {
				trackers++
			}
			if d != "" && d == r.host {
				t.Errorf("%s is in the catalogue (%s) and left out in %s", r.host, v.ID, coverageDoc)
			}
		case d != "":
			used[d] = true
			category = "left out: see `" + d + "`"
		default:
			t.Errorf("host %s (%d pages) is neither in the catalogue nor left out in %s: add it to rules/catalogue.yaml, or its domain with the reason to the left-out table",
				r.host, r.pages, coverageDoc)
			category = "**unclassified**"
		}
		fmt.Fprintf(&b, "| %d | %s | %d | %s | %s |\n", i+1, r.host, r.pages, vendor, category)
	}
	for d := range leftOut {
		if !used[d] {
			t.Errorf("%s: left-out domain %s matches no host of the pages; remove the row", coverageDoc, d)
		}
	}
	summary := fmt.Sprintf("\n%d pages, %d third-party hosts: %d in the catalogue (%d vendors; %d hosts analytics, advertising or social, %d necessary or functional), %d left out.\n",
		len(docs), len(ranked), known, len(vendors), trackers, known-trackers, len(ranked)-known)
	t.Log(strings.TrimSpace(summary))
	before, old, after := between(t, doc, hostsBegin, hostsEnd)
	table := summary + b.String()
	if *update {
		if err := os.WriteFile(coverageDoc, []byte(before+table+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if old != table {
		t.Errorf("%s: the ranked host table is out of date; run go test ./rules -run TestPagesCoverage -update and review the diff", coverageDoc)
	}
}

// TestPageHosts checks the extraction rules that TestPagesCoverage and
// docs/catalogue-coverage.md rely on.
func TestPageHosts(t *testing.T) {
	page := `<html><head>
<script src="https://cdn.krxd.net/controltag/x.js"></script>
<link rel="preconnect" href="//beacon.krxd.net">
<script>var q = (https ? "https://secure" : "http://pixel") + ".quantserve.com/aquant.js";
document.write('<scr' + 'ipt src="' + '//www.googletagservices.com/tag/js/gpt.js' + '">');
var s = "https:\/\/cdn.bizible.com\/scripts\/bizible.js", t = "\x2f\x2fs0.2mdn.net/x", u = "\u002f\u002fz.moatads.com/y";
var d = 'ads.example.net/path'; var notahost = "v1.2/x"; var file = "app.min.js/";</script>
<script type="application/ld+json">{"logo": "https://json.example.org/logo.png"}</script>
<style>body { background: url(//img.cdn-example.com/bg.png) }</style>
</head><body>
<a href="https://link.example.com/">not a load</a>
<img srcset="https://pic.example.com/a.png 1x, //pic2.example.com/b.png 2x" src="/local.png">
<img src="https://static.site.example/own.png">
</body></html>`
	got := pageHosts("www.site.example", []byte(page))
	want := []string{
		"cdn.krxd.net", "beacon.krxd.net", "quantserve.com", "www.googletagservices.com", "cdn.bizible.com",
		"s0.2mdn.net", "z.moatads.com", "ads.example.net", "img.cdn-example.com", "pic.example.com", "pic2.example.com",
	}
	for _, h := range want {
		if !got[h] {
			t.Errorf("pageHosts misses %s", h)
		}
		delete(got, h)
	}
	for h := range got {
		t.Errorf("pageHosts found %s, which the page does not load", h)
	}
}
