package proxy

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// The upstream timeout is two: UpstreamTimeout bounds the wait for the
// response headers (fasthttp's request deadline), UpstreamIdleTimeout the
// wait for each read of the body after them. fasthttp keeps the request's
// deadline on the connection while the body streams, which cut a healthy
// slow body (a page trickling for longer than the timeout, a big page to a
// slow visitor). So upstream connections are dialled as idleConns: once the
// headers are in, the proxy switches the connection to idle mode, where
// every read pushes the deadline on; fasthttp setting a deadline for the
// next request on it switches it back.

// idleConn is an upstream connection whose reads can be timed one by one.
type idleConn struct {
	net.Conn
	addr   connAddr
	idle   atomic.Int64 // nanoseconds; 0: fasthttp's deadline holds
	served atomic.Bool  // a response came back on it: it is a reused one from now on
}

// connAddr is the local address of an idleConn, and the way back to it
// from a response: fasthttp keeps a response's connection addresses
// (Response.LocalAddr) but not the connection.
type connAddr struct {
	net.Addr
	c *idleConn
}

func newIdleConn(c net.Conn) *idleConn {
	ic := &idleConn{Conn: c}
	ic.addr = connAddr{Addr: c.LocalAddr(), c: ic}
	return ic
}

func (c *idleConn) LocalAddr() net.Addr { return &c.addr }

func (c *idleConn) Read(p []byte) (int, error) {
	if d := c.idle.Load(); d > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(time.Duration(d))) //nolint:errcheck // a failed set shows on Read
	}
	return c.Conn.Read(p)
}

func (c *idleConn) SetReadDeadline(t time.Time) error {
	c.idle.Store(0)
	return c.Conn.SetReadDeadline(t)
}

func (c *idleConn) SetDeadline(t time.Time) error {
	c.idle.Store(0)
	return c.Conn.SetDeadline(t)
}

// bodyIdleTimeout switches the connection a streamed response is read from
// to idle mode: from now on each read of the body may wait d. A response
// read whole has given its connection back already and is left alone.
func bodyIdleTimeout(resp *fasthttp.Response, d time.Duration) {
	if !resp.IsBodyStream() {
		return
	}
	if a, ok := resp.LocalAddr().(*connAddr); ok {
		a.c.idle.Store(int64(d))
		a.c.Conn.SetReadDeadline(time.Now().Add(d)) //nolint:errcheck // a failed set shows on Read
	}
}

// dialUpstream dials like fasthttp's default dialer and wraps the connection.
func dialUpstream(addr string, timeout time.Duration) (net.Conn, error) {
	c, err := fasthttp.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return newIdleConn(c), nil
}

// A pooled keep-alive connection can be closed by the origin at any time:
// its keep-alive timer (5 s in Node.js and Apache) may fire just as the
// proxy sends the next request on it. The request then gets nothing back
// (io.EOF before the first response byte, or a reset), through no fault of
// its own. fasthttp hands that io.EOF to the retry decision as it is (it
// maps it to ErrConnectionClosed only after the last attempt), and cannot
// tell a reused connection from a fresh one; so the transport does.

// staleConnError is a failure on a connection that had served a response
// before: the origin closed it while it sat in the pool.
type staleConnError struct{ err error }

func (e *staleConnError) Error() string { return "reused upstream connection closed: " + e.err.Error() }
func (e *staleConnError) Unwrap() error { return e.err }

// staleRetries bounds the attempts of one request that find their pooled
// connection closed: each such attempt takes another connection from the
// pool (or dials one), and an origin that restarted closed all of them.
const staleRetries = 4

// reuseTransport is fasthttp's transport, marking the connections that
// served a response and the failures on them that a closed keep-alive
// explains. It also keeps the origin's Date: fasthttp resets the response
// header before each attempt, which makes it one that, once copied to the
// visitor's response, writes the proxy's clock in place of the origin's
// Date (a cache would take a stale page for a fresh one). A response
// header read over an empty one that says "no default Date" keeps that.
type reuseTransport struct{ s *Server }

func (t reuseTransport) RoundTrip(hc *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response) (bool, error) {
	t.s.dateless.CopyTo(&resp.Header)
	retry, err := fasthttp.DefaultTransport.RoundTrip(hc, req, resp)
	a, ok := resp.LocalAddr().(*connAddr)
	if !ok {
		return retry, err
	}
	switch {
	case err == nil:
		a.c.served.Store(true)
	case a.c.served.Load() && (errors.Is(err, io.EOF) || isConnReuseErr(err)):
		err = &staleConnError{err}
	}
	return retry, err
}

// retryStale is the HostClient's retry decision: only a GET or HEAD, only
// after its reused connection turned out closed, at most staleRetries
// times. A POST or PUT reaches the origin once, and a fresh connection
// that fails is the origin's answer.
func retryStale(req *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	var stale *staleConnError
	return false, attempts <= staleRetries && (req.Header.IsGet() || req.Header.IsHead()) && errors.As(err, &stale)
}
