package proxy_test

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// roundTrips are requests of a visitor who opted out of nothing, each with
// the raw answer the origin gives; with no rules in play the proxy must
// forward both header for header.
//
// vary: the response gets Vary: Sec-GPC, Cookie. Shared caches must keep the
// variants apart of every response the proxy changes for some visitor: an
// HTML page, a body without Content-Type (sniffed for opted-out visitors),
// one with Set-Cookie or Link lines.
var roundTrips = []struct {
	name, req, resp string
	vary            bool
}{
	{"GET without User-Agent or Accept",
		"GET /a HTTP/1.1\r\nHost: shop.example\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true},
	{"POST with a body and no Content-Type",
		"POST /form HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 7\r\n\r\na=1&b=2",
		"HTTP/1.1 204 No Content\r\n\r\n", false},
	{"chunked POST without Content-Type",
		"POST /upload HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n", false},
	{"POST with an empty body",
		"POST /ping HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 0\r\nUser-Agent: curl/8.5.0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", false},
	{"PUT with a typed body",
		"PUT /item/7 HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"n\": 7}\n",
		"HTTP/1.1 201 Created\r\nLocation: /item/7\r\nContent-Length: 0\r\n\r\n", true},
	{"repeated, empty and odd-case fields",
		"GET /x?q=1 HTTP/1.1\r\nHost: shop.example\r\nx-dup: 1\r\nX-DUP: 2\r\nX-Empty:\r\nACCEPT-language: de\r\nCookie: session=abc\r\nCookie: cart=3\r\n\r\n",
		"HTTP/1.1 200 OK\r\nx-powered-by: php\r\nX-Dup: a\r\nx-dup: b\r\nCache-Control: no-cache\r\nContent-Length: 0\r\n\r\n", true},
	{"response without Content-Type, Date or Server",
		"GET /blob HTTP/1.1\r\nHost: shop.example\r\nAccept: */*\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\x00\x01\x02\x03", true},
	{"response with Server, Date and cookies",
		"GET /account HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 10:00:00 GMT\r\nContent-Type: text/plain\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; HttpOnly\r\nETag: \"v1\"\r\nContent-Length: 2\r\n\r\nhi", true},
	{"HTML page",
		"GET / HTTP/1.1\r\nHost: shop.example\r\nAccept-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nVary: Accept-Encoding\r\nContent-Length: 13\r\n\r\n<p>hello</p>\n", true},
	{"HEAD",
		"HEAD /h HTTP/1.1\r\nHost: shop.example\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n", false},
	{"304",
		"GET /c HTTP/1.1\r\nHost: shop.example\r\nIf-None-Match: \"v1\"\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n", false},
	{"chunked response",
		"GET /stream HTTP/1.1\r\nHost: shop.example\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false},
}

// rtOrigin is a raw origin: it records each request's header block as it
// arrived and answers with the canned response for its path.
type rtOrigin struct {
	addr string
	mu   sync.Mutex
	got  map[string]string // path -> raw request header block
}

func startRTOrigin(t *testing.T) *rtOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &rtOrigin{addr: ln.Addr().String(), got: map[string]string{}}
	answers := map[string]string{}
	for _, rt := range roundTrips {
		line, _, _ := strings.Cut(rt.req, "\r\n")
		answers[strings.Fields(line)[1]] = rt.resp
	}
	serveRaw(t, ln, func(c net.Conn, br *bufio.Reader) {
		for {
			head, err := readHead(br)
			if err != nil {
				return
			}
			if err := skipBody(br, head); err != nil {
				return
			}
			line, _, _ := strings.Cut(head, "\r\n")
			path := strings.Fields(line)[1]
			o.mu.Lock()
			o.got[path] = head
			o.mu.Unlock()
			io.WriteString(c, answers[path]) //nolint:errcheck
		}
	})
	return o
}

// serveRaw accepts connections on ln until the test ends and runs serve on
// each, with a reader over it; the connection is closed when serve returns.
// Cleanup closes ln and waits for every connection's serve.
func serveRaw(t *testing.T, ln net.Listener, serve func(c net.Conn, br *bufio.Reader)) {
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
}

// readHead reads a header block through its empty line, as it is.
func readHead(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return "", err
		}
		if line == "\r\n" {
			return b.String(), nil
		}
	}
}

// skipBody reads the body a request header block announces.
func skipBody(br *bufio.Reader, head string) error {
	for _, l := range strings.Split(head, "\r\n") {
		k, v, _ := strings.Cut(l, ":")
		switch strings.ToLower(k) {
		case "content-length":
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			_, err := io.CopyN(io.Discard, br, int64(n))
			return err
		case "transfer-encoding":
			_, err := io.Copy(io.Discard, httputil.NewChunkedReader(br))
			return err
		}
	}
	return nil
}

// fields lists a header block's fields as "name: value", names in lower
// case, without the start line and the ones in drop.
func fields(head string, drop ...string) []string {
	var out []string
	lines := strings.Split(strings.TrimSuffix(head, "\r\n\r\n"), "\r\n")
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ":")
		k = strings.ToLower(k)
		if slices.Contains(drop, k) {
			continue
		}
		out = append(out, k+": "+strings.TrimSpace(v))
	}
	return out
}

// sorted sorts fields: fasthttp writes some fields in an order of its own;
// the values of one name keep theirs.
func sorted(fs []string) []string {
	slices.Sort(fs)
	return fs
}

// TestRoundTripHeaders: with no rules in play, what the origin receives is
// what the visitor sent, and what the visitor receives is what the origin
// sent, field for field: no User-Agent the visitor did not send, no
// default Content-Type on a body that had none, no Server or Date. The
// proxy's own changes are named: the hop-by-hop fields go, X-Forwarded-*
// come, and an HTML page (which the proxy rewrites for other visitors)
// varies on Sec-GPC and Cookie. The raw exchanges are in
// testdata/roundtrip.golden (-update rewrites it), so a change in field
// name case or order shows in review.
func TestRoundTripHeaders(t *testing.T) {
	o := startRTOrigin(t)
	g := startGate(t, "http://"+o.addr, "sites:\n  - name: shop\n    hosts: ['*']\n")
	addr := strings.TrimPrefix(g.url, "http://")
	hop := []string{"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
	var golden strings.Builder
	for _, rt := range roundTrips {
		line, _, _ := strings.Cut(rt.req, "\r\n")
		path := strings.Fields(line)[1]
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
		io.WriteString(c, rt.req)                      //nolint:errcheck
		got, err := readHead(bufio.NewReader(c))
		c.Close()
		if err != nil {
			t.Fatalf("%s: no response: %v", rt.name, err)
		}
		o.mu.Lock()
		up := o.got[path]
		o.mu.Unlock()
		fmt.Fprintf(&golden, "== %s\n-- visitor sends\n%s-- origin receives\n%s-- origin answers\n%s-- visitor receives\n%s\n",
			rt.name, head(rt.req), up, head(rt.resp), got)

		dropUp := hop
		if strings.Contains(rt.req, "chunked") {
			// The proxy reads a request body whole and sends its length.
			dropUp = append(dropUp, "content-length")
		}
		wantUp := sorted(append(joinCookies(fields(head(rt.req), hop...)), "x-forwarded-for: 127.0.0.1", "x-forwarded-proto: http", "x-forwarded-host: shop.example"))
		if gotUp := sorted(fields(up, dropUp...)); !slices.Equal(gotUp, wantUp) {
			t.Errorf("%s: the origin received\n  %q\nwant\n  %q", rt.name, gotUp, wantUp)
		}
		wantDown := fields(head(rt.resp), hop...)
		if rt.vary {
			i := slices.IndexFunc(wantDown, func(f string) bool { return strings.HasPrefix(f, "vary: ") })
			if i < 0 {
				wantDown = append(wantDown, "vary: Sec-GPC, Cookie")
			} else {
				wantDown[i] += ", Sec-GPC, Cookie"
			}
		}
		wantDown = sorted(wantDown)
		drop := hop
		if strings.Contains(rt.resp, "chunked") {
			// Chunked framing is the hop's; the length is the same body.
			drop = append(drop, "content-length")
		}
		if gotDown := sorted(fields(got, drop...)); !slices.Equal(gotDown, wantDown) {
			t.Errorf("%s: the visitor received\n  %q\nwant\n  %q", rt.name, gotDown, wantDown)
		}
	}
	// The file shows line ends as plain newlines; every one was CRLF.
	out := strings.ReplaceAll(golden.String(), "\r\n", "\n")
	gf := filepath.Join("testdata", "roundtrip.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(gf, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(gf)
	if err != nil {
		t.Fatalf("%v (run go test ./proxy -run TestRoundTripHeaders -update)", err)
	}
	if out != string(want) {
		t.Errorf("the raw exchanges differ from %s (run with -update and review the diff):\n%s", gf, out)
	}
}

// joinCookies makes several Cookie lines one, "; " between them: a
// request has one Cookie field (RFC 6265 §5.4), and that is how HTTP/2
// puts split ones back together (RFC 9113 §8.2.3).
func joinCookies(fs []string) []string {
	var out, crumbs []string
	for _, f := range fs {
		if v, ok := strings.CutPrefix(f, "cookie: "); ok {
			crumbs = append(crumbs, v)
			continue
		}
		out = append(out, f)
	}
	if len(crumbs) > 0 {
		out = append(out, "cookie: "+strings.Join(crumbs, "; "))
	}
	return out
}

// head is the header block of a raw message.
func head(msg string) string {
	h, _, _ := strings.Cut(msg, "\r\n\r\n")
	return h + "\r\n\r\n"
}
