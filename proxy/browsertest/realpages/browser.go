package realpages

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/consentgate/consentgate/proxy/browsertest/internal/chrome"
	"github.com/consentgate/consentgate/proxy/proxytest"
)

// Timing of one load. Navigation bounds the wait for the load event. Then,
// if Virtual is set, the page's clock is fast-forwarded: virtual time
// advances whenever no fetch is pending, until Virtual has passed on it
// (every timer due by then fires, in order, in far less wall time), at most
// Settle of wall time. Then the load ends Quiet after the last request
// started, at most Settle later. Every wait is bounded: a load takes at
// most Navigation + 2 × Settle + a few seconds.
type Timing struct {
	Navigation time.Duration
	Virtual    time.Duration
	Quiet      time.Duration
	Settle     time.Duration
}

// DefaultTiming is the timing the test and the command use: 5 s of the
// page's life after the load event, however long its timers wait within
// that (a loader on setTimeout(…, 1000) fired in some runs and not others
// with a wall-clock quiet period alone).
var DefaultTiming = Timing{Navigation: 15 * time.Second, Virtual: 5 * time.Second, Quiet: 500 * time.Millisecond, Settle: 3 * time.Second}

// limit bounds one load: navigation, virtual time, quiet period, and ten
// seconds for the tab's set-up, the text and the sink.
func (t Timing) limit() time.Duration { return t.Navigation + 2*t.Settle + 10*time.Second }

// FindChromium returns the path of the Chromium executable: $CHROMIUM, else
// /usr/bin/chromium, else chromium or chromium-browser on $PATH.
func FindChromium() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, n := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found (Debian: apt-get install chromium; or set CHROMIUM)")
}

// browser is one headless Chromium with its own sink and profile. Loads on
// one browser run one at a time, each in a new tab after clearing cookies,
// cache and the loopback origins' storage, so the connections its sink sees
// between two loads belong to the load in between.
type browser struct {
	ctx     context.Context // the browser's first tab; cancel to close
	cancel  func()
	sink    *chrome.Sink
	dir     string
	out     *proxytest.Buffer // the first 64 KiB of Chromium's output
	timing  Timing
	loopAll bool
}

// launch starts Chromium. Every host but loopback resolves to the sink.
func launch(ctx context.Context, exe string, timing Timing) (*browser, error) {
	sk, err := chrome.StartSink(false)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "realpages-chromium-")
	if err != nil {
		sk.Close()
		return nil, err
	}
	b := &browser{sink: sk, dir: dir, out: &proxytest.Buffer{Max: 64 << 10}, timing: timing}
	opts := append(chrome.Flags(exe, dir, b.out),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("autoplay-policy", "user-gesture-required"),
		// Every frame of a page stays in the page's renderer and target, so
		// one Network domain sees the requests of every frame; workers are
		// attached as their own targets (see load).
		chromedp.Flag("disable-site-isolation-trials", true),
		// LoadingPredictorUseLocalPredictions: Chromium learns which
		// hosts a page loads and preconnects to them on the next visit;
		// the opted-out load of a page follows its unsignalled load, so
		// without this the plain load's trackers showed up as connections
		// of the opted-out one on some runs.
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,IsolateOrigins,site-per-process,InterestFeedContentSuggestions,AutofillServerCommunication,PrivacySandboxSettings4,LoadingPredictorUseLocalPredictions"),
		chromedp.Flag("use-mock-keychain", true),
		// Every host but loopback is the sink: no connection leaves the
		// machine, none waits on DNS, and a connection that no request
		// event shows (a preconnect) is still seen. localhost stays
		// loopback so a test page can open a cross-site frame.
		chromedp.Flag("host-resolver-rules", "MAP * "+sk.Addr+", EXCLUDE 127.0.0.1, EXCLUDE localhost"),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	b.ctx = bctx
	b.cancel = func() { bcancel(); acancel() }
	if err := chromedp.Run(bctx); err != nil {
		// No graceful close of a browser that did not start: chromedp.Cancel
		// would take the one "allocated" token the cancel below waits for.
		b.cancel()
		b.release()
		return nil, fmt.Errorf("starting %s: %w\n%s", exe, err, b.out.String())
	}
	return b, nil
}

// close shuts the browser down gracefully (bounded), then the sink.
func (b *browser) close() {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	chromedp.Cancel(ctx) //nolint:errcheck // closing: the process is killed below if this failed
	cancel()
	b.cancel()
	b.release()
}

// release stops the sink and removes the profile.
func (b *browser) release() {
	b.sink.Close()
	os.RemoveAll(b.dir)
}

// Request is one request the browser attempted.
type Request struct {
	URL  string `json:"url"`
	Host string `json:"host"`
	// Type is Chromium's resource type: Document, Script, Image, XHR, ...
	Type string `json:"type"`
	// Frame is "main", "frame" (a child frame) or "worker".
	Frame string `json:"frame"`
	// Initiator is what started the request, as the DevTools protocol
	// says: "parser" (markup, with the document's URL), "script" (with the
	// URL of the innermost script frame on the stack; the page's own URL
	// means an inline script, "" an eval'd one), "preload", "other".
	Initiator     string `json:"initiator"`
	InitiatorURL  string `json:"initiator_url,omitempty"`
	InitiatorLine int    `json:"initiator_line,omitempty"`

	// The judgements (see judge): Vendor and Category of a vendor the
	// catalogue denies by default; Rule, the list's blocking rule that
	// applies; Exception, the list's exception that lifted one; Excluded,
	// the exclusion that dropped the list's hit.
	Vendor    string `json:"vendor,omitempty"`
	Category  string `json:"category,omitempty"`
	Rule      string `json:"rule,omitempty"`
	Exception string `json:"exception,omitempty"`
	Excluded  string `json:"excluded,omitempty"`
}

// Load is what one page load did.
type Load struct {
	Requests []Request `json:"requests"`
	// Connections are the hosts the browser opened a connection to (each
	// once), seen by the sink: requests, and also preconnects.
	Connections []string `json:"connections,omitempty"`
	// ConnectOnly are the Connections to a host no request went to (a
	// preconnect, or Chromium's own services), judged as requests are.
	ConnectOnly []Request `json:"connect_only,omitempty"`
	// Exceptions are the uncaught exceptions (Runtime.exceptionThrown),
	// normalised (see normalise).
	Exceptions []string `json:"exceptions,omitempty"`
	// ConsoleErrors are console.error calls and error-level log entries
	// other than network failures; NetworkErrors are the network failures
	// (every tracker here fails to connect, by design).
	ConsoleErrors []string `json:"console_errors,omitempty"`
	NetworkErrors int      `json:"network_errors"`
	// Text is document.body.innerText.length after the page settled.
	Text int `json:"text"`
	// NavigationsAway are the page's attempts to navigate its main frame
	// away (to a non-loopback URL); each is refused (see load).
	NavigationsAway []string `json:"navigations_away,omitempty"`
	// UpstreamGPC is the Sec-GPC header of each request for the page's
	// own URL that reached the upstream during the load ("" where there was
	// none): the document, and any fetch of it by the page or a worker.
	UpstreamGPC []string `json:"upstream_gpc"`
	// Workers counts the worker targets attached during the load.
	Workers int `json:"workers,omitempty"`
	// Elapsed is the wall time of the load.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// recorder collects what one load does, from the page target and from
// every worker target attached to it.
type recorder struct {
	mu      sync.Mutex
	main    cdp.FrameID
	load    Load
	last    time.Time
	workers map[target.ID]bool
}

func (r *recorder) request(u string, typ network.ResourceType, frame string, in *network.Initiator) {
	q := Request{URL: u, Host: urlHost(u), Type: string(typ), Frame: frame}
	if in != nil {
		q.Initiator = string(in.Type)
		q.InitiatorURL = in.URL
		q.InitiatorLine = int(in.LineNumber) + 1
		if in.Stack != nil {
			if f := firstFrame(in.Stack); f != nil {
				q.InitiatorURL, q.InitiatorLine = f.URL, int(f.LineNumber)+1
			}
		}
	}
	r.load.Requests = append(r.load.Requests, q)
	r.last = time.Now()
}

// firstFrame returns the innermost call frame of a stack that is the
// page's own code, following async parents (a setTimeout callback's stack
// is empty but its parent is not). Frames of consentgate's own scripts
// (paths under /.consentgate/ on loopback: the runtime guard wraps the DOM
// and network APIs, so it is the innermost frame of every request it lets
// through) are skipped unless there is nothing else.
func firstFrame(st *runtime.StackTrace) *runtime.CallFrame {
	var first *runtime.CallFrame
	for ; st != nil; st = st.Parent {
		for _, f := range st.CallFrames {
			if first == nil {
				first = f
			}
			if !isConsentgateScript(f.URL) {
				return f
			}
		}
	}
	return first
}

// isConsentgateScript reports whether u is a script consentgate serves
// itself: a path under /.consentgate/ on the loopback origin.
func isConsentgateScript(u string) bool {
	p, err := url.Parse(u)
	return err == nil && isLoopback(urlHost(u)) && strings.HasPrefix(p.Path, "/.consentgate/")
}

// on handles an event of the page target (worker says which worker target
// it came from, or "").
func (r *recorder) on(ev any, worker bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		frame := "main"
		switch {
		case worker:
			frame = "worker"
		case ev.FrameID != "" && ev.FrameID != r.main:
			frame = "frame"
		}
		r.request(ev.Request.URL, ev.Type, frame, ev.Initiator)
	case *network.EventWebSocketCreated:
		frame := "main"
		if worker {
			frame = "worker"
		}
		r.request(ev.URL, network.ResourceTypeWebSocket, frame, ev.Initiator)
	case *runtime.EventExceptionThrown:
		r.load.Exceptions = append(r.load.Exceptions, exceptionText(ev.ExceptionDetails))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.APITypeError {
			r.load.ConsoleErrors = append(r.load.ConsoleErrors, consoleText(ev.Args))
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		if e.Level != log.LevelError {
			break
		}
		if e.Source == log.SourceNetwork {
			r.load.NetworkErrors++
			break
		}
		r.load.ConsoleErrors = append(r.load.ConsoleErrors, string(e.Source)+": "+e.Text)
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	msg := d.Text
	if d.Exception != nil {
		switch {
		case d.Exception.Description != "":
			// "TypeError: x is not a function\n    at ..." : the first line.
			desc, _, _ := strings.Cut(d.Exception.Description, "\n")
			msg = desc
		case len(d.Exception.Value) > 0:
			msg += " " + string(d.Exception.Value)
		}
	}
	return msg
}

func consoleText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case len(a.Value) > 0:
			parts = append(parts, strings.Trim(string(a.Value), `"`))
		case a.Description != "":
			d, _, _ := strings.Cut(a.Description, "\n")
			parts = append(parts, d)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

// sinceLast is how long ago the last request started.
func (r *recorder) sinceLast() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Since(r.last)
}

// load opens u in a new tab with the headers on every request, waits for it
// to settle (Timing) and returns what it did.
func (b *browser) load(ctx context.Context, u string, headers network.Headers) (*Load, error) {
	start := time.Now()
	b.sink.Take()
	t, err := b.openTab(ctx)
	if err != nil {
		return nil, err
	}
	defer t.close()
	r := &recorder{main: cdp.FrameID(t.id), workers: map[target.ID]bool{}}
	var wg sync.WaitGroup
	defer wg.Wait()
	b.listen(t.ctx, r, &wg, headers)
	if err := setUpTab(t.ctx, u, headers); err != nil {
		return nil, err
	}
	nctx, ncancel := context.WithTimeout(t.ctx, b.timing.Navigation)
	err = chromedp.Run(nctx, chromedp.Navigate(u))
	ncancel()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("loading %s: %w", u, err)
	}
	if b.timing.Virtual > 0 {
		b.fastForward(t.ctx)
	}
	b.waitQuiet(t.ctx, r)
	var text int
	if err := chromedp.Run(t.ctx, chromedp.Evaluate(`document.body ? document.body.innerText.length : -1`, &text)); err != nil {
		return nil, fmt.Errorf("reading the rendered text of %s: %w", u, err)
	}
	out := r.take()
	out.Text = text
	// The tab is closed, then the sink given time for connections already
	// made (a busy machine accepts and reads them late): what it saw until
	// then is this load's, not the next one's.
	t.close()
	wg.Wait()
	b.sink.Settle(ctx, 500*time.Millisecond, 3*time.Second)
	out.Connections = unique(b.sink.Take())
	out.Elapsed = time.Since(start)
	return &out, nil
}

// tab is the tab of one load.
type tab struct {
	id  target.ID
	ctx context.Context // bounded by Timing.limit
	// cancels, in the order close calls them
	cancels []func()
}

// close detaches from the tab and closes it; it may be called again.
func (t *tab) close() {
	for _, c := range t.cancels {
		c()
	}
}

// openTab opens a new tab and attaches to it, the whole load bounded by
// Timing.limit.
//
// A new tab per load, in the browser's default context: a fresh
// (off-the-record) browser context would isolate loads for free, but
// Chromium makes no preconnect there, and a preconnect is a contact with
// the vendor. So the state an earlier load left is cleared instead (see
// setUpTab): cookies, cache, and the storage of the loopback origins (every
// page shares one). Loads on one browser never overlap.
func (b *browser) openTab(ctx context.Context) (*tab, error) {
	bctx, bcancel := context.WithTimeout(ctx, b.timing.limit())
	bx := cdp.WithExecutor(bctx, chromedp.FromContext(b.ctx).Browser)
	tid, err := target.CreateTarget("about:blank").Do(bx)
	if err != nil {
		bcancel()
		return nil, fmt.Errorf("opening a tab: %w", err)
	}
	var closeOnce sync.Once
	closeTab := func() {
		closeOnce.Do(func() {
			cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer ccancel()
			target.CloseTarget(tid).Do(cdp.WithExecutor(cctx, chromedp.FromContext(b.ctx).Browser)) //nolint:errcheck // the browser may be gone
		})
	}
	tctx, tcancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(tid))
	// Bounds everything below; a page that hangs the renderer ends here.
	tctx, cancel := context.WithTimeout(tctx, b.timing.limit())
	t := &tab{id: tid, ctx: tctx, cancels: []func(){cancel, tcancel, closeTab, bcancel}}
	if err := chromedp.Run(tctx); err != nil {
		t.close()
		return nil, fmt.Errorf("attaching to the tab: %w", err)
	}
	return t, nil
}

// listen records the events of the tab at tctx into r. A navigation of
// the main frame away from loopback is recorded and refused; a worker
// attached is watched (watchWorker) on wg.
func (b *browser) listen(tctx context.Context, r *recorder, wg *sync.WaitGroup, headers network.Headers) {
	pageExec := cdp.WithExecutor(tctx, chromedp.FromContext(tctx).Target)
	chromedp.ListenTarget(tctx, func(ev any) {
		switch ev := ev.(type) {
		case *fetch.EventRequestPaused:
			r.paused(ev, pageExec, wg)
		case *target.EventAttachedToTarget:
			if id, first := r.attached(ev); first {
				wg.Go(func() { b.watchWorker(tctx, id, r, headers) })
			}
		default:
			r.on(ev, false)
		}
	})
}

// paused lets a paused document request go on, unless it navigates the
// main frame away. A script that navigates the page away (a redirect to
// the site's own host, a frame buster) would leave an error page from the
// sink: the navigation is recorded, then refused, so the page stays what
// is measured. Frames navigate freely.
func (r *recorder) paused(p *fetch.EventRequestPaused, pageExec context.Context, wg *sync.WaitGroup) {
	away := p.FrameID == r.main && !isLoopback(urlHost(p.Request.URL))
	if away {
		r.mu.Lock()
		r.load.NavigationsAway = append(r.load.NavigationsAway, p.Request.URL)
		r.mu.Unlock()
	}
	wg.Go(func() {
		if away {
			fetch.FailRequest(p.RequestID, network.ErrorReasonAborted).Do(pageExec) //nolint:errcheck // the tab may be closing
		} else {
			fetch.ContinueRequest(p.RequestID).Do(pageExec) //nolint:errcheck // the tab may be closing
		}
	})
}

// attached counts a worker target attached and returns its ID and whether
// it is the first time it is seen; first is false for other targets.
func (r *recorder) attached(at *target.EventAttachedToTarget) (id target.ID, first bool) {
	switch at.TargetInfo.Type {
	case "worker", "shared_worker", "service_worker":
	default:
		return "", false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := r.workers[at.TargetInfo.TargetID]
	r.workers[at.TargetInfo.TargetID] = true
	r.load.Workers++
	return at.TargetInfo.TargetID, !seen
}

// take returns what was recorded and starts again.
func (r *recorder) take() Load {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.load
	r.load = Load{}
	return out
}

// setUpTab clears what an earlier load left (cookies, cache, the loopback
// origins' storage of u), disables the cache, pauses document requests
// (see recorder.paused), holds workers until watched and sets the headers.
func setUpTab(tctx context.Context, u string, headers network.Headers) error {
	acts := []chromedp.Action{
		network.ClearBrowserCookies(),
		network.ClearBrowserCache(),
	}
	for _, o := range loopbackOrigins(u) {
		acts = append(acts, storage.ClearDataForOrigin(o, "all"))
	}
	acts = append(acts,
		network.SetCacheDisabled(true),
		fetch.Enable().WithPatterns([]*fetch.RequestPattern{{URLPattern: "*", ResourceType: network.ResourceTypeDocument}}),
		// Workers are held until their recorder is attached (watchWorker).
		target.SetAutoAttach(true, true).WithFlatten(true),
	)
	if len(headers) > 0 {
		acts = append(acts, network.SetExtraHTTPHeaders(headers))
	}
	if err := chromedp.Run(tctx, acts...); err != nil {
		return fmt.Errorf("setting up the tab: %w", err)
	}
	return nil
}

// fastForward fast-forwards the page's timers: virtual time advances
// while no fetch is pending (every third party fails at once here), up to
// Timing.Virtual, bounded by Settle in wall time.
func (b *browser) fastForward(tctx context.Context) {
	expired := make(chan struct{})
	var once sync.Once
	chromedp.ListenTarget(tctx, func(ev any) {
		if _, ok := ev.(*emulation.EventVirtualTimeBudgetExpired); ok {
			once.Do(func() { close(expired) })
		}
	})
	policy := emulation.SetVirtualTimePolicy(emulation.VirtualTimePolicyPauseIfNetworkFetchesPending).WithBudget(float64(b.timing.Virtual.Milliseconds()))
	if err := chromedp.Run(tctx, chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := policy.Do(ctx)
		return err
	})); err == nil {
		select {
		case <-expired:
		case <-time.After(b.timing.Settle):
		case <-tctx.Done():
		}
	}
}

// waitQuiet waits until no new request started for Quiet, at most Settle.
func (b *browser) waitQuiet(tctx context.Context, r *recorder) {
	deadline := time.Now().Add(b.timing.Settle)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) && r.sinceLast() < b.timing.Quiet {
		select {
		case <-tctx.Done():
		case <-tick.C:
		}
		if tctx.Err() != nil {
			break
		}
	}
}

// watchWorker attaches a recorder to a worker target that auto-attach holds
// before its first instruction, then lets it run.
func (b *browser) watchWorker(ctx context.Context, id target.ID, r *recorder, headers network.Headers) {
	wctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
	defer cancel()
	chromedp.ListenTarget(wctx, func(ev any) { r.on(ev, true) })
	acts := []chromedp.Action{network.SetCacheDisabled(true)}
	if len(headers) > 0 {
		acts = append(acts, network.SetExtraHTTPHeaders(headers))
	}
	acts = append(acts, runtime.RunIfWaitingForDebugger())
	chromedp.Run(wctx, acts...) //nolint:errcheck // a worker may be gone before it is watched
	<-ctx.Done()
}

// loopbackOrigins are the origins a page at u uses on this machine: u's
// own, and the same port on localhost and 127.0.0.1 (a test page frames
// one from the other).
func loopbackOrigins(u string) []string {
	p, err := url.Parse(u)
	if err != nil {
		return nil
	}
	port := p.Port()
	return []string{"http://127.0.0.1:" + port, "http://localhost:" + port}
}

func unique(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
