package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// ErrServerClosed is returned by Serve after Shutdown (or Run) has begun.
var ErrServerClosed = errors.New("proxy: server closed")

// DefaultShutdownTimeout bounds Run's wait for in-flight requests.
const DefaultShutdownTimeout = 15 * time.Second

// Run serves ln until ctx is done, then shuts down: it stops accepting,
// closes idle connections and waits for in-flight requests at most
// Options.ShutdownTimeout. It returns nil after a clean shutdown, an error
// wrapping context.DeadlineExceeded when requests were still running at the
// bound (their connections are left to close as they finish), or the error
// that stopped serving first. Run closes ln in every case.
//
// A caller that wants a lame-duck period (readiness failing while the load
// balancer notices) delays cancelling ctx; Run itself stops accepting at once.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	serveErr, err := serveUntil(ctx, s.opts.ShutdownTimeout, func() error { return s.Serve(ln) }, s.Shutdown)
	if serveErr != nil && !errors.Is(serveErr, ErrServerClosed) {
		return serveErr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("requests still running after %v (--shutdown-timeout): %w", s.opts.ShutdownTimeout, err)
	}
	return err
}

// serveUntil runs serve until it returns or ctx is done, then calls
// shutdown with a context bounded by timeout (not cancelled with ctx) and
// waits for serve to return; shutdown must make it return. It gives
// serve's error and shutdown's: Server.Run and Admin.Run.
func serveUntil(ctx context.Context, timeout time.Duration, serve func() error, shutdown func(context.Context) error) (serveErr, err error) {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	served := false
	select {
	case serveErr = <-errc:
		served = true
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err = shutdown(sctx)
	if !served {
		// shutdown closed the listener, so serve returns at once.
		serveErr = <-errc
	}
	return serveErr, err
}

// Serve accepts connections on ln until Shutdown; it returns nil then, or
// ErrServerClosed at once (closing ln) when Shutdown has already begun.
func (s *Server) Serve(ln net.Listener) error {
	tl := &trackedListener{Listener: ln, accepting: make(chan struct{}), exited: make(chan struct{})}
	defer close(tl.exited)
	s.lnMu.Lock()
	if s.closing {
		s.lnMu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners = append(s.listeners, tl)
	s.lnMu.Unlock()
	return s.srv.Serve(clientListener{tl, s.opts.WriteIdleTimeout})
}

// Shutdown stops accepting, lets in-flight requests finish until ctx is
// done, then closes the idle upstream connections. When ctx ends first, the
// client connections still open are closed (their responses are cut) and
// ctx's error is returned. Serve calls that began
// before it are waited for until fasthttp has taken their listener: fasthttp's
// own Shutdown returns at once when called before that, and its Serve would
// then run forever. Serve calls after it return ErrServerClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.lnMu.Lock()
	s.closing = true
	lns := s.listeners
	s.lnMu.Unlock()
	var err error
	for _, l := range lns {
		select {
		case <-l.accepting: // registered with fasthttp
		case <-l.exited:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if serr := s.srv.ShutdownWithContext(ctx); err == nil {
		err = serr
	}
	// fasthttp closed the listeners it had; close every one it may not have
	// had yet, so no Serve is left accepting.
	for _, l := range lns {
		l.Close()
	}
	if err != nil {
		// fasthttp gives up waiting but leaves the connections serving
		// (keep-alive included): the bound is only kept by closing them.
		s.conns.closeAll()
	}
	s.closeUpstreams()
	return err
}

// connSet tracks the open client connections through fasthttp's ConnState
// hook (called per connection state change, not per byte).
type connSet struct {
	mu sync.Mutex
	m  map[net.Conn]struct{}
}

func (cs *connSet) track(c net.Conn, st fasthttp.ConnState) {
	switch st {
	case fasthttp.StateNew:
		cs.mu.Lock()
		if cs.m == nil {
			cs.m = make(map[net.Conn]struct{})
		}
		cs.m[c] = struct{}{}
		cs.mu.Unlock()
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		cs.mu.Lock()
		delete(cs.m, c)
		cs.mu.Unlock()
	}
}

// closeAll closes every tracked connection.
func (cs *connSet) closeAll() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for c := range cs.m {
		c.Close()
	}
}

// trackedListener tells when fasthttp has registered it (its first Accept)
// and when Serve has returned. Close is idempotent.
type trackedListener struct {
	net.Listener
	once, closeOnce sync.Once
	accepting       chan struct{}
	exited          chan struct{}
	closeErr        error
}

func (l *trackedListener) Accept() (net.Conn, error) {
	l.once.Do(func() { close(l.accepting) })
	return l.Listener.Accept()
}

func (l *trackedListener) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.Listener.Close() })
	return l.closeErr
}

// closeUpstreams closes the idle connections of every upstream client and
// ends the rule holder's swap notifications.
func (s *Server) closeUpstreams() {
	s.mu.Lock()
	unsubscribe := s.unsubscribe
	s.unsubscribe = nil
	s.mu.Unlock()
	if unsubscribe != nil {
		// Not under s.mu: the holder calls s.current, which takes s.mu,
		// with its own lock held.
		unsubscribe()
	}
	// Stops the cache's goroutines once the Gets and Sets under way are
	// done; a request still running after this stores nothing.
	s.cache.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		c.CloseIdleConnections()
	}
	s.sweepRetired()
}
