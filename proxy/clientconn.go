package proxy

import (
	"bytes"
	"errors"
	"net"
	"time"
)

// The public listener hands fasthttp each visitor's connection wrapped in
// a clientConn, for two things fasthttp does not do.
//
// Writes are timed by progress. fasthttp's WriteTimeout is one deadline
// for the whole response: a 50 MB page to a visitor taking 2 MB/s was cut
// at 60 s. A clientConn gives each piece of a write (at most
// writePiece bytes) WriteIdleTimeout to be taken by the visitor, so a
// slow but steady reader is served to the end, while one that stops
// reading, or reads a few bytes now and then (a slow-read attack, which
// advertises a tiny window), holds the connection for one timeout.
//
// A request whose header block ends in a bare LF is answered at once.
// fasthttp waits for a CRLF CRLF to end the block, so "GET /
// HTTP/1.1\nHost: x\n\n" (netcat, some scripts and devices) sat until the
// read timeout (30 s) and got a 408; the proxy refuses a bare LF in the
// block anyway (framing.go). While a request's header block comes in, a
// clientConn looks at the bytes for the line that ends it: at a CRLF
// CRLF it stops looking; at an empty line ended by a bare LF before one,
// the request can never be read, and the next read fails with
// errBareLFBlock instead of waiting, which fasthttp answers through
// requestError: 400 and close. It knows where a request starts from the
// one-byte read fasthttp makes for the first byte of every request when
// nothing of it is buffered (Server.ReduceMemoryUsage, which New sets):
// a request pipelined behind another in the same packet is not watched
// and still waits for the read timeout. The look costs one IndexByte per
// read of a header block.

// writePiece is the most a clientConn writes under one deadline.
const writePiece = 64 << 10

// defaultWriteIdle is Options.WriteIdleTimeout's default.
const defaultWriteIdle = 30 * time.Second

// errBareLFBlock fails the read after a header block ended by a bare LF.
var errBareLFBlock = errors.New("the request's header block ends with a bare LF")

// clientListener wraps each accepted connection in a clientConn.
type clientListener struct {
	net.Listener
	writeIdle time.Duration
}

func (l clientListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &clientConn{Conn: c, writeIdle: l.writeIdle}, nil
}

// clientConn is a visitor's connection; see above. Reads and writes come
// from fasthttp's one goroutine per connection, so it needs no lock.
type clientConn struct {
	net.Conn
	writeIdle time.Duration

	watch bool    // reading a header block
	lead  bool    // before the request line: empty lines fasthttp skips
	last  [3]byte // the bytes of the block before this read, newest last
	bad   bool    // the block ended with a bare LF: the next read fails
}

func (c *clientConn) Read(p []byte) (int, error) {
	if c.bad {
		if len(p) != 1 {
			return 0, errBareLFBlock
		}
		c.bad = false // a request of its own starts
	}
	n, err := c.Conn.Read(p)
	if len(p) == 1 && n == 1 {
		// fasthttp reads the first byte of a request on its own.
		c.watch, c.lead, c.last = true, true, [3]byte{}
	}
	if c.watch && n > 0 {
		c.scan(p[:n])
	}
	return n, err
}

// scan follows the header block through b: it stops watching at the CRLF
// CRLF that ends the block, and marks the connection bad at an empty line
// ended by a bare LF ("\n\n", or "\n\r\n" after a line ended by a bare LF)
// before one.
func (c *clientConn) scan(b []byte) {
	if c.lead {
		// fasthttp skips empty lines before the request line.
		i := 0
		for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
			i++
		}
		if i == len(b) {
			return
		}
		c.lead = false
		b = b[i:]
	}
	for len(b) > 0 {
		j := bytes.IndexByte(b, '\n')
		if j < 0 {
			c.push(b)
			return
		}
		// The three bytes before this LF.
		var p [3]byte
		switch j {
		case 0:
			p = c.last
		case 1:
			p = [3]byte{c.last[1], c.last[2], b[0]}
		case 2:
			p = [3]byte{c.last[2], b[0], b[1]}
		default:
			p = [3]byte{b[j-3], b[j-2], b[j-1]}
		}
		switch {
		case p[2] == '\n':
			c.bad, c.watch = true, false // "\n\n"
			return
		case p[2] == '\r' && p[1] == '\n':
			if p[0] == '\r' {
				c.watch = false // "\r\n\r\n": the end of the block
			} else {
				c.bad, c.watch = true, false // "\n\r\n" after a bare LF
			}
			return
		}
		c.push(b[:j+1])
		b = b[j+1:]
	}
}

// push notes the last bytes of the block read so far.
func (c *clientConn) push(b []byte) {
	for _, x := range b[max(0, len(b)-3):] {
		c.last = [3]byte{c.last[1], c.last[2], x}
	}
}

// Write writes p in pieces of at most writePiece bytes, each with
// writeIdle to go out.
func (c *clientConn) Write(p []byte) (int, error) {
	if c.writeIdle <= 0 {
		return c.Conn.Write(p)
	}
	n := 0
	for n < len(p) {
		k := min(len(p)-n, writePiece)
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.writeIdle)); err != nil {
			return n, err
		}
		m, err := c.Conn.Write(p[n : n+k])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
