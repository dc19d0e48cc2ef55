package realpages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
)

// Options configure Measure.
type Options struct {
	// Pages are the pages to load (ReadPages).
	Pages []*Page
	// Chromium is the browser's executable (FindChromium).
	Chromium string
	// List is the independent tracker list (ReadLists); nil leaves the list
	// judgement out.
	List *List
	// Parallel is how many browsers load pages at once (default 2). Each
	// browser loads one page at a time.
	Parallel int
	// Timing bounds each load (default DefaultTiming).
	Timing Timing
	// Progress, if set, is called with each page's result as it completes
	// (from several goroutines, one call at a time).
	Progress func(*Result)
}

// Report is the measurement of every page.
type Report struct {
	Results []*Result `json:"results"` // by page name
	// Catalogue is the rule set's version (rules.Set.Version).
	Catalogue string     `json:"catalogue"`
	List      *ListStats `json:"list,omitempty"`
	Parallel  int        `json:"parallel"`
	// Elapsed is the wall time of every load, browsers' starts included.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Result is one page loaded without a signal and with Sec-GPC: 1.
type Result struct {
	Page string `json:"page"`
	Host string `json:"host"`
	// Plain is the load without a signal, GPC the one with Sec-GPC: 1.
	Plain *Load `json:"plain"`
	GPC   *Load `json:"gpc"`
	// GPCSent: the upstream saw Sec-GPC: 1 (which consentgate adds for an
	// opted-out visitor) on the document request of the GPC load and no
	// Sec-GPC on the plain one: Chromium sent the header, and consentgate
	// read it.
	GPCSent bool `json:"gpc_sent"`
	// Identical: without a signal, consentgate's response bytes equal the
	// upstream's (fetched over HTTP with a browser's headers).
	Identical bool `json:"identical"`
	// NewExceptions and NewConsoleErrors are those of the GPC load that the
	// plain load does not have (normalised messages).
	NewExceptions    []string `json:"new_exceptions,omitempty"`
	NewConsoleErrors []string `json:"new_console_errors,omitempty"`
	// TextRatio is the GPC load's rendered text length over the plain
	// load's (1 when both are empty).
	TextRatio float64 `json:"text_ratio"`
	// Err is why the page could not be measured ("" when it was).
	Err string `json:"error,omitempty"`
}

// Measure serves opt.Pages through consentgate and loads each in headless
// Chromium without a signal and with Sec-GPC: 1. An error is returned only
// when nothing can be measured (no browser, no server); a page that fails
// has Result.Err.
func Measure(ctx context.Context, opt Options) (*Report, error) {
	start := time.Now()
	if opt.Parallel <= 0 {
		opt.Parallel = 2
	}
	if opt.Timing == (Timing{}) {
		opt.Timing = DefaultTiming
	}
	if len(opt.Pages) == 0 {
		return nil, errors.New("no pages to measure")
	}
	s, err := startSite(opt.Pages)
	if err != nil {
		return nil, fmt.Errorf("starting the upstream and consentgate: %w", err)
	}
	defer s.close()
	j := &judge{set: s.set, policy: s.policy, list: opt.List}
	rep := &Report{Catalogue: s.set.Version(), Parallel: min(opt.Parallel, len(opt.Pages))}
	if opt.List != nil {
		rep.List = &opt.List.Stats
	}

	jobs := make(chan *Page)
	results := make(chan *Result)
	var wg sync.WaitGroup
	var launchErr error
	var once sync.Once
	for range min(opt.Parallel, len(opt.Pages)) {
		wg.Go(func() {
			var b *browser
			defer func() {
				if b != nil {
					b.close()
				}
			}()
			for p := range jobs {
				if b == nil {
					nb, err := launch(ctx, opt.Chromium, opt.Timing)
					if err != nil {
						once.Do(func() { launchErr = err })
						results <- &Result{Page: p.Name, Host: p.Host, Err: err.Error()}
						continue
					}
					b = nb
				}
				r := measurePage(ctx, b, s, j, p)
				if r.Err != "" {
					// A browser that failed a load is replaced: the next
					// page must not inherit its state.
					b.close()
					b = nil
				}
				results <- r
			}
		})
	}
	go func() {
		defer close(jobs)
		for _, p := range opt.Pages {
			select {
			case jobs <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	for r := range results {
		rep.Results = append(rep.Results, r)
		if opt.Progress != nil {
			opt.Progress(r)
		}
	}
	sort.Slice(rep.Results, func(a, b int) bool { return rep.Results[a].Page < rep.Results[b].Page })
	rep.Elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if launchErr != nil && !slices.ContainsFunc(rep.Results, func(r *Result) bool { return r.Err == "" }) {
		return nil, fmt.Errorf("no page measured: %w", launchErr)
	}
	return rep, nil
}

// measurePage loads one page twice, each load retried once on error.
func measurePage(ctx context.Context, b *browser, s *site, j *judge, p *Page) *Result {
	r := &Result{Page: p.Name, Host: p.Host}
	status, viaProxy, enc, err := fetchPage(s.url[len("http://"):], p.Name)
	if err == nil {
		var direct []byte
		var dstatus int
		var denc string
		dstatus, direct, denc, err = fetchPage(s.upstream, p.Name)
		r.Identical = err == nil && status == dstatus && enc == denc && bytes.Equal(viaProxy, direct) && bytes.Equal(direct, p.HTML)
	}
	for i, h := range []network.Headers{nil, {"Sec-GPC": "1"}} {
		var l *Load
		err := ctx.Err()
		for try := 0; try < 2 && ctx.Err() == nil; try++ {
			s.takeGPC(p.Name)
			if l, err = b.load(ctx, s.pageURL(p.Name), h); err == nil {
				break
			}
		}
		seen := s.takeGPC(p.Name)
		if err != nil {
			r.Err = err.Error()
			return r
		}
		hosts := map[string]bool{}
		for k := range l.Requests {
			j.verdict(&l.Requests[k], p.Host)
			hosts[l.Requests[k].Host] = true
		}
		for _, h := range l.Connections {
			if !hosts[h] {
				q := Request{Host: h, Type: "Connection"}
				j.verdict(&q, p.Host)
				l.ConnectOnly = append(l.ConnectOnly, q)
			}
		}
		l.UpstreamGPC = seen
		l.Exceptions = normaliseAll(l.Exceptions)
		l.ConsoleErrors = normaliseAll(l.ConsoleErrors)
		if i == 0 {
			r.Plain = l
		} else {
			r.GPC = l
		}
	}
	r.GPCSent = len(r.GPC.UpstreamGPC) > 0 && !slices.ContainsFunc(r.GPC.UpstreamGPC, func(v string) bool { return v != "1" }) &&
		len(r.Plain.UpstreamGPC) > 0 && !slices.ContainsFunc(r.Plain.UpstreamGPC, func(v string) bool { return v != "" })
	r.NewExceptions = newIn(r.GPC.Exceptions, r.Plain.Exceptions)
	r.NewConsoleErrors = newIn(r.GPC.ConsoleErrors, r.Plain.ConsoleErrors)
	switch {
	case r.Plain.Text > 0:
		r.TextRatio = float64(max(r.GPC.Text, 0)) / float64(r.Plain.Text)
	case r.GPC.Text > 0:
		r.TextRatio = 1 // nothing to lose
	default:
		r.TextRatio = 1
	}
	return r
}

// newIn returns the distinct messages of a that b does not have.
func newIn(a, b []string) []string {
	var out []string
	for _, m := range a {
		if !slices.Contains(b, m) && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

var (
	reOrigin = regexp.MustCompile(`(?i)\b(https?://)?(127\.0\.0\.1|localhost|\[::1\]):\d+`)
	reUUID   = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	reNumber = regexp.MustCompile(`\d{4,}`)
	reSpace  = regexp.MustCompile(`\s+`)
)

// normalise makes a message comparable between two loads and two runs: the
// loopback origin (its port changes every run), UUIDs (blob: URLs) and
// numbers of four digits or more (timestamps, random ids) are replaced, runs
// of white space collapsed and the message cut at 300 bytes.
func normalise(m string) string {
	m = reOrigin.ReplaceAllString(m, "ORIGIN")
	m = reUUID.ReplaceAllString(m, "UUID")
	m = reNumber.ReplaceAllString(m, "N")
	m = reSpace.ReplaceAllString(m, " ")
	if len(m) > 300 {
		m = m[:300]
	}
	return m
}

func normaliseAll(ms []string) []string {
	for i, m := range ms {
		ms[i] = normalise(m)
	}
	return ms
}
