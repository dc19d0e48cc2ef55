package realpages

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// selfTestPages exercise every way a request can escape a naive recorder:
// a dedicated worker, a cross-site iframe (localhost is another site than
// 127.0.0.1, so with site isolation it would be an out-of-process frame)
// with its own worker, a request from a timer, a preconnect no request
// follows, an IP-literal URL (it must reach the sink, not the network), and
// a navigation of the page away. Its hosts are unknown to the catalogue and
// the list, so the rewriter leaves its script alone with and without the
// signal — but for one ad image, which both judgements flag: without a
// signal it must reach the sink. (Debian's chromium wrapper adds
// --load-extension for uBlock Origin when webext-ublock-origin-chromium is
// installed, as it is here for its lists; --disable-extensions must win, or
// the measure would see a content blocker's browser, not a visitor's.) The
// worker also fetches the page itself, so the upstream sees whether the
// worker's requests carry Sec-GPC.
var selfTestPages = []*Page{
	{Name: "selftest", Host: "selftest.example", Charset: "utf-8", HTML: []byte(`<!doctype html>
<html><head><meta charset="utf-8"><title>self test</title>
<link rel="preconnect" href="https://preconnect.selftest.example">
</head><body><p>The measure's self-test page.</p>
<img src="http://192.0.2.1/ip-literal.gif" alt="">
<img src="https://pagead2.googlesyndication.com/pagead/imgad?id=selftest" alt="">
<script>
var worker = "fetch('https://worker-fetch.selftest.example/w').catch(function(){});" +
  "fetch('" + location.href + "').catch(function(){});";
new Worker(URL.createObjectURL(new Blob([worker], {type: "text/javascript"})));
var f = document.createElement("iframe");
f.src = "http://localhost:" + location.port + "/p/selftest-frame";
document.body.appendChild(f);
setTimeout(function () { new Image().src = "https://timer.selftest.example/t.gif"; }, 100);
setTimeout(function () { location.href = "https://away.selftest.example/"; }, 150);
console.error("selftest console error", 42);
setTimeout(function () { throw new Error("selftest exception at " + Date.now()); }, 0);
</script></body></html>`)},
	{Name: "selftest-frame", Host: "selftest.example", HTML: []byte(`<!doctype html><p>frame</p>
<img src="https://frame-pixel.selftest.example/p.gif">
<script>new Worker(URL.createObjectURL(new Blob(["fetch('https://frame-worker.selftest.example/w').catch(function(){})"])));</script>`)},
}

// TestSelfTest proves the recorder on a page built for it: requests of
// workers, of a cross-site frame and of its worker, of timers and
// preconnects are recorded; Sec-GPC: 1 reaches the upstream from the page
// and from its worker; exceptions and console errors are seen and
// normalised; a navigation away is recorded and refused, and the page's
// text is read.
func TestSelfTest(t *testing.T) {
	exe, list := browserEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Measure(ctx, Options{Pages: selfTestPages, Chromium: exe, List: list, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Results[0]
	if r.Page != "selftest" || r.Err != "" {
		t.Fatalf("selftest: %+v", r)
	}
	for _, l := range []struct {
		name string
		load *Load
		gpc  string
	}{{"without a signal", r.Plain, ""}, {"with Sec-GPC: 1", r.GPC, "1"}} {
		frame := map[string]string{}
		for _, q := range l.load.Requests {
			frame[q.Host] = q.Frame
		}
		for host, want := range map[string]string{
			"worker-fetch.selftest.example": "worker",
			"frame-pixel.selftest.example":  "frame",
			"frame-worker.selftest.example": "worker",
			"timer.selftest.example":        "main",
			"away.selftest.example":         "main",
		} {
			if got, ok := frame[host]; !ok || got != want {
				t.Errorf("%s: request to %s recorded in frame %q (recorded: %v), want %q", l.name, host, got, ok, want)
			}
		}
		if frame["192.0.2.1"] != "main" || !slices.Contains(l.load.Connections, "192.0.2.1") {
			t.Errorf("%s: the IP-literal image was not recorded and sent to the sink: connections %q", l.name, l.load.Connections)
		}
		if !slices.ContainsFunc(l.load.ConnectOnly, func(q Request) bool { return q.Host == "preconnect.selftest.example" }) {
			t.Errorf("%s: the preconnect was not seen by the sink: connections %q", l.name, l.load.Connections)
		}
		if want := []string{l.gpc, l.gpc}; !slices.Equal(l.load.UpstreamGPC, want) {
			t.Errorf("%s: the upstream saw Sec-GPC %q on the document and the worker's fetch, want %q", l.name, l.load.UpstreamGPC, want)
		}
		if !slices.Contains(l.load.Exceptions, "Uncaught Error: selftest exception at N") &&
			!slices.Contains(l.load.Exceptions, "Error: selftest exception at N") {
			t.Errorf("%s: exceptions %q, want the normalised selftest exception", l.name, l.load.Exceptions)
		}
		if !slices.Contains(l.load.ConsoleErrors, "selftest console error 42") {
			t.Errorf("%s: console errors %q, want the selftest one", l.name, l.load.ConsoleErrors)
		}
		if !slices.Contains(l.load.NavigationsAway, "https://away.selftest.example/") {
			t.Errorf("%s: navigations away %q", l.name, l.load.NavigationsAway)
		}
		if want := len("The measure's self-test page.\n\n"); l.load.Text < want-4 {
			t.Errorf("%s: rendered text %d characters: the page did not stay", l.name, l.load.Text)
		}
		if l.load.Workers < 2 {
			t.Errorf("%s: %d workers attached, want 2", l.name, l.load.Workers)
		}
	}
	// (The text ratio is not asserted: removing the ad image may change
	// the opted-out page's white space.)
	if !r.GPCSent || !r.Identical || len(r.NewExceptions) > 0 {
		t.Errorf("selftest: sent %v, identical %v, new exceptions %q", r.GPCSent, r.Identical, r.NewExceptions)
	}
	if c, l := r.Plain.Trackers(); c != 1 || l != 1 {
		t.Errorf("selftest without a signal: %d / %d tracker requests (catalogue / list), want the ad image: 1 / 1", c, l)
	}
	if !slices.Contains(r.Plain.Connections, "pagead2.googlesyndication.com") {
		t.Errorf("selftest without a signal: the ad image did not reach the sink (a content blocker in the browser?): connections %q", r.Plain.Connections)
	}
	// The frame page, measured after the self-test page on the same
	// browser, connects to its own hosts only: nothing of the earlier loads
	// (a late connection, a preconnect Chromium learned) is counted as its.
	fr := rep.Results[1]
	for _, l := range []*Load{fr.Plain, fr.GPC} {
		for _, h := range l.Connections {
			if strings.HasSuffix(h, ".selftest.example") && h != "frame-pixel.selftest.example" && h != "frame-worker.selftest.example" {
				t.Errorf("selftest-frame: a connection to %s, which only the earlier page requests", h)
			}
		}
	}
	if strings.Contains(strings.Join(r.Plain.Connections, " "), "127.0.0.1") {
		t.Errorf("the sink saw a loopback connection: %q", r.Plain.Connections)
	}
}
