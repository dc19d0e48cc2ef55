package audit

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy/demo"
	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/rulestest"
	"github.com/consentgate/consentgate/signals"
)

var update = flag.Bool("update", false, "rewrite docs/audit-report.png from the rendered sample report")

func testSet(t testing.TB) *rules.Set {
	t.Helper()
	return rulestest.Compile(t, `upstream: http://127.0.0.1:1
sites:
  - name: www
    hosts: [www.example.com]
  - name: blog
    hosts: [blog.example.com]
    dnt: true
`)
}

// traffic is what a simulation sent, to compare the report with.
type traffic struct {
	requests, optedOut map[string]uint64 // site/day
	pages              map[string]int    // site/day: opted-out HTML responses
	bySource           map[string]int    // site/day/source
	elements           map[string]int    // site/day/vendor
	failClosed         int
}

// simulate writes days of traffic on two sites through a receipt Log: per
// hour a number of requests, some opted out (by GPC mostly, the opt-out
// cookie, US Privacy strings, DNT on the blog), each opted-out page
// enforced as the proxy enforces the demo site's pages (what the real
// rewriter removes from them), assets enforced for their cookies; tally
// records every hour; the canary every hour; now and then a page the proxy
// could not decode.
func simulate(t testing.TB, dir string, set *rules.Set, start time.Time, days int) *traffic {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	type page struct{ removed []rewrite.Removal }
	var pages []page
	for _, p := range []string{"/", "/product", "/pricing"} {
		b, err := demo.Page(p)
		if err != nil {
			t.Fatal(err)
		}
		rm, err := rewrite.Rewrite(io.Discard, b, rewrite.Policy{Set: set, Site: set.Sites()[0], Deny: rules.DefaultDeny, Stub: true})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page{append([]rewrite.Removal(nil), rm...)})
	}
	tr := &traffic{requests: map[string]uint64{}, optedOut: map[string]uint64{}, pages: map[string]int{}, bySource: map[string]int{}, elements: map[string]int{}}
	// A queue that holds the whole simulation: it must not drop records.
	l, err := receipt.Open(receipt.Options{Dir: dir, Version: "test", MaxFileSize: 256 << 10, QueueSize: 1 << 17})
	if err != nil {
		t.Fatal(err)
	}
	ga, fbp := set.VendorByID("google-analytics"), set.VendorByID("meta-pixel")
	for day := range days {
		for hour := range 24 {
			for si, site := range set.Sites() {
				at := start.AddDate(0, 0, day).Add(time.Duration(hour) * time.Hour)
				key := site.Name + "/" + at.Format(time.DateOnly)
				// Traffic follows the day; the opt-out share drifts by day.
				n := 40 + rng.IntN(40)
				if hour >= 8 && hour <= 20 {
					n *= 3
				}
				share := 0.08 + 0.02*float64(day%3) + 0.03*float64(si)
				var tally receipt.Tally
				for i := range n {
					out := rng.Float64() < share
					tr.requests[key]++
					if !out {
						tally.NotOptedOut++
						continue
					}
					tally.OptedOut++
					tr.optedOut[key]++
					var src signals.Source
					switch r := rng.IntN(20); {
					case r < 13:
						src = signals.GPC
					case r < 16:
						src = signals.OptOutCookie
					case r < 18:
						src = signals.USP
					case site.DNT:
						src = signals.DNT
					default:
						src = signals.GPC | signals.OptOutCookie
					}
					e := receipt.Acquire()
					e.Kind, e.Time, e.Site, e.Rules = receipt.KindResponse, at.Add(time.Duration(i)*time.Second), site.Name, set.Version()
					e.OptedOut, e.Denied, e.Sources, e.Status = true, site.Deny, src, 200
					if rng.IntN(3) == 0 { // an asset: cookies only
						e.CookieDroppedRequest(ga, ga.Category)
						e.CookieExpired(ga, ga.Category)
						l.Add(e)
						continue
					}
					e.HTML = true
					tr.pages[key]++
					src.Each(func(i int) { tr.bySource[key+"/"+signals.SourceNames()[i]]++ })
					for _, rm := range pages[rng.IntN(len(pages))].removed {
						e.AddRemoval(rm.Vendor, rm.Vendor.Category, rm.Action, rm.Element, rm.Count)
						tr.elements[key+"/"+rm.Vendor.ID] += rm.Count
					}
					e.CookieDroppedResponse(ga, ga.Category)
					e.CookieDroppedResponse(fbp, fbp.Category)
					e.SetCookie([]byte("_ga"))
					e.SetCookie([]byte("nw_session"))
					if rng.IntN(400) == 0 {
						e.AddFailClosed("undecodable")
						tr.failClosed++
					}
					l.Add(e)
				}
				e := receipt.Acquire()
				e.Kind, e.Time, e.Site, e.Requests = receipt.KindTally, at.Add(59*time.Minute), site.Name, tally
				l.Add(e)
				c := receipt.Acquire()
				c.Kind, c.Time, c.Site, c.Rules, c.Path, c.Result, c.Status = receipt.KindCanary, at.Add(30*time.Minute), site.Name, set.Version(), "/", "pass", 200
				l.Add(c)
			}
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestReportOfSimulatedDays(t *testing.T) {
	set := testSet(t)
	dir := t.TempDir()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	tr := simulate(t, dir, set, start, 3)
	files, err := receipt.Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("%d receipt files; the simulation should rotate", len(files))
	}
	rep, err := BuildReport(files, ReportOptions{From: start, To: start.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Chain.OK || rep.Chain.Lost != 0 {
		t.Fatalf("chain: %+v", rep.Chain)
	}
	if len(rep.Sites) != 2 || rep.Sites[0].Site != "blog" || len(rep.Sites[0].Days) != 2 {
		t.Fatalf("want blog and www with two days each (the third is outside --to): %+v", rep.Sites)
	}
	for _, s := range rep.Sites {
		for _, d := range s.Days {
			key := s.Site + "/" + d.Date
			total := d.Requests.OptedOut + d.Requests.NotOptedOut
			if total != tr.requests[key] || d.Requests.OptedOut != tr.optedOut[key] || d.Pages != tr.pages[key] {
				t.Errorf("%s: requests %d opted out %d pages %d; sent %d, %d, %d", key, total, d.Requests.OptedOut, d.Pages,
					tr.requests[key], tr.optedOut[key], tr.pages[key])
			}
			for src, n := range d.BySource {
				if tr.bySource[key+"/"+src] != n {
					t.Errorf("%s: %d page views by %s, sent %d", key, n, src, tr.bySource[key+"/"+src])
				}
			}
			for v, n := range d.ByVendor {
				if tr.elements[key+"/"+v] != n {
					t.Errorf("%s: %d elements of %s, sent %d", key, n, v, tr.elements[key+"/"+v])
				}
			}
			if d.Canary["pass"] != 24 {
				t.Errorf("%s: %d canary passes, want 24", key, d.Canary["pass"])
			}
		}
	}
	if len(rep.Delivered) != 0 {
		t.Errorf("delivered %v, want none", rep.Delivered)
	}
	var md, js, page bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**Receipt chain:** intact", "**Denied elements delivered to opted-out visitors:** 0", "## Site www", "google-tag-manager"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Sites) != 2 {
		t.Errorf("json: %v", err)
	}
	for _, bad := range []string{"<script", "http://", "https://", "src=", "@import", "url("} {
		if strings.Contains(strings.ToLower(page.String()), bad) {
			t.Errorf("the HTML report contains %q: it must be self-contained, with no script", bad)
		}
	}
}

// TestReportShowsDeliveredElements: a canary leak and a shadow-mode
// response are what the receipts show of a denied element reaching an
// opted-out visitor; fail-closed branches are listed apart.
func TestReportShowsDeliveredElements(t *testing.T) {
	set := testSet(t)
	dir := t.TempDir()
	l, err := receipt.Open(receipt.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	e := receipt.Acquire()
	e.Kind, e.Time, e.Site, e.Shadow, e.OptedOut, e.Denied, e.Sources, e.HTML = receipt.KindResponse, at, "www", true, true, rules.DefaultDeny, signals.GPC, true
	e.AddRemoval(set.VendorByID("google-tag-manager"), rules.Advertising, rules.Remove, "script", 2)
	l.Add(e)
	c := receipt.Acquire()
	c.Kind, c.Time, c.Site, c.Path, c.Result = receipt.KindCanary, at, "www", "/pricing", "leak"
	c.AddLeak(receipt.Leak{What: "element", Vendor: "google-analytics", Category: "analytics", Element: "script", Name: "inline"})
	l.Add(c)
	f := receipt.Acquire()
	f.Kind, f.Time, f.Site, f.OptedOut, f.Denied, f.Sources = receipt.KindResponse, at, "www", true, rules.DefaultDeny, signals.GPC
	f.AddFailClosed("undecodable")
	l.Add(f)
	canaryReq := receipt.Acquire()
	canaryReq.Kind, canaryReq.Time, canaryReq.Site, canaryReq.Canary, canaryReq.OptedOut, canaryReq.HTML = receipt.KindResponse, at, "www", true, true, true
	l.Add(canaryReq)
	l.Close()
	files, _ := receipt.Files(dir)
	rep, err := BuildReport(files, ReportOptions{From: at.Truncate(24 * time.Hour), To: at.Truncate(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Delivered) != 2 || rep.Delivered[0].Kind != "shadow" || rep.Delivered[1].Kind != "canary" ||
		!strings.Contains(rep.Delivered[1].Detail, "google-analytics (analytics) <script inline>") {
		t.Errorf("delivered %+v", rep.Delivered)
	}
	if len(rep.Events) != 1 || rep.Events[0].Kind != "fail_closed" || rep.Events[0].Line == 0 {
		t.Errorf("events %+v", rep.Events)
	}
	if d := rep.Sites[0].Days[0]; d.Responses != 2 || d.Pages != 1 || d.Shadow != 1 {
		t.Errorf("day %+v: the canary's own request must not count as a visitor", d)
	}
	if _, err := BuildReport(files, ReportOptions{From: at, To: at.AddDate(0, 0, -1)}); err == nil {
		t.Error("--to before --from accepted")
	}
}
