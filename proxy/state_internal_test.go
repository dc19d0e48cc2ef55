package proxy

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentgate/consentgate/rules/reload"
	"github.com/consentgate/consentgate/signals"
	"github.com/valyala/fasthttp"
)

// TestReloadPrunesUpstreamClients: an upstream no site uses any more loses
// its client at the swap; the map holds what the current set uses, not
// every upstream the process ever had.
func TestReloadPrunesUpstreamClients(t *testing.T) {
	h := reload.NewHolder(nil)
	h.Grace = -1
	cfg := func(port int) []byte {
		return fmt.Appendf(nil, "upstream: http://127.0.0.1:%d\nsites:\n  - name: a\n    hosts: ['*']\n", port)
	}
	if _, err := h.ReloadData(cfg(1000), "a.yaml"); err != nil {
		t.Fatal(err)
	}
	sig := signals.NewReader()
	defer sig.Close()
	s, err := New(Options{Rules: h, Signals: sig})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context()) //nolint:errcheck
	for port := 1001; port <= 1100; port++ {
		if _, err := h.ReloadData(cfg(port), "a.yaml"); err != nil {
			t.Fatal(err)
		}
		s.current() // what a request does
	}
	s.mu.Lock()
	n, r := len(s.clients), len(s.retired)
	s.mu.Unlock()
	if n != 1 || r != 0 {
		t.Errorf("after 100 reloads to new upstreams: %d clients, %d retired; want 1 and 0 (no connection was open)", n, r)
	}
}

// TestRetiredClientWaitsForItsRequest: a reload away from an upstream does
// not cut the request that is using it; its connection is closed once the
// request is done (at the next swap here, or by fasthttp's idle cleaner).
func TestRetiredClientWaitsForItsRequest(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open atomic.Int64
	up := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			entered <- struct{}{}
			<-release
			ctx.SetBodyString("done")
		},
		ConnState: func(_ net.Conn, st fasthttp.ConnState) {
			switch st {
			case fasthttp.StateNew:
				open.Add(1)
			case fasthttp.StateClosed:
				open.Add(-1)
			}
		},
	}
	go up.Serve(ln)                              //nolint:errcheck
	defer func() { up.Shutdown(); ln.Close() }() //nolint:errcheck

	h := reload.NewHolder(nil)
	h.Grace = -1
	cfg := func(upstream string) []byte {
		return []byte("upstream: " + upstream + "\nsites:\n  - name: a\n    hosts: ['*']\n")
	}
	if _, err := h.ReloadData(cfg("http://"+ln.Addr().String()), "a.yaml"); err != nil {
		t.Fatal(err)
	}
	sig := signals.NewReader()
	defer sig.Close()
	s, err := New(Options{Rules: h, Signals: sig})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context()) //nolint:errcheck
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetRequestURI("/")
	ctx.Request.Header.SetHost("www.example.com")
	done := make(chan struct{})
	go func() { defer close(done); s.Handle(&ctx) }()
	select {
	case <-entered:
	case <-done:
		t.Fatalf("the request never reached the upstream: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if _, err := h.ReloadData(cfg("http://127.0.0.1:1"), "a.yaml"); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-done
	if got := string(ctx.Response.Body()); ctx.Response.StatusCode() != 200 || got != "done" {
		t.Fatalf("the request on the retired upstream: %d %q, want 200 \"done\"", ctx.Response.StatusCode(), got)
	}
	if _, err := h.ReloadData(cfg("http://127.0.0.1:2"), "a.yaml"); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	retired := len(s.retired)
	s.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the upstream sees the close asynchronously
	}
	if retired != 0 || open.Load() != 0 {
		t.Errorf("after the request finished and a further swap: %d retired clients, %d upstream connections open; want 0 and 0", retired, open.Load())
	}
}
