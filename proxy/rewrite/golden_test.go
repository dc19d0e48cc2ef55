package rewrite

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type page struct {
	name string
	in   []byte
	p    Policy
}

// pages returns the corpus: testdata/NAME.input.html. A name starting
// with "neutralise-" runs with every denied category neutralised, one
// starting with "nostub-" without the stub, one starting with
// "placeholder-" with placeholders (testPlaceholders); the others remove,
// with stub.
func pages(t testing.TB) []page {
	t.Helper()
	files, err := filepath.Glob("testdata/*.input.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no pages in testdata: %v", err)
	}
	var ps []page
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".input.html")
		var p Policy
		switch {
		case strings.HasPrefix(name, "neutralise-"):
			p = neutral(t, true)
		case strings.HasPrefix(name, "nostub-"):
			p = optOut(t, false)
		case strings.HasPrefix(name, "placeholder-"):
			p = optOut(t, true)
			p.Placeholders = testPlaceholders
		default:
			p = optOut(t, true)
		}
		ps = append(ps, page{name, in, p})
	}
	return ps
}

// TestGolden rewrites each page of the corpus and compares the output with
// testdata/NAME.golden.html. Each page is rewritten twice, without and
// with the runtime guard (Policy.Guard); where the guard changes the
// output, that output is testdata/NAME.guard.golden.html, which exists
// only then.
func TestGolden(t *testing.T) {
	for _, pg := range pages(t) {
		t.Run(pg.name, func(t *testing.T) {
			var out, guarded bytes.Buffer
			if _, err := Rewrite(&out, pg.in, pg.p); err != nil {
				t.Fatal(err)
			}
			gp := pg.p
			gp.Guard = true
			if _, err := Rewrite(&guarded, pg.in, gp); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", pg.name+".golden.html"), out.Bytes())
			gf := filepath.Join("testdata", pg.name+".guard.golden.html")
			if !bytes.Equal(out.Bytes(), guarded.Bytes()) {
				golden(t, gf, guarded.Bytes())
				return
			}
			if *update {
				os.Remove(gf)
			} else if _, err := os.Stat(gf); err == nil {
				t.Errorf("%s: the guard changes nothing, but %s exists (run with -update)", pg.name, gf)
			}
		})
	}
}

// golden compares got with the file gf, or writes it under -update.
func golden(t *testing.T, gf string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(gf, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(gf)
	if err != nil {
		t.Fatalf("%v (run go test ./proxy/rewrite -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update and review the diff)\n%s", gf, firstDiff(got, want))
	}
}

func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-80)
	return "at byte " + itoa(i) + "\n got: " + string(got[lo:min(len(got), i+80)]) + "\nwant: " + string(want[lo:min(len(want), i+80)])
}

func itoa(i int) string { return strconv.Itoa(i) }

// rewriteSplit writes in to a Writer in the parts given by cuts (sorted
// offsets) and returns the output.
func rewriteSplit(t testing.TB, w *Writer, in []byte, p Policy, cuts []int) []byte {
	var out bytes.Buffer
	w.Reset(&out, p)
	prev := 0
	for _, c := range append(cuts, len(in)) {
		if _, err := w.Write(in[prev:c]); err != nil {
			t.Fatal(err)
		}
		prev = c
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestSplit checks that every split of every page gives the same output as
// the whole page: each single split point of small pages, 1000 random
// multi-part splits of every page, and 1-byte writes. Pages whose output
// the runtime guard changes (NAME.guard.golden.html) are checked with the
// guard too.
func TestSplit(t *testing.T) {
	w := NewWriter(nil, Policy{})
	var all []page
	for _, pg := range pages(t) {
		all = append(all, pg)
		if _, err := os.Stat(filepath.Join("testdata", pg.name+".guard.golden.html")); err == nil {
			pg.name += "/guard"
			pg.p.Guard = true
			all = append(all, pg)
		}
	}
	for _, pg := range all {
		t.Run(pg.name, func(t *testing.T) {
			want := append([]byte(nil), rewriteSplit(t, w, pg.in, pg.p, nil)...)
			wantRm := removals(w)
			check := func(cuts []int) {
				t.Helper()
				got := rewriteSplit(t, w, pg.in, pg.p, cuts)
				if !bytes.Equal(got, want) {
					t.Fatalf("split at %v: output differs from whole page\n%s", cuts[:min(len(cuts), 10)], firstDiff(got, want))
				}
				if removals(w) != wantRm {
					t.Fatalf("split at %v: %d removals, whole page %d", cuts[:min(len(cuts), 10)], removals(w), wantRm)
				}
			}
			n := len(pg.in)
			if n <= 8<<10 || !testing.Short() && n <= 32<<10 {
				for c := 0; c <= n; c++ {
					check([]int{c})
				}
			}
			rng := rand.New(rand.NewPCG(uint64(n), 7))
			runs := 1000
			if testing.Short() || n > 64<<10 {
				runs = 100
			}
			for range runs {
				var cuts []int
				for c := 0; ; {
					c += 1 + rng.IntN(1+rng.IntN(4096))
					if c >= n {
						break
					}
					cuts = append(cuts, c)
				}
				check(cuts)
			}
			ones := make([]int, 0, n)
			for c := 1; c < n; c++ {
				ones = append(ones, c)
			}
			check(ones)
		})
	}
}

// TestPassThrough checks that nothing changes for a visitor who denies
// nothing, and that for an opted-out visitor the output is the input with
// whole elements and attributes removed, plus the stub and the
// neutralising attributes.
func TestPassThrough(t *testing.T) {
	for _, pg := range pages(t) {
		for _, p := range []Policy{{}, {Set: pg.p.Set, Site: pg.p.Site, Stub: true}} {
			var out bytes.Buffer
			w := NewWriter(&out, p)
			w.Write(pg.in)
			w.Close()
			if !bytes.Equal(out.Bytes(), pg.in) || w.Changed() || len(w.Removed()) > 0 {
				t.Errorf("%s: deny nothing: output differs from input\n%s", pg.name, firstDiff(out.Bytes(), pg.in))
			}
		}
		var out bytes.Buffer
		w := NewWriter(&out, pg.p)
		w.Write(pg.in)
		w.Close()
		if w.Changed() != !bytes.Equal(out.Bytes(), pg.in) {
			t.Errorf("%s: Changed() = %v, but output equal to input is %v", pg.name, w.Changed(), bytes.Equal(out.Bytes(), pg.in))
		}
		if bad := notFromInput(out.Bytes(), pg.in, pg.p); bad != "" {
			t.Errorf("%s: %s", pg.name, bad)
		}
	}
}

// testPlaceholders are the placeholders of the "placeholder-" pages.
var testPlaceholders = &Placeholders{Reason: "You opted out of the sale and sharing of your personal information (Global Privacy Control)."}

// placeholderMarkup matches what a placeholder adds around the element it
// keeps: its start through the template's start tag, and the template's
// end tag through the placeholder's end (text and button are escaped, so
// they hold no '<').
var placeholderMarkup = regexp.MustCompile(`<span class="consentgate-placeholder" data-consentgate-embed="[a-z0-9._-]+" style="[^"<>]*"><template data-consentgate-original>|</template><span class="consentgate-placeholder-text">[^<]*</span>(<button type="button" class="consentgate-placeholder-load" data-consentgate-load style="[^"<>]*"( data-consentgate-key="[a-zA-Z0-9_-]*")?>[^<]*</button>)?</span>`)

// notFromInput checks that out, without the stub, the placeholders'
// markup (and the template start tags inserted inside them) and the
// attributes a neutralised element gets, is a subsequence of in. It
// returns what is wrong, or "".
func notFromInput(out, in []byte, p Policy) string {
	if s := Stub(p); len(s) > 0 {
		out = bytes.Replace(out, s, nil, 1)
	}
	if p.Placeholders != nil {
		out = placeholderMarkup.ReplaceAll(out, nil)
		out = bytes.ReplaceAll(out, []byte(tmplOpen), nil)
	}
	if len(p.Tail) > 0 {
		out = bytes.Replace(out, p.Tail, nil, 1)
	}
	for _, ins := range [][]byte{[]byte(` type="text/plain"`), []byte(` data-consent-category="analytics"`),
		[]byte(` data-consent-category="advertising"`), []byte(` data-consent-category="social"`), []byte("data-")} {
		out = bytes.ReplaceAll(out, ins, nil) // removing bytes from out keeps the check sound
	}
	j := 0
	for i := 0; i < len(out); i++ {
		for j < len(in) && in[j] != out[i] {
			j++
		}
		if j == len(in) {
			lo := max(0, i-60)
			return "output byte " + itoa(i) + " is not from the input: " + string(out[lo:min(len(out), i+60)])
		}
		j++
	}
	return ""
}
