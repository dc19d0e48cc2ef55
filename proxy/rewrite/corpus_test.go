package rewrite

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var corpusTable = flag.Bool("corpus.table", false, "print the rows of docs/inline-scripts.md as the rewriter decides them now (verdicts to be written)")

// corpusDir holds the real saved news pages shared by the project's tests.
const corpusDir = "../../../shared/data/pages"

// corpusPages reads the corpus, by name (the file name less .html.gz);
// without it the test fails under CI and is skipped on a developer
// machine.
func corpusPages(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.html.gz"))
	if len(files) == 0 {
		if os.Getenv("CI") != "" {
			tb.Fatalf("no pages in %s: the corpus must be there under CI", corpusDir)
		}
		tb.Skipf("no pages in %s (the project's shared data is not beside this checkout)", corpusDir)
	}
	pages := make(map[string][]byte, len(files))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		zr, err := gzip.NewReader(fh)
		if err != nil {
			tb.Fatal(f, err)
		}
		b, err := io.ReadAll(zr)
		fh.Close()
		if err != nil {
			tb.Fatal(f, err)
		}
		pages[strings.TrimSuffix(filepath.Base(f), ".html.gz")] = b
	}
	return pages
}

// corpusRow is a row of the tables of docs/inline-scripts.md: an inline
// script of a corpus page, by the offset of its start tag.
type corpusRow struct {
	page   string
	offset int64
	vendor string
}

// TestCorpusScripts rewrites the corpus of real pages with the default
// policy and the runtime guard, and checks that the inline scripts it
// removes, and those it keeps for the guard (loader evidence and state of
// the site's own), are exactly the ones docs/inline-scripts.md lists and
// judges. A change in what the rewriter decides on real pages must come
// with the table's review.
func TestCorpusScripts(t *testing.T) {
	pages := corpusPages(t)
	names := make([]string, 0, len(pages))
	for n := range pages {
		names = append(names, n)
	}
	slices.Sort(names)
	p := optOut(t, true)
	p.Guard, p.Explain = true, true
	w := NewWriter(io.Discard, p)
	var removed, guarded []corpusRow
	var rows bytes.Buffer
	total := 0
	for _, name := range names {
		page := pages[name]
		w.Reset(io.Discard, p)
		w.Write(page)
		w.Close()
		for _, s := range w.Scripts() {
			total++
			if s.Vendor == nil || s.Decision == Kept && s.Reason != ReasonFirstParty {
				continue
			}
			r := corpusRow{name, s.Tag.Start, s.Vendor.ID}
			ev := string(page[s.At.Start:min(s.At.End, s.At.Start+60)])
			if s.Evidence == EvidenceSignature && s.Signature >= 0 {
				ev = "signature " + s.Vendor.Signatures[s.Signature]
			}
			ev = strings.ReplaceAll(strings.ReplaceAll(ev, "|", `\|`), "`", "'")
			size := s.Content.End - s.Content.Start
			switch s.Decision {
			case Removed, Neutralised:
				removed = append(removed, r)
				fmt.Fprintf(&rows, "removed | %s | %d | %d | %s | `%s` | ? |\n", name, r.offset, size, r.vendor, ev)
			default:
				guarded = append(guarded, r)
				var fp []string
				for _, n := range s.FirstParty[:min(s.NumFirstParty, len(s.FirstParty))] {
					fp = append(fp, n.Kind.String()+" "+string(page[n.Start:n.End]))
				}
				fmt.Fprintf(&rows, "guarded | %s | %d | %d | %s | `%s` | %s | ? |\n", name, r.offset, size, r.vendor, ev, strings.Join(slices.Compact(fp), ", "))
			}
		}
	}
	t.Logf("%d inline scripts on %d pages: %d removed, %d kept for the guard", total, len(pages), len(removed), len(guarded))
	if *corpusTable {
		os.Stdout.Write(rows.Bytes())
	}
	docRemoved, docGuarded := readCorpusDoc(t, "../../docs/inline-scripts.md")
	for _, c := range []struct {
		what      string
		got, want []corpusRow
	}{{"removed", removed, docRemoved}, {"kept for the guard", guarded, docGuarded}} {
		if extra, missing := rowDiff(c.got, c.want); len(extra)+len(missing) > 0 {
			t.Errorf("docs/inline-scripts.md, scripts %s: the rewriter now decides otherwise (review them, and print the rows with -corpus.table -v)\n not in the doc: %v\n in the doc only: %v", c.what, extra, missing)
		}
	}
}

// readCorpusDoc reads the two tables of docs/inline-scripts.md: rows of
// the "## Removed" section and of the "## Kept for the runtime guard"
// section, "| page | offset | size | vendor | …".
func readCorpusDoc(t *testing.T, path string) (removed, guarded []corpusRow) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cur *[]corpusRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## Removed"):
			cur = &removed
		case strings.HasPrefix(line, "## Kept for the runtime guard"):
			cur = &guarded
		case strings.HasPrefix(line, "## "):
			cur = nil
		case cur != nil && strings.HasPrefix(line, "| "):
			cols := strings.Split(line, " | ")
			var r corpusRow
			if len(cols) < 4 {
				continue
			}
			if _, err := fmt.Sscan(cols[1], &r.offset); err != nil {
				continue // the header
			}
			r.page, r.vendor = strings.TrimPrefix(cols[0], "| "), cols[3]
			*cur = append(*cur, r)
		}
	}
	if len(removed) == 0 || len(guarded) == 0 {
		t.Fatalf("%s: no tables found", path)
	}
	return removed, guarded
}

// rowDiff returns the rows of got not in want, and of want not in got.
func rowDiff(got, want []corpusRow) (extra, missing []corpusRow) {
	for _, r := range got {
		if !slices.Contains(want, r) {
			extra = append(extra, r)
		}
	}
	for _, r := range want {
		if !slices.Contains(got, r) {
			missing = append(missing, r)
		}
	}
	return extra, missing
}
