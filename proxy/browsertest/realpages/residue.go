package realpages

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// TextFloor is the least rendered-text ratio (GPC load over plain load, in
// percent) a page may show without being residue.
const TextFloor = 99

// Residue is what one page still does for a visitor sending Sec-GPC: 1
// that the goal says it must not: hosts the catalogue denies and hosts the
// list flags that the browser requested or connected to, exceptions the
// unsignalled load does not throw, and rendered text below TextFloor.
type Residue struct {
	Catalogue  []string `json:"catalogue,omitempty"`
	List       []string `json:"list,omitempty"`
	Exceptions []string `json:"exceptions,omitempty"`
	// LowText says the text ratio is below TextFloor; Text is then the
	// ratio in whole percent, rounded down.
	LowText bool `json:"low_text,omitempty"`
	Text    int  `json:"text,omitempty"`
}

// Empty reports whether there is no residue.
func (r Residue) Empty() bool {
	return len(r.Catalogue) == 0 && len(r.List) == 0 && len(r.Exceptions) == 0 && !r.LowText
}

// TextPercent is a ratio in whole percent, rounded down (0.989 is 98).
// A hair under a whole number (float error) counts as that number.
func TextPercent(ratio float64) int {
	return int(math.Floor(ratio*100 + 1e-9))
}

// Residue returns the page's residue (zero for a page that failed).
func (r *Result) Residue() Residue {
	var out Residue
	if r.GPC == nil || r.Plain == nil {
		return out
	}
	for _, q := range r.GPC.Requests {
		if q.Vendor != "" && !slices.Contains(out.Catalogue, q.Host) {
			out.Catalogue = append(out.Catalogue, q.Host)
		}
		if q.Rule != "" && !slices.Contains(out.List, q.Host) {
			out.List = append(out.List, q.Host)
		}
	}
	for _, q := range r.GPC.ConnectOnly {
		if q.Vendor != "" && !slices.Contains(out.Catalogue, q.Host) {
			out.Catalogue = append(out.Catalogue, q.Host)
		}
		if q.Rule != "" && !slices.Contains(out.List, q.Host) {
			out.List = append(out.List, q.Host)
		}
	}
	sort.Strings(out.Catalogue)
	sort.Strings(out.List)
	out.Exceptions = slices.Clone(r.NewExceptions)
	if p := TextPercent(r.TextRatio); p < TextFloor {
		out.LowText, out.Text = true, p
	}
	return out
}

// Golden is the known residue, by page: what the ratchet test accepts.
type Golden map[string]Residue

// goldenHeader heads the golden file.
const goldenHeader = `# Known residue of consentgate on the real pages, loaded in headless Chromium
# with Sec-GPC: 1: per page, hosts the catalogue denies ("catalogue") and hosts
# EasyPrivacy/EasyList flag ("list") that the browser still requested,
# exceptions the unsignalled load does not throw ("exception"), and rendered
# text below 99 % of the unsignalled load's ("text", in whole percent).
# TestRealPages fails on anything not listed here. When consentgate improves,
# regenerate it and review the diff:
#
#	go test ./proxy/browsertest/realpages -run TestRealPages -update -timeout 30m
#
# page	kind	value
`

// ReadGolden reads a golden file; a missing file is an empty Golden.
func ReadGolden(file string) (Golden, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return Golden{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseGolden(f, file)
}

// ParseGolden reads the golden format: "page<TAB>kind<TAB>value" lines,
// '#' comments.
func ParseGolden(r io.Reader, name string) (Golden, error) {
	g := Golden{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 || f[0] == "" || f[2] == "" {
			return nil, fmt.Errorf("%s:%d: want page<TAB>kind<TAB>value, got %q", name, n, line)
		}
		res := g[f[0]]
		switch f[1] {
		case "catalogue":
			res.Catalogue = append(res.Catalogue, f[2])
		case "list":
			res.List = append(res.List, f[2])
		case "exception":
			res.Exceptions = append(res.Exceptions, f[2])
		case "text":
			p, err := strconv.Atoi(f[2])
			if err != nil || p < 0 || p >= TextFloor {
				return nil, fmt.Errorf("%s:%d: text wants a whole percent below %d, got %q", name, n, TextFloor, f[2])
			}
			res.LowText, res.Text = true, p
		default:
			return nil, fmt.Errorf("%s:%d: unknown kind %q (want catalogue, list, exception or text)", name, n, f[1])
		}
		g[f[0]] = res
	}
	return g, sc.Err()
}

// Write writes g in the golden format, sorted.
func (g Golden) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(goldenHeader)
	pages := make([]string, 0, len(g))
	for p, r := range g {
		if !r.Empty() {
			pages = append(pages, p)
		}
	}
	sort.Strings(pages)
	for _, p := range pages {
		r := g[p]
		for _, kv := range []struct {
			kind string
			vals []string
		}{{"catalogue", r.Catalogue}, {"list", r.List}, {"exception", r.Exceptions}} {
			vals := slices.Clone(kv.vals)
			sort.Strings(vals)
			for _, v := range slices.Compact(vals) {
				fmt.Fprintf(bw, "%s\t%s\t%s\n", p, kv.kind, v)
			}
		}
		if r.LowText {
			fmt.Fprintf(bw, "%s\ttext\t%d\n", p, r.Text)
		}
	}
	return bw.Flush()
}

// Beyond returns what got has that the known residue does not: hosts and
// exceptions not listed, and a text ratio below both TextFloor and the
// listed one.
func (known Residue) Beyond(got Residue) Residue {
	var out Residue
	for _, h := range got.Catalogue {
		if !slices.Contains(known.Catalogue, h) {
			out.Catalogue = append(out.Catalogue, h)
		}
	}
	for _, h := range got.List {
		if !slices.Contains(known.List, h) {
			out.List = append(out.List, h)
		}
	}
	for _, e := range got.Exceptions {
		if !slices.Contains(known.Exceptions, e) {
			out.Exceptions = append(out.Exceptions, e)
		}
	}
	if got.LowText && (!known.LowText || got.Text < known.Text) {
		out.LowText, out.Text = true, got.Text
	}
	return out
}

// Union returns what r or other has: the golden file is written from
// several runs, so what any run saw is known.
func (r Residue) Union(other Residue) Residue {
	union := func(a, b []string) []string {
		out := slices.Concat(a, b)
		sort.Strings(out)
		return slices.Compact(out)
	}
	out := Residue{
		Catalogue:  union(r.Catalogue, other.Catalogue),
		List:       union(r.List, other.List),
		Exceptions: union(r.Exceptions, other.Exceptions),
		LowText:    r.LowText,
		Text:       r.Text,
	}
	if other.LowText && (!out.LowText || other.Text < out.Text) {
		out.LowText, out.Text = true, other.Text
	}
	return out
}

// intersect returns what r and other both have.
func (r Residue) intersect(other Residue) Residue {
	both := func(a, b []string) []string {
		var out []string
		for _, x := range a {
			if slices.Contains(b, x) {
				out = append(out, x)
			}
		}
		return out
	}
	out := Residue{
		Catalogue:  both(r.Catalogue, other.Catalogue),
		List:       both(r.List, other.List),
		Exceptions: both(r.Exceptions, other.Exceptions),
	}
	if r.LowText && other.LowText {
		out.LowText, out.Text = true, max(r.Text, other.Text)
	}
	return out
}
