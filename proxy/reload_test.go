package proxy_test

import (
	"context"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/rules/reload"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// TestReloadUnderLoad reloads the rules 100 times while opted-out requests
// flow. Two configs deny different categories of one page, so a response
// rewritten with a mix of both sets would show it. No request may fail, no
// response may mix the sets, and a bad config keeps the last good set.
func TestReloadUnderLoad(t *testing.T) {
	page := `<html><head><script src="https://static.hotjar.com/c/hotjar-1.js"></script>` +
		`<script src="https://connect.facebook.net/en_US/fbevents.js"></script></head><body>` +
		strings.Repeat("<p>content</p>", 500) + `</body></html>`
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		ctx.SetBodyString(page)
	})
	cfg := func(deny string) []byte {
		return []byte("upstream: http://" + up.addr + "\nsites:\n  - name: www\n    hosts: ['*']\n    deny: [" + deny + "]\n")
	}
	h := reload.NewHolder(nil)
	h.Grace = -1 // close replaced sets at once: a request still using one must not care
	if _, err := h.ReloadData(cfg("analytics"), "a.yaml"); err != nil {
		t.Fatal(err)
	}
	reader := signals.NewReader()
	defer reader.Close()
	srv, err := proxy.New(proxy.Options{Rules: h, Signals: reader, Metrics: proxy.NewMetrics(prometheus.NewRegistry())})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)                         //nolint:errcheck
	defer srv.Shutdown(context.Background()) //nolint:errcheck
	c := &fasthttp.HostClient{Addr: ln.Addr().String()}
	defer c.CloseIdleConnections()

	var stop atomic.Bool
	var requests, failed, mixed atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := 0; i < 5000 && !stop.Load(); i++ {
				req.SetRequestURI("http://www.example.com/")
				req.Header.Set("Sec-GPC", "1")
				requests.Add(1)
				if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					failed.Add(1)
					continue
				}
				body := string(resp.Body())
				hotjar, meta := strings.Contains(body, "static.hotjar.com"), strings.Contains(body, "connect.facebook.net")
				if hotjar == meta || !strings.HasSuffix(body, "</body></html>") {
					mixed.Add(1)
				}
			}
		}()
	}
	for requests.Load() < 20 && failed.Load() == 0 {
		runtime.Gosched() // let requests start flowing before the first reload
	}
	for i := range 100 {
		deny := "analytics"
		if i%2 == 0 {
			deny = "advertising"
		}
		if _, err := h.ReloadData(cfg(deny), "c.yaml"); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	good := h.Load()
	if _, err := h.ReloadData([]byte("sites: [{name: x, hosts: ['*'], deny: [nonsense]}]\n"), "bad.yaml"); err == nil {
		t.Error("a bad config was accepted")
	}
	if h.Load() != good {
		t.Error("a bad config replaced the last good rules")
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d requests during 100 reloads: %d failed, %d mixed", requests.Load(), failed.Load(), mixed.Load())
	if failed.Load() != 0 || mixed.Load() != 0 || requests.Load() == 0 {
		t.Errorf("%d requests during 100 reloads: %d failed, %d mixed one response across rule sets", requests.Load(), failed.Load(), mixed.Load())
	}
}
