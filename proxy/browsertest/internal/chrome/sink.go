package chrome

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Sink stands in for every host but loopback: Chromium's
// --host-resolver-rules map every other name to Addr. It records the name
// each connection asks for — the TLS server name, or the Host of a plain
// HTTP request — and hangs up, so a request to a tracker fails at once,
// without waiting on DNS, and never leaves the machine. A connection that
// no request event shows (a preconnect) is still seen here.
type Sink struct {
	Addr string

	ln    net.Listener
	mark  bool
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]time.Time // open connections, when accepted
	hosts []string
	last  time.Time // of the last accept or record
}

// StartSink starts a sink on 127.0.0.1. With mark, a connection whose
// name cannot be read is recorded too, as "(connection without data)" or
// "(unreadable request)", and a TLS handshake without a server name as "";
// without it they are not recorded (a plain-HTTP preconnect sends
// nothing, so its name is unknown here).
func StartSink(mark bool) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{Addr: ln.Addr().String(), ln: ln, mark: mark, conns: map[net.Conn]time.Time{}}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.last = time.Now()
			s.conns[c] = s.last
			s.mu.Unlock()
			s.wg.Go(func() { s.serve(c) })
		}
	})
	return s, nil
}

// Close stops the listener, hangs up every open connection and waits for
// the sink's goroutines.
func (s *Sink) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

var errSink = errors.New("sink: not a real server")

// bufConn reads through the bufio.Reader that peeked at the connection.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (s *Sink) serve(c net.Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	c.SetDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck // the deadline only bounds a slow peer
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	if err != nil {
		s.unnamed("(connection without data)")
		return
	}
	if first[0] == 0x16 { // a TLS handshake record
		tls.Server(bufConn{c, br}, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			if h.ServerName != "" {
				s.record(h.ServerName)
			} else {
				s.unnamed("")
			}
			return nil, errSink
		}}).Handshake() //nolint:errcheck // it always fails: errSink
		return
	}
	if req, err := http.ReadRequest(br); err == nil {
		s.record(req.Host)
	} else {
		s.unnamed("(unreadable request)")
	}
}

// unnamed records a connection whose name is unknown as what, with mark.
func (s *Sink) unnamed(what string) {
	if !s.mark {
		return
	}
	s.mu.Lock()
	s.hosts = append(s.hosts, what)
	s.last = time.Now()
	s.mu.Unlock()
}

func (s *Sink) record(host string) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" {
		s.unnamed("")
		return
	}
	s.mu.Lock()
	s.hosts = append(s.hosts, strings.ToLower(host))
	s.last = time.Now()
	s.mu.Unlock()
}

// Settle waits until no connection was accepted or read for quiet and no
// connection younger than max is still unread, at most max: a connection
// Chromium made (a request a closed tab cancelled still completes its
// connect) is recorded even when the machine is slow to accept and read
// it. (A preconnect over plain HTTP sends nothing and is held until its
// deadline; max stops the wait for it.)
func (s *Sink) Settle(ctx context.Context, quiet, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		s.mu.Lock()
		idle := time.Since(s.last) >= quiet
		for _, at := range s.conns {
			if time.Since(at) < max {
				idle = false
			}
		}
		s.mu.Unlock()
		if idle {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Hosts returns a copy of the hosts recorded since the last Take, in the
// order recorded, lower case and without a port.
func (s *Sink) Hosts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hosts...)
}

// Take returns and clears the hosts recorded since the last Take.
func (s *Sink) Take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hosts
	s.hosts = nil
	return h
}
