package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// closingOrigin is a raw keep-alive origin that closes its connections the
// way real ones do: after idle of inactivity (Node.js and Apache close
// after 5 s), and, with closeOnReuse, as the second request on a
// connection arrives, unanswered: the race between the origin's close and
// the proxy's reuse of the pooled connection, made deterministic. It
// counts, per method, the requests it read.
type closingOrigin struct {
	addr string
	mu   sync.Mutex
	seen map[string]int
}

func startClosingOrigin(t *testing.T, idle time.Duration, closeOnReuse bool) *closingOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &closingOrigin{addr: ln.Addr().String(), seen: map[string]int{}}
	serveRaw(t, ln, func(c net.Conn, br *bufio.Reader) {
		for n := 0; ; n++ {
			if idle > 0 {
				c.SetReadDeadline(time.Now().Add(idle)) //nolint:errcheck
			}
			req, err := http.ReadRequest(br)
			if err != nil {
				return // idle past the limit, or the proxy closed
			}
			io.Copy(io.Discard, req.Body) //nolint:errcheck
			o.mu.Lock()
			o.seen[req.Method]++
			o.mu.Unlock()
			if closeOnReuse && n == 1 {
				return // the keep-alive ended just as this request came
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok") //nolint:errcheck
		}
	})
	return o
}

func (o *closingOrigin) count(method string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen[method]
}

// TestOriginClosingKeepAlive: an origin closing a pooled keep-alive
// connection just as the proxy reuses it cost a visitor a 502 (the GET was
// not retried: fasthttp reports the close before the first response byte
// as io.EOF to the retry decision, which only knew ErrConnectionClosed and
// resets). A GET or HEAD that finds its reused connection closed is sent
// again on another; a POST is never sent twice.
func TestOriginClosingKeepAlive(t *testing.T) {
	t.Run("closed as the request arrives", func(t *testing.T) {
		o := startClosingOrigin(t, 0, true)
		g := startGate(t, "http://"+o.addr, "")
		for i := range 6 {
			for _, m := range []string{"GET", "HEAD"} {
				req, _ := http.NewRequest(m, g.url+fmt.Sprintf("/page%d", i), nil)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body) //nolint:errcheck
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("%s %d: status %d on a reused connection the origin closed, want 200", m, i, resp.StatusCode)
				}
			}
		}
		// A POST on a reused connection the origin closes is not replayed:
		// the visitor gets the 502, the origin saw it once.
		get(t, g.url+"/warm") // leaves a connection in the pool
		before := o.count("POST")
		resp, err := client.Post(g.url+"/form", "text/plain", strings.NewReader("a=1"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
		if n := o.count("POST") - before; n != 1 {
			t.Errorf("a POST reached the origin %d times, want once (status %d)", n, resp.StatusCode)
		}
	})
	t.Run("idle close timed around reuse", func(t *testing.T) {
		const idle = 40 * time.Millisecond
		o := startClosingOrigin(t, idle, false)
		g := startGate(t, "http://"+o.addr, "")
		bad := 0
		for i := range 60 {
			// Requests land from 10 ms before to 10 ms after the origin's
			// idle close, around its timer.
			time.Sleep(idle - 10*time.Millisecond + time.Duration(i%21)*time.Millisecond)
			resp, _ := get(t, g.url+"/")
			if resp.StatusCode != 200 {
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%d of 60 requests around the origin's keep-alive close failed, want 0", bad)
		}
	})
}
