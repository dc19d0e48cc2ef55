package realpages

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
)

// Trackers counts the load's requests to trackers: by the catalogue
// (vendors the default policy denies) and by the list (after exclusions).
func (l *Load) Trackers() (catalogue, list int) {
	if l == nil {
		return 0, 0
	}
	for _, q := range l.Requests {
		if q.Vendor != "" {
			catalogue++
		}
		if q.Rule != "" {
			list++
		}
	}
	return catalogue, list
}

// Mechanism says in words what made the request, from its frame and the
// DevTools initiator: "markup" (an element of the page as served, or markup
// a script wrote), "inline script", "script URL", "eval'd script",
// "iframe: ...", "worker: ...", or the initiator type. Line numbers are
// those of the page as consentgate served it.
func (q *Request) Mechanism(page string) string {
	where := func() string {
		u := q.InitiatorURL
		switch {
		case u == "":
			return ""
		case isPageURL(u, page):
			return fmt.Sprintf(" (line %d)", q.InitiatorLine)
		}
		return " " + trimOrigin(u)
	}
	var m string
	switch q.Initiator {
	case "parser":
		if q.InitiatorURL == "" || isPageURL(q.InitiatorURL, page) {
			m = "markup" + where()
		} else {
			m = "markup of" + where()
		}
	case "script":
		switch {
		case q.InitiatorURL == "":
			m = "eval'd script"
		case isPageURL(q.InitiatorURL, page):
			m = "inline script" + where()
		default:
			m = "script" + where()
		}
	case "":
		m = "unknown"
	default:
		m = q.Initiator + where()
	}
	switch q.Frame {
	case "frame":
		return "iframe: " + m
	case "worker":
		return "worker: " + m
	}
	return m
}

// isPageURL reports whether u is the page's own URL on loopback.
func isPageURL(u, page string) bool {
	u, _, _ = strings.Cut(u, "#")
	return strings.HasSuffix(u, "/p/"+page) && isLoopback(urlHost(u))
}

// trimOrigin drops a loopback origin (its port changes every run).
func trimOrigin(u string) string {
	if m := reOrigin.FindStringIndex(u); m != nil && m[0] == 0 {
		return u[m[1]:]
	}
	if i := strings.Index(u, "ORIGIN"); i == 0 {
		return u[len("ORIGIN"):]
	}
	if len(u) > 120 {
		return u[:120] + "…"
	}
	return u
}

// Totals sums a report.
type Totals struct {
	Pages, Failed int
	// Requests to trackers without a signal and with Sec-GPC: 1.
	PlainCatalogue, PlainList, GPCCatalogue, GPCList int
	// Pages with at least one tracker request without a signal (by either
	// judgement), and with Sec-GPC: 1.
	PagesPlainTrackers, PagesGPCTrackers                    int
	PagesNewExceptions, PagesNewConsoleErrors, PagesLowText int
	// Connections with Sec-GPC: 1 to a tracker host no request went to
	// (preconnects), by either judgement.
	GPCConnections int
	// Pages where Chromium's Sec-GPC: 1 did not reach the upstream, and
	// where consentgate's unsignalled response differed from the upstream's.
	GPCNotSent, NotIdentical int
}

// Totals sums the report.
func (rep *Report) Totals() Totals {
	var t Totals
	for _, r := range rep.Results {
		t.Pages++
		if r.Err != "" {
			t.Failed++
			continue
		}
		pc, pl := r.Plain.Trackers()
		gc, gl := r.GPC.Trackers()
		t.PlainCatalogue += pc
		t.PlainList += pl
		t.GPCCatalogue += gc
		t.GPCList += gl
		if pc+pl > 0 {
			t.PagesPlainTrackers++
		}
		for _, q := range r.GPC.ConnectOnly {
			if q.Vendor != "" || q.Rule != "" {
				t.GPCConnections++
			}
		}
		if gc+gl > 0 {
			t.PagesGPCTrackers++
		}
		if len(r.NewExceptions) > 0 {
			t.PagesNewExceptions++
		}
		if len(r.NewConsoleErrors) > 0 {
			t.PagesNewConsoleErrors++
		}
		if TextPercent(r.TextRatio) < TextFloor {
			t.PagesLowText++
		}
		if !r.GPCSent {
			t.GPCNotSent++
		}
		if !r.Identical {
			t.NotIdentical++
		}
	}
	return t
}

// Leak is one host still requested with Sec-GPC: 1, over every page.
type Leak struct {
	Host     string `json:"host"`
	Vendor   string `json:"vendor,omitempty"` // catalogue vendor id
	Rule     string `json:"rule,omitempty"`   // list rule
	Requests int    `json:"requests"`
	// Connections counts the loads that connected to the host without any
	// request to it (a preconnect).
	Connections int      `json:"connections,omitempty"`
	Pages       []string `json:"pages"`
	// How lists each distinct "page: mechanism" (Request.Mechanism).
	How []string `json:"how"`
}

// leakOf returns the Leak of q's host in by, made on first use, with q's
// vendor, rule and page added, or nil when neither judgement flags q.
func leakOf(by map[string]*Leak, q Request, page string) *Leak {
	if q.Vendor == "" && q.Rule == "" {
		return nil
	}
	l := by[q.Host]
	if l == nil {
		l = &Leak{Host: q.Host}
		by[q.Host] = l
	}
	if q.Vendor != "" {
		l.Vendor = q.Vendor
	}
	if q.Rule != "" {
		l.Rule = q.Rule
	}
	if !slices.Contains(l.Pages, page) {
		l.Pages = append(l.Pages, page)
	}
	return l
}

// Leaks returns the hosts requested with Sec-GPC: 1 that either judgement
// flags, most requested first.
func (rep *Report) Leaks() []Leak {
	by := map[string]*Leak{}
	for _, r := range rep.Results {
		if r.GPC == nil {
			continue
		}
		for _, q := range r.GPC.Requests {
			if l := leakOf(by, q, r.Page); l != nil {
				l.Requests++
				if h := r.Page + ": " + q.Mechanism(r.Page); !slices.Contains(l.How, h) {
					l.How = append(l.How, h)
				}
			}
		}
		for _, q := range r.GPC.ConnectOnly {
			if l := leakOf(by, q, r.Page); l != nil {
				l.Connections++
				l.How = append(l.How, r.Page+": connection without a request (preconnect)")
			}
		}
	}
	out := make([]Leak, 0, len(by))
	for _, l := range by {
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Requests+out[i].Connections != out[j].Requests+out[j].Connections {
			return out[i].Requests+out[i].Connections > out[j].Requests+out[j].Connections
		}
		return out[i].Host < out[j].Host
	})
	return out
}

// row is one page's line of the table.
func (r *Result) row() []string {
	if r.Err != "" {
		return []string{r.Page, "error", "", "", "", "", ""}
	}
	pc, pl := r.Plain.Trackers()
	gc, gl := r.GPC.Trackers()
	return []string{
		r.Page,
		fmt.Sprintf("%d / %d", pc, pl),
		fmt.Sprintf("%d / %d", gc, gl),
		fmt.Sprint(len(r.NewExceptions)),
		fmt.Sprint(len(r.NewConsoleErrors)),
		fmt.Sprintf("%.1f %%", r.TextRatio*100),
	}
}

var tableHead = []string{"page", "trackers, no signal (catalogue / list)", "trackers, Sec-GPC: 1 (catalogue / list)", "new exceptions", "new console errors", "text ratio"}

// totalsRow is the table's last line.
func (t Totals) row() []string {
	return []string{
		fmt.Sprintf("total (%d pages)", t.Pages),
		fmt.Sprintf("%d / %d", t.PlainCatalogue, t.PlainList),
		fmt.Sprintf("%d / %d", t.GPCCatalogue, t.GPCList),
		fmt.Sprintf("%d pages", t.PagesNewExceptions),
		fmt.Sprintf("%d pages", t.PagesNewConsoleErrors),
		fmt.Sprintf("%d pages < %d %%", t.PagesLowText, TextFloor),
	}
}

// WriteText writes the per-page table, the totals and the hosts still
// requested with Sec-GPC: 1; verbose adds, per page, every such request
// and every new exception and console error.
func (rep *Report) WriteText(w io.Writer, verbose bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(tableHead, "\t"))
	for _, r := range rep.Results {
		fmt.Fprintln(tw, strings.Join(r.row(), "\t"))
	}
	t := rep.Totals()
	fmt.Fprintln(tw, strings.Join(t.row(), "\t"))
	if err := tw.Flush(); err != nil {
		return err
	}
	rep.writeSummary(w, t)
	fmt.Fprintln(w, "\nHosts still requested with Sec-GPC: 1 (requests, pages, what made them):")
	for _, l := range rep.Leaks() {
		fmt.Fprintf(w, "  %s  %s  %d requests, %d preconnects, on %d pages\n", l.Host, judged(l.Vendor, l.Rule), l.Requests, l.Connections, len(l.Pages))
		for _, h := range l.How {
			fmt.Fprintf(w, "      %s\n", h)
		}
	}
	if !verbose {
		return nil
	}
	for _, r := range rep.Results {
		if r.Err != "" {
			fmt.Fprintf(w, "\n%s: error: %s\n", r.Page, r.Err)
			continue
		}
		var lines []string
		for _, q := range r.GPC.Requests {
			if q.Vendor != "" || q.Rule != "" {
				lines = append(lines, fmt.Sprintf("  request  %s %s  [%s]  %s", q.Type, trimURL(q.URL), judged(q.Vendor, q.Rule), q.Mechanism(r.Page)))
			}
		}
		for _, q := range r.GPC.ConnectOnly {
			if q.Vendor != "" || q.Rule != "" {
				lines = append(lines, fmt.Sprintf("  connect  %s  [%s]", q.Host, judged(q.Vendor, q.Rule)))
			}
		}
		for _, e := range r.NewExceptions {
			lines = append(lines, "  exception  "+e)
		}
		for _, e := range r.NewConsoleErrors {
			lines = append(lines, "  console  "+e)
		}
		if len(lines) > 0 {
			fmt.Fprintf(w, "\n%s with Sec-GPC: 1 (text %.1f %%):\n%s\n", r.Page, r.TextRatio*100, strings.Join(lines, "\n"))
		}
	}
	return nil
}

func (rep *Report) writeSummary(w io.Writer, t Totals) {
	fmt.Fprintf(w, "\n%d pages (%d failed), %d browsers at once, %.0f s for every load.\n", t.Pages, t.Failed, rep.Parallel, rep.Elapsed.Seconds())
	fmt.Fprintf(w, "Without a signal: %d requests to hosts the catalogue denies, %d to hosts the list flags, on %d pages.\n", t.PlainCatalogue, t.PlainList, t.PagesPlainTrackers)
	fmt.Fprintf(w, "With Sec-GPC: 1: %d and %d, on %d pages, and %d connections to tracker hosts without a request (preconnects); %d pages with new exceptions, %d with new console errors, %d with text below %d %%.\n",
		t.GPCCatalogue, t.GPCList, t.PagesGPCTrackers, t.GPCConnections, t.PagesNewExceptions, t.PagesNewConsoleErrors, t.PagesLowText, TextFloor)
	fmt.Fprintf(w, "Sec-GPC: 1 not seen upstream on %d pages; unsignalled response not byte-identical on %d pages.\n", t.GPCNotSent, t.NotIdentical)
	if rep.List != nil {
		fmt.Fprintf(w, "List: %d host rules and %d exceptions taken from %s.\n", rep.List.Block, rep.List.Exceptions, strings.Join(rep.List.Files, ", "))
	}
}

func judged(vendor, rule string) string {
	var p []string
	if vendor != "" {
		p = append(p, "catalogue: "+vendor)
	}
	if rule != "" {
		p = append(p, "list: "+rule)
	}
	return strings.Join(p, "; ")
}

func trimURL(u string) string {
	if len(u) > 140 {
		return u[:140] + "…"
	}
	return u
}

// WriteMarkdown writes the per-page table and the totals as Markdown, for
// docs.
func (rep *Report) WriteMarkdown(w io.Writer) error {
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	row := func(cells []string) {
		for i := range cells {
			cells[i] = cell(cells[i])
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	row(slices.Clone(tableHead))
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rep.Results {
		row(r.row())
	}
	t := rep.Totals()
	tr := t.row()
	for i := range tr {
		tr[i] = "**" + tr[i] + "**"
	}
	row(tr)
	rep.writeSummary(w, t)
	fmt.Fprintln(w, "\nHosts still requested with Sec-GPC: 1:")
	fmt.Fprintln(w, "\n| host | judged by | requests | preconnects | pages | what made them |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | --- |")
	for _, l := range rep.Leaks() {
		how := l.How
		row([]string{l.Host, judged(l.Vendor, l.Rule), fmt.Sprint(l.Requests), fmt.Sprint(l.Connections), fmt.Sprint(len(l.Pages)), strings.Join(how, "<br>")})
	}
	return nil
}
