package proxy_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/signals"
	"github.com/valyala/fasthttp"
)

// newTestServer returns a proxy in front of upstream with the default
// policy; its rule set and signals reader close at cleanup.
func newTestServer(t *testing.T, upstream string, tweak ...func(*proxy.Options)) *proxy.Server {
	t.Helper()
	set, err := rules.Compile(config.Default(upstream))
	if err != nil {
		t.Fatal(err)
	}
	sig := signals.NewReader()
	t.Cleanup(func() { sig.Close(); set.Close() })
	opts := proxy.Options{Rules: proxy.StaticRules{Set: set}, Signals: sig}
	for _, f := range tweak {
		f(&opts)
	}
	srv, err := proxy.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) }) //nolint:errcheck // a second Shutdown does nothing
	return srv
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestShutdownRightAfterServe: a Shutdown that comes before Serve has
// handed its listener to fasthttp must still stop it. fasthttp's Shutdown
// returns nil when it has no listener yet, and its Serve then accepts
// forever: this is what hung go test -short ./proxy/browsertest.
func TestShutdownRightAfterServe(t *testing.T) {
	for i := range 50 {
		srv := newTestServer(t, "http://127.0.0.1:1")
		ln := listen(t)
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := srv.Shutdown(ctx)
		cancel()
		if err != nil {
			t.Fatalf("round %d: Shutdown: %v", i, err)
		}
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, proxy.ErrServerClosed) {
				t.Fatalf("round %d: Serve: %v", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: Serve still running 5s after Shutdown returned", i)
		}
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Close()
			t.Fatalf("round %d: the listener still accepts after Shutdown", i)
		}
	}
}

// TestRunStopsWhenContextEnds: Run serves until its context is done and
// then returns; a context done before the first Accept is no exception.
func TestRunStopsWhenContextEnds(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	for _, early := range []bool{true, false} {
		srv := newTestServer(t, "http://"+up.addr)
		ln := listen(t)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		if early {
			cancel()
		}
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx, ln) }()
		if !early {
			if code, _ := fetch(t, "http://"+ln.Addr().String()+"/"); code != 200 {
				t.Errorf("while running: status %d, want 200", code)
			}
			cancel()
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("early=%v: Run: %v", early, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("early=%v: Run still running 10s after its context ended", early)
		}
	}
}

// TestRunBoundsShutdown: a request still running at the shutdown timeout
// does not hold Run: it returns, saying so.
func TestRunBoundsShutdown(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		entered <- struct{}{}
		<-release
		ctx.SetBodyString("late")
	})
	defer close(release)
	srv := newTestServer(t, "http://"+up.addr, func(o *proxy.Options) { o.ShutdownTimeout = 200 * time.Millisecond })
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	go fetch(t, "http://"+ln.Addr().String()+"/") //nolint:errcheck
	<-entered
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "shutdown-timeout") {
			t.Errorf("Run: %v, want a deadline error naming --shutdown-timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running 10s after its context ended, with a 200ms shutdown timeout")
	}
}

// TestRunReturnsServeError: a listener that fails ends Run with its error.
func TestRunReturnsServeError(t *testing.T) {
	srv := newTestServer(t, "http://127.0.0.1:1")
	done := make(chan error, 1)
	go func() { done <- srv.Run(context.Background(), failingListener{listen(t)}) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "accept failed") {
			t.Errorf("Run: %v, want the listener's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its listener failed")
	}
}

type failingListener struct{ net.Listener }

func (l failingListener) Accept() (net.Conn, error) {
	return nil, errors.New("accept failed")
}

// fetch GETs url on a connection of its own; status 0 on error.
func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.SetConnectionClose()
	c := &fasthttp.HostClient{Addr: string(req.Host())}
	defer c.CloseIdleConnections()
	if err := c.DoTimeout(req, resp, 10*time.Second); err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode(), string(resp.Body())
}
