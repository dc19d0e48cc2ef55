package audit

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

func pct(f float64) string { return fmt.Sprintf("%.1f %%", 100*f) }

// chainLine says in one sentence whether the receipts can be trusted.
func (r *Report) chainLine() string {
	c := r.Chain
	if c.OK {
		s := fmt.Sprintf("intact: %d records, seq %d to %d, head %s", c.Records, c.FirstSeq, c.LastSeq, short(c.Head))
		if c.Lost > 0 {
			s += fmt.Sprintf("; %d records dropped on a full queue (counted in the chain)", c.Lost)
		}
		return s
	}
	return fmt.Sprintf("BROKEN at %d places (run consentgate audit verify): the figures below may be incomplete or altered", len(c.Breaks))
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// WriteMarkdown writes the report as Markdown.
func (r *Report) WriteMarkdown(w io.Writer) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "# consentgate compliance report, %s to %s\n\n", r.From, r.To)
	if r.Site != "" {
		fmt.Fprintf(b, "Site: %s. ", r.Site)
	}
	fmt.Fprintf(b, "Generated %s from %d receipt files.\n\n", r.Generated.Format("2006-01-02 15:04 UTC"), len(r.Files))
	fmt.Fprintf(b, "**Receipt chain:** %s.\n\n", r.chainLine())
	for _, br := range r.Chain.Breaks {
		fmt.Fprintf(b, "- %s\n", br)
	}
	if len(r.Chain.Breaks) > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "**Denied elements delivered to opted-out visitors:** %d", len(r.Delivered)+r.DeliveredOther)
	if len(r.Delivered)+r.DeliveredOther == 0 {
		b.WriteString(" (none: no canary leak, no site in shadow mode).\n\n")
	} else {
		b.WriteString(".\n\n")
		incidentTable(b, r.Delivered, r.DeliveredOther)
	}
	for _, s := range r.Sites {
		fmt.Fprintf(b, "## Site %s\n\n", s.Site)
		summary, shadow := siteSummary(s.Total)
		b.WriteString(summary + "\n\n")
		if shadow != "" {
			b.WriteString(shadow + "\n\n")
		}
		b.WriteString("| day | requests | opted out | share | pages enforced | by source | elements removed | cookies dropped / expired | canary pass / leak / error | fail-closed |\n")
		b.WriteString("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | --- |\n")
		for _, d := range s.Days {
			share := "–"
			if d.Tallied {
				share = pct(d.OptOutShare)
			}
			fmt.Fprintf(b, "| %s | %d | %d | %s | %d | %s | %d | %d / %d | %d / %d / %d | %s |\n", d.Date,
				d.Requests.OptedOut+d.Requests.ConsentRequired+d.Requests.NotOptedOut, d.Requests.OptedOut, share, d.Pages,
				countList(sorted(d.BySource)), sum(d.ByVendor), d.CookiesDroppedRequest+d.CookiesDroppedResponse, d.CookiesExpired,
				d.Canary["pass"], d.Canary["leak"], d.Canary["error"], countList(sorted(d.FailClosed)))
		}
		b.WriteString("\nEnforcement by vendor:\n\n| vendor | category | elements |\n| --- | --- | ---: |\n")
		for _, v := range s.Vendors {
			fmt.Fprintf(b, "| %s | %s | %d |\n", v.Name, v.Category, v.N)
		}
		b.WriteString("\nBy category: " + countList(sorted(s.Total.ByCategory)) + "\n\n")
	}
	if len(r.Events) > 0 {
		b.WriteString("## Fail-closed and runtime events\n\nNo denied element was delivered in these; each is where the proxy chose the safe side.\n\n")
		incidentTable(b, r.Events, r.EventsOther)
	}
	b.WriteString(whatReceiptsShow)
	_, err := io.WriteString(w, b.String())
	return err
}

const whatReceiptsShow = `## What these receipts show

Each enforced response left a record of what was decided and removed, with no personal data, chained by
SHA-256 so an edited, deleted or reordered record is found by consentgate audit verify. A denied element
reaching an opted-out visitor shows up as a canary leak (the proxy's own opted-out check of live pages), or
as a response of a site in shadow mode (which counts but does not enforce). Fail-closed events are the
places where the proxy could not read a page and served it under a blocking policy or cut it visibly.
Receipts do not show trackers the catalogue does not know, nor what a page loads at run time unless the
runtime guard reports it; a crash loses at most one flush interval of records.
`

func mdCell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ") }

func base(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func countList(c []Count) string {
	if len(c) == 0 {
		return "–"
	}
	parts := make([]string, len(c))
	for i, x := range c {
		parts[i] = fmt.Sprintf("%s %d", x.Name, x.N)
	}
	return strings.Join(parts, ", ")
}

// palette colours series in charts; the last is "other".
var palette = []string{"#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7b83", "#6e7781", "#953800", "#afb8c1"}

// WriteHTML writes the report as one self-contained HTML page: inline CSS
// and SVG, no script, no external resource.
func (r *Report) WriteHTML(w io.Writer) error {
	b := &strings.Builder{}
	e := html.EscapeString
	title := fmt.Sprintf("consentgate compliance report, %s to %s", r.From, r.To)
	fmt.Fprintf(b, `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>%s</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:0 auto;max-width:1040px;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:20px 0 6px}.meta{color:#59636e}
.ok{background:#dafbe1;border:1px solid #4ac26b}.bad{background:#ffebe9;border:1px solid #ff8182}.note{background:#f6f8fa;border:1px solid #d0d7de}
.box{padding:10px 14px;border-radius:6px;margin:12px 0}
table{border-collapse:collapse;width:100%%;margin:8px 0 16px;font-size:13px}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td:first-child{white-space:nowrap}td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:1fr;gap:8px}svg{max-width:100%%;height:auto}
.legend span{display:inline-block;margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
</style></head><body>
<h1>%s</h1>
<p class="meta">%sGenerated %s from %d receipt files.</p>
`, e(title), e(title), siteMeta(r.Site), e(r.Generated.Format("2006-01-02 15:04 UTC")), len(r.Files))
	cls := "ok"
	if !r.Chain.OK {
		cls = "bad"
	}
	fmt.Fprintf(b, `<div class="box %s"><b>Receipt chain:</b> %s.`, cls, e(r.chainLine()))
	if len(r.Chain.Breaks) > 0 {
		b.WriteString("<ul>")
		for _, br := range r.Chain.Breaks {
			fmt.Fprintf(b, "<li>%s</li>", e(br.String()))
		}
		b.WriteString("</ul>")
	}
	b.WriteString("</div>\n")
	n := len(r.Delivered) + r.DeliveredOther
	cls = "ok"
	if n > 0 {
		cls = "bad"
	}
	fmt.Fprintf(b, `<div class="box %s"><b>Denied elements delivered to opted-out visitors: %d.</b>`, cls, n)
	if n == 0 {
		b.WriteString(" No canary leak and no site in shadow mode in this period.</div>\n")
	} else {
		b.WriteString("</div>\n")
		incidentTableHTML(b, r.Delivered, r.DeliveredOther)
	}
	for _, s := range r.Sites {
		summary, shadow := siteSummary(s.Total)
		fmt.Fprintf(b, "<h2>Site %s</h2>\n<p>%s", e(s.Site), e(summary))
		if shadow != "" {
			b.WriteString(" " + e(shadow))
		}
		b.WriteString("</p>\n<div class=\"charts\">\n")
		b.WriteString("<h3>Opt-out share per day</h3>\n")
		b.WriteString(shareChart(s.Days))
		b.WriteString("<h3>Opted-out page views per day, by signal source</h3>\n")
		b.WriteString(stackChart(s.Days, func(d Day) map[string]int { return d.BySource }, "page views"))
		b.WriteString("<h3>Elements removed per day, by vendor</h3>\n")
		b.WriteString(stackChart(s.Days, func(d Day) map[string]int { return d.ByVendor }, "elements"))
		b.WriteString("</div>\n<table><tr><th>day</th><th>requests</th><th>opted out</th><th>share</th><th>pages enforced</th><th>by source</th><th>elements removed</th><th>cookies dropped / expired</th><th>canary pass / leak / error</th><th>fail-closed</th></tr>\n")
		for _, d := range s.Days {
			share := "–"
			if d.Tallied {
				share = pct(d.OptOutShare)
			}
			fmt.Fprintf(b, `<tr><td>%s</td><td class="n">%d</td><td class="n">%d</td><td class="n">%s</td><td class="n">%d</td><td>%s</td><td class="n">%d</td><td class="n">%d / %d</td><td>%d / %d / %d</td><td>%s</td></tr>`+"\n",
				e(d.Date), d.Requests.OptedOut+d.Requests.ConsentRequired+d.Requests.NotOptedOut, d.Requests.OptedOut, share, d.Pages,
				e(countList(sorted(d.BySource))), sum(d.ByVendor), d.CookiesDroppedRequest+d.CookiesDroppedResponse, d.CookiesExpired,
				d.Canary["pass"], d.Canary["leak"], d.Canary["error"], e(countList(sorted(d.FailClosed))))
		}
		b.WriteString("</table>\n<h3>Enforcement by vendor and category</h3>\n<table><tr><th>vendor</th><th>category</th><th>elements</th></tr>\n")
		for _, v := range s.Vendors {
			fmt.Fprintf(b, `<tr><td>%s</td><td>%s</td><td class="n">%d</td></tr>`+"\n", e(v.Name), e(v.Category), v.N)
		}
		fmt.Fprintf(b, "</table>\n<p>By category: %s.</p>\n", e(countList(sorted(s.Total.ByCategory))))
	}
	if len(r.Events) > 0 {
		b.WriteString("<h2>Fail-closed and runtime events</h2>\n<p>No denied element was delivered in these; each is where the proxy chose the safe side.</p>\n")
		incidentTableHTML(b, r.Events, r.EventsOther)
	}
	b.WriteString(`<h2>What these receipts show</h2><div class="box note">`)
	for _, para := range strings.Split(strings.TrimPrefix(whatReceiptsShow, "## What these receipts show\n\n"), "\n\n") {
		fmt.Fprintf(b, "<p>%s</p>", e(strings.ReplaceAll(strings.TrimSpace(para), "\n", " ")))
	}
	b.WriteString("</div>\n</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func siteMeta(site string) string {
	if site == "" {
		return ""
	}
	return "Site: " + html.EscapeString(site) + ". "
}

func incidentRow(b *strings.Builder, in Incident) {
	e := html.EscapeString
	fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s:%d (seq %d)</td></tr>\n",
		e(in.Time.Format("2006-01-02 15:04:05")), e(in.Site), e(in.Kind), e(in.Detail), e(base(in.File)), in.Line, in.Seq)
}

// Chart geometry.
const (
	chartW, chartH = 960, 220
	padL, padR     = 56, 16
	padT, padB     = 12, 36
)

// shareChart draws the opt-out share per day as bars (0–100 %).
func shareChart(days []Day) string {
	b := &strings.Builder{}
	fmt.Fprintf(b, `<svg viewBox="0 0 %d %d" role="img" aria-label="Opt-out share per day">`, chartW, chartH)
	maxShare := 0.0
	for _, d := range days {
		maxShare = math.Max(maxShare, d.OptOutShare)
	}
	top := niceMax(maxShare*100, 4) / 100
	axes(b, top*100, "%")
	slot, bw := slots(len(days))
	for i, d := range days {
		x := float64(padL) + float64(i)*slot + (slot-bw)/2
		if d.Tallied {
			h := d.OptOutShare / top * float64(chartH-padT-padB)
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s</title></rect>`,
				x, float64(chartH-padB)-h, bw, h, palette[0], d.Date, pct(d.OptOutShare))
		}
		dayLabel(b, i, len(days), x+bw/2, d.Date)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// stackChart draws one stacked bar per day of the series pick returns: the
// eight largest over the period by name, the rest as "other".
func stackChart(days []Day, pick func(Day) map[string]int, unit string) string {
	totals := map[string]int{}
	for _, d := range days {
		for k, v := range pick(d) {
			totals[k] += v
		}
	}
	series := sorted(totals)
	const maxSeries = 8
	var names []string
	keep := map[string]bool{}
	for i, c := range series {
		if i < maxSeries {
			names = append(names, c.Name)
			keep[c.Name] = true
		}
	}
	other := len(series) > maxSeries
	if other {
		names = append(names, "other")
	}
	maxDay := 0
	for _, d := range days {
		maxDay = max(maxDay, sum(pick(d)))
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, `<svg viewBox="0 0 %d %d" role="img" aria-label="%s per day">`, chartW, chartH, html.EscapeString(unit))
	top := niceMax(float64(maxDay), 4)
	axes(b, top, "")
	slot, bw := slots(len(days))
	for i, d := range days {
		x := float64(padL) + float64(i)*slot + (slot-bw)/2
		y := float64(chartH - padB)
		m := pick(d)
		for si, name := range names {
			v := m[name]
			if name == "other" && other {
				v = 0
				for k, n := range m {
					if !keep[k] {
						v += n
					}
				}
			}
			if v == 0 {
				continue
			}
			h := float64(v) / top * float64(chartH-padT-padB)
			y -= h
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %d %s</title></rect>`,
				x, y, bw, h, colour(si, name), d.Date, html.EscapeString(name), v, html.EscapeString(unit))
		}
		dayLabel(b, i, len(days), x+bw/2, d.Date)
	}
	b.WriteString("</svg>\n<div class=\"legend\">")
	for si, name := range names {
		fmt.Fprintf(b, `<span><i style="background:%s"></i>%s %d</span>`, colour(si, name), html.EscapeString(name), seriesTotal(totals, keep, name))
	}
	if len(names) == 0 {
		b.WriteString("<span>none in this period</span>")
	}
	b.WriteString("</div>\n")
	return b.String()
}

func seriesTotal(totals map[string]int, keep map[string]bool, name string) int {
	if name != "other" || keep["other"] {
		return totals[name]
	}
	n := 0
	for k, v := range totals {
		if !keep[k] {
			n += v
		}
	}
	return n
}

func colour(i int, name string) string {
	if name == "other" {
		return palette[len(palette)-1]
	}
	return palette[i%(len(palette)-1)]
}

// slots returns the width per day and of its bar.
func slots(n int) (slot, bar float64) {
	if n == 0 {
		n = 1
	}
	slot = float64(chartW-padL-padR) / float64(n)
	return slot, math.Max(1, math.Min(slot*0.7, 48))
}

// axes draws the y axis with four grid lines up to top.
func axes(b *strings.Builder, top float64, unit string) {
	h := float64(chartH - padT - padB)
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		y := float64(chartH-padB) - h*float64(i)/4
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#d0d7de" stroke-width="1"/>`, padL, chartW-padR, y, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#59636e">%s%s</text>`, padL-6, y+4, trimFloat(v), unit)
	}
}

// dayLabel writes the date under a bar, thinned out when days are many.
func dayLabel(b *strings.Builder, i, n int, x float64, date string) {
	every := max(1, n/12)
	if i%every != 0 {
		return
	}
	label := date
	if len(date) == len("2006-01-02") {
		label = date[5:]
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#59636e">%s</text>`, x, chartH-padB+16, label)
}

// niceMax rounds v up to a round number for an axis with steps ticks.
func niceMax(v float64, steps int) float64 {
	if v <= 0 {
		return float64(steps)
	}
	raw := v / float64(steps)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 3, 4, 5, 10} {
		if m*mag >= raw {
			return m * mag * float64(steps)
		}
	}
	return v
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

// siteSummary is the sentence above a site's table, and the one on shadow
// mode ("" when nothing was observed in it), in plain text for both forms.
func siteSummary(t Day) (summary, shadow string) {
	if t.Tallied {
		summary = fmt.Sprintf("Requests: %d, of which %d opted out (%s) and %d in opt-in mode without consent. ",
			t.Requests.OptedOut+t.Requests.ConsentRequired+t.Requests.NotOptedOut, t.Requests.OptedOut, pct(t.OptOutShare), t.Requests.ConsentRequired)
	}
	summary += fmt.Sprintf("Enforced responses: %d (%d pages). Elements removed: %d. Cookies dropped: %d from requests, %d from responses; %d expired.",
		t.Responses, t.Pages, sum(t.ByVendor), t.CookiesDroppedRequest, t.CookiesDroppedResponse, t.CookiesExpired)
	if t.Shadow > 0 {
		shadow = fmt.Sprintf("%d responses were observed in shadow mode (counted, not enforced).", t.Shadow)
	}
	return summary, shadow
}

// incidentTable writes incidents as a Markdown table, and how many more
// there were than it lists.
func incidentTable(b *strings.Builder, ins []Incident, more int) {
	b.WriteString("| time (UTC) | site | kind | what | receipt |\n| --- | --- | --- | --- | --- |\n")
	for _, in := range ins {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s:%d (seq %d) |\n", in.Time.Format("2006-01-02 15:04:05"), in.Site, in.Kind, mdCell(in.Detail), base(in.File), in.Line, in.Seq)
	}
	if more > 0 {
		fmt.Fprintf(b, "\n…and %d more.\n", more)
	}
	b.WriteString("\n")
}

// incidentTableHTML is incidentTable for the HTML report.
func incidentTableHTML(b *strings.Builder, ins []Incident, more int) {
	b.WriteString("<table><tr><th>time (UTC)</th><th>site</th><th>kind</th><th>what</th><th>receipt</th></tr>\n")
	for _, in := range ins {
		incidentRow(b, in)
	}
	b.WriteString("</table>\n")
	if more > 0 {
		fmt.Fprintf(b, "<p>…and %d more.</p>\n", more)
	}
}
