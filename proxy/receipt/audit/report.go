package audit

import (
	"fmt"
	"sort"
	"time"

	"github.com/consentgate/consentgate/proxy/receipt"
)

// ReportOptions select what a report covers.
type ReportOptions struct {
	// From and To are days (UTC), both included.
	From, To time.Time
	// Site, when set, is the only site reported.
	Site string
	// MaxIncidents bounds the incidents listed (default 100); the rest are
	// counted.
	MaxIncidents int
}

// Report is what the receipts of a period say, per site and day.
type Report struct {
	From      string       `json:"from"`
	To        string       `json:"to"`
	Site      string       `json:"site,omitempty"`
	Generated time.Time    `json:"generated"`
	Files     []string     `json:"files"`
	Chain     *Chain       `json:"chain"`
	Sites     []SiteReport `json:"sites"`
	// Delivered lists every place where the receipts show an element or
	// cookie of a denied category reaching an opted-out visitor: canary
	// leaks and shadow-mode responses. Outside shadow mode there must be
	// none.
	Delivered      []Incident `json:"delivered"`
	DeliveredOther int        `json:"delivered_other"`
	// Events are what the proxy did in a conservative way instead
	// (fail-closed branches, cut scripts, incomplete bodies, runtime guard
	// blocks): no denied element was delivered, but each is worth a look.
	Events      []Incident `json:"events"`
	EventsOther int        `json:"events_other"`
}

// Chain is the state of the hash chain over the files read.
type Chain struct {
	OK       bool            `json:"ok"`
	Records  int             `json:"records"`
	FirstSeq uint64          `json:"first_seq"`
	LastSeq  uint64          `json:"last_seq"`
	Head     string          `json:"head"`
	Breaks   []receipt.Break `json:"breaks"`
	Warnings []receipt.Break `json:"warnings"`
	Lost     uint64          `json:"lost"`
}

// SiteReport is one site over the period.
type SiteReport struct {
	Site string `json:"site"`
	Days []Day  `json:"days"`
	// Vendors are the elements removed (or, in shadow mode, observed) per
	// vendor over the period, most first.
	Vendors []Count `json:"vendors"`
	Total   Day     `json:"total"`
}

// Day is one site on one day (UTC).
type Day struct {
	Date string `json:"date"`
	// Requests are the tally counts: every request by decision.
	Requests receipt.TallyCounts `json:"requests"`
	// Tallied: some tally covers the day, so OptOutShare means something.
	Tallied     bool    `json:"tallied"`
	OptOutShare float64 `json:"opt_out_share"`
	// Responses are enforced responses (canary requests left out); Pages
	// those whose body was HTML, the page views.
	Responses int `json:"responses"`
	Pages     int `json:"pages"`
	// Shadow are responses of a site in shadow mode (observed, not
	// enforced).
	Shadow int `json:"shadow"`
	// BySource counts opted-out page views by signal source (a view may
	// count for several).
	BySource   map[string]int `json:"by_source"`
	ByVendor   map[string]int `json:"by_vendor"`
	ByCategory map[string]int `json:"by_category"`
	// Cookies dropped from requests, from responses, and expired.
	CookiesDroppedRequest  int            `json:"cookies_dropped_request"`
	CookiesDroppedResponse int            `json:"cookies_dropped_response"`
	CookiesExpired         int            `json:"cookies_expired"`
	Canary                 map[string]int `json:"canary"`
	FailClosed             map[string]int `json:"fail_closed"`
	Guard                  int            `json:"guard"`
	Lost                   uint64         `json:"lost"`
}

// Count is a name and how often.
type Count struct {
	Name     string `json:"name"`
	Category string `json:"category,omitempty"`
	N        int    `json:"n"`
}

// Incident is one receipt worth a reader's attention.
type Incident struct {
	Time   time.Time `json:"time"`
	Site   string    `json:"site"`
	Kind   string    `json:"kind"`
	Detail string    `json:"detail"`
	File   string    `json:"file"`
	Line   int       `json:"line"`
	Seq    uint64    `json:"seq"`
}

// BuildReport reads the receipts files (in chain order), verifies the chain
// and aggregates the records of the period.
func BuildReport(files []string, o ReportOptions) (*Report, error) {
	if o.MaxIncidents <= 0 {
		o.MaxIncidents = 100
	}
	if o.To.Before(o.From) {
		return nil, fmt.Errorf("--to %s is before --from %s", o.To.Format(time.DateOnly), o.From.Format(time.DateOnly))
	}
	sum, err := receipt.Verify(files)
	if err != nil {
		return nil, err
	}
	rep := &Report{
		From: o.From.Format(time.DateOnly), To: o.To.Format(time.DateOnly), Site: o.Site,
		Generated: time.Now().UTC().Truncate(time.Second), Files: files,
		Chain: &Chain{OK: sum.OK(), Records: sum.Records, FirstSeq: sum.FirstSeq, LastSeq: sum.LastSeq, Head: sum.Head,
			Breaks: sum.Breaks, Warnings: sum.Warnings, Lost: sum.Lost},
		Delivered: []Incident{}, Events: []Incident{},
	}
	a := &aggregator{o: o, end: o.To.AddDate(0, 0, 1), rep: rep, sites: map[string]map[string]*Day{}, vendorCat: map[string]string{}}
	if err := receipt.ReadRecords(files, a.record); err != nil {
		return nil, err
	}
	rep.Sites = a.siteReports()
	return rep, nil
}

// aggregator sums the records of a report's period into days per site and
// lists the incidents.
type aggregator struct {
	o         ReportOptions
	end       time.Time // the day after o.To
	rep       *Report
	sites     map[string]map[string]*Day // by site, then date
	vendorCat map[string]string          // a vendor's category, as last recorded
}

// day returns site's Day of t, made on first use.
func (a *aggregator) day(site string, t time.Time) *Day {
	days := a.sites[site]
	if days == nil {
		days = map[string]*Day{}
		a.sites[site] = days
	}
	k := t.UTC().Format(time.DateOnly)
	d := days[k]
	if d == nil {
		d = newDay(k)
		days[k] = d
	}
	return d
}

// delivered lists in as a denied element or cookie delivered, or counts it
// once MaxIncidents are listed.
func (a *aggregator) delivered(in Incident) {
	a.incident(&a.rep.Delivered, &a.rep.DeliveredOther, in)
}

// event lists in as a conservative action, or counts it once MaxIncidents
// are listed.
func (a *aggregator) event(in Incident) {
	a.incident(&a.rep.Events, &a.rep.EventsOther, in)
}

func (a *aggregator) incident(list *[]Incident, other *int, in Incident) {
	if len(*list) >= a.o.MaxIncidents {
		*other++
		return
	}
	*list = append(*list, in)
}

// record adds one record read by receipt.ReadRecords, if it is of the
// period and site.
func (a *aggregator) record(l receipt.Line, r *receipt.Record, err error) error {
	if err != nil || r.Time.Before(a.o.From) || !r.Time.Before(a.end) {
		return nil // what does not decode is the chain's business
	}
	if a.o.Site != "" && r.Site != a.o.Site {
		return nil
	}
	at := Incident{Time: r.Time, Site: r.Site, File: l.File, Line: l.No, Seq: r.Seq}
	switch r.Kind {
	case "tally":
		a.tally(r)
	case "response":
		a.response(r, at)
	case "canary":
		a.canary(r, at)
	case "guard":
		a.guard(r, at)
	}
	return nil
}

// tally adds a tally record's request counts.
func (a *aggregator) tally(r *receipt.Record) {
	if r.Requests == nil {
		return
	}
	d := a.day(r.Site, r.Time)
	d.Tallied = true
	d.Requests.OptedOut += r.Requests.OptedOut
	d.Requests.ConsentRequired += r.Requests.ConsentRequired
	d.Requests.NotOptedOut += r.Requests.NotOptedOut
}

// response adds a response record: what was removed and dropped, and as
// incidents what shadow mode delivered and the fail-closed branches taken.
func (a *aggregator) response(r *receipt.Record, at Incident) {
	d := a.day(r.Site, r.Time)
	d.Lost += r.Lost
	if r.Canary {
		return // the canary's own request, reported by its canary record
	}
	d.Responses++
	if r.Shadow {
		d.Shadow++
	}
	if r.HTML {
		d.Pages++
		if r.OptedOut {
			for _, s := range r.Sources {
				d.BySource[s]++
			}
		}
	}
	var delivered []string
	for _, rv := range r.Removed {
		n := rv.N()
		d.ByVendor[rv.Vendor] += n
		d.ByCategory[rv.Category] += n
		a.vendorCat[rv.Vendor] = rv.Category
		delivered = append(delivered, fmt.Sprintf("%s (%s) %s", rv.Vendor, rv.Category, elements(rv.Elements)))
	}
	for _, c := range r.Cookies {
		d.CookiesDroppedRequest += c.DroppedRequest
		d.CookiesDroppedResponse += c.DroppedResponse
		d.CookiesExpired += c.Expired
	}
	if r.Shadow && (len(r.Removed) > 0 || len(r.Cookies) > 0) {
		at.Kind = "shadow"
		at.Detail = "site in shadow mode: the visitor got what enforcing would have removed: " + join(delivered)
		if len(r.Cookies) > 0 {
			at.Detail += fmt.Sprintf("; cookies of %d vendors kept", len(r.Cookies))
		}
		a.delivered(at)
	}
	for _, fc := range r.FailClosed {
		d.FailClosed[fc]++
		at.Kind = "fail_closed"
		at.Detail = failClosedText(fc)
		a.event(at)
	}
	if r.Oversize > 0 {
		d.FailClosed["oversize"]++
	}
}

// canary adds a canary record: a leak is a delivery, an error an event.
func (a *aggregator) canary(r *receipt.Record, at Incident) {
	d := a.day(r.Site, r.Time)
	d.Canary[r.Result]++
	switch r.Result {
	case "leak":
		at.Kind = "canary"
		at.Detail = fmt.Sprintf("canary %s (opted out): %s", r.Path, leaks(r.Leaks, r.LeaksOther))
		a.delivered(at)
	case "error":
		at.Kind = "canary_error"
		at.Detail = fmt.Sprintf("canary %s could not be checked: %s", r.Path, r.Error)
		a.event(at)
	}
}

// guard adds a record of the runtime guard's blocks, an event.
func (a *aggregator) guard(r *receipt.Record, at Incident) {
	d := a.day(r.Site, r.Time)
	var parts []string
	for _, g := range r.Guard {
		d.Guard += g.N
		parts = append(parts, fmt.Sprintf("%s %d", g.Vendor, g.N))
	}
	at.Kind = "guard"
	at.Detail = "blocked in the visitor's browser at run time (loaded by script, not in the HTML): " + join(parts)
	a.event(at)
}

// siteReports returns the sites by name, each with its days by date, its
// total and its vendors, most first.
func (a *aggregator) siteReports() []SiteReport {
	names := make([]string, 0, len(a.sites))
	for s := range a.sites {
		names = append(names, s)
	}
	sort.Strings(names)
	var out []SiteReport
	for _, s := range names {
		sr := SiteReport{Site: s, Total: *newDay("total")}
		var keys []string
		for k := range a.sites[s] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			d := a.sites[s][k]
			d.setOptOutShare()
			sr.Days = append(sr.Days, *d)
			sr.Total.add(d)
		}
		sr.Total.setOptOutShare()
		for v, n := range sr.Total.ByVendor {
			sr.Vendors = append(sr.Vendors, Count{Name: v, Category: a.vendorCat[v], N: n})
		}
		sortCounts(sr.Vendors)
		out = append(out, sr)
	}
	return out
}

// setOptOutShare sets OptOutShare from the tallied requests; with none it
// stays 0.
func (t *Day) setOptOutShare() {
	if total := t.Requests.OptedOut + t.Requests.ConsentRequired + t.Requests.NotOptedOut; total > 0 {
		t.OptOutShare = float64(t.Requests.OptedOut) / float64(total)
	}
}

func newDay(date string) *Day {
	return &Day{Date: date, BySource: map[string]int{}, ByVendor: map[string]int{}, ByCategory: map[string]int{},
		Canary: map[string]int{}, FailClosed: map[string]int{}}
}

func (t *Day) add(d *Day) {
	t.Tallied = t.Tallied || d.Tallied
	t.Requests.OptedOut += d.Requests.OptedOut
	t.Requests.ConsentRequired += d.Requests.ConsentRequired
	t.Requests.NotOptedOut += d.Requests.NotOptedOut
	t.Responses += d.Responses
	t.Pages += d.Pages
	t.Shadow += d.Shadow
	t.CookiesDroppedRequest += d.CookiesDroppedRequest
	t.CookiesDroppedResponse += d.CookiesDroppedResponse
	t.CookiesExpired += d.CookiesExpired
	t.Guard += d.Guard
	t.Lost += d.Lost
	for _, m := range [][2]map[string]int{{t.BySource, d.BySource}, {t.ByVendor, d.ByVendor}, {t.ByCategory, d.ByCategory},
		{t.Canary, d.Canary}, {t.FailClosed, d.FailClosed}} {
		for k, v := range m[1] {
			m[0][k] += v
		}
	}
}

func sortCounts(c []Count) {
	sort.Slice(c, func(i, j int) bool {
		if c[i].N != c[j].N {
			return c[i].N > c[j].N
		}
		return c[i].Name < c[j].Name
	})
}

// sorted returns a map's entries, most first.
func sorted(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{Name: k, N: v})
	}
	sortCounts(out)
	return out
}

func elements(m map[string]int) string {
	var parts []string
	for _, c := range sorted(m) {
		parts = append(parts, fmt.Sprintf("%d %s", c.N, c.Name))
	}
	return join(parts)
}

func leaks(ls []receipt.LeakRecord, other int) string {
	var parts []string
	for _, l := range ls {
		if l.What == "cookie" {
			parts = append(parts, fmt.Sprintf("%s (%s) cookie %s", l.Vendor, l.Category, l.Name))
		} else {
			parts = append(parts, fmt.Sprintf("%s (%s) <%s %s>", l.Vendor, l.Category, l.Element, l.Name))
		}
	}
	if other > 0 {
		parts = append(parts, fmt.Sprintf("%d more", other))
	}
	return join(parts)
}

func join(parts []string) string {
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += ", "
		}
		out += p
	}
	return out
}

func failClosedText(reason string) string {
	switch reason {
	case "undecodable":
		return "undecodable: a body in an encoding the proxy cannot read, served as it was under a CSP that blocks every third party"
	case "decoded_too_large":
		return "decoded_too_large: a compressed body decoded past the limit; the page was cut visibly"
	case "mid_body":
		return "mid_body: the upstream broke off inside the body; the visitor got a truncated page, never the raw rest"
	case "script_document":
		return "script_document: an SVG or XML document that can run script, served under a CSP that blocks every third party"
	}
	return reason
}
