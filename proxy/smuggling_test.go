package proxy_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawRecorder is an upstream that records the bytes it receives per
// connection and answers every request it parses (net/http's reader, the
// strict reading an origin would do) with a short 200.
type rawRecorder struct {
	addr string
	mu   sync.Mutex
	reqs []string // request line and body of each request parsed
	raw  bytes.Buffer
}

func startRecorder(t *testing.T) *rawRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rawRecorder{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	return r
}

func (r *rawRecorder) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(io.TeeReader(c, writerFunc(func(p []byte) {
		r.mu.Lock()
		r.raw.Write(p)
		r.mu.Unlock()
	})))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Method+" "+req.RequestURI+" "+req.Header.Get("Sec-Gpc")+" "+string(body))
		r.mu.Unlock()
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok") //nolint:errcheck
	}
}

func (r *rawRecorder) take() ([]string, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	reqs, raw := r.reqs, r.raw.String()
	r.reqs, r.raw = nil, bytes.Buffer{}
	return reqs, raw
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

// smuggled is the request hidden in the vectors' bodies.
const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

// framingVectors are request-framing ambiguities (RFC 9112 §6.3, §11.2,
// and the ways fasthttp is lenient) as raw bytes, with how the proxy must
// handle each: "reject" (a 4xx or no answer, nothing upstream), or
// "forward" followed by the number of requests the upstream must get.
var framingVectors = []struct {
	name, raw, want string
}{
	{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, "reject"},
	{"TE and CL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + smuggled, "reject"},
	{"two different CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 54\r\n\r\n" + smuggled, "reject"},
	{"two equal CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 54\r\nContent-Length: 54\r\n\r\n" + smuggled, "reject"},
	{"CL with plus", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +54\r\n\r\n" + smuggled, "reject"},
	{"CL negative", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n" + smuggled, "reject"},
	{"CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 54, 54\r\n\r\n" + smuggled, "reject"},
	{"CL hex", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x36\r\n\r\n" + smuggled, "reject"},
	{"CL exponent", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1e2\r\n\r\n" + smuggled, "reject"},
	{"CL overflow", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n" + smuggled, "reject"},
	{"CL empty", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n" + smuggled, "reject"},
	{"CL space before colon", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 54\r\n\r\n" + smuggled, "reject"},
	{"CL leading zeros (valid)", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0054\r\nConnection: close\r\n\r\n" + smuggled, "forward 1"},
	{"TE chunked tab (valid)", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n" + smuggled, "forward 2"},
	{"TE x-chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: x-chunked\r\n\r\n0\r\n\r\n" + smuggled, "reject"},
	{"TE chunked, identity", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled, "reject"},
	{"TE chunked, chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n" + smuggled, "reject"},
	{"TE identity", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n" + smuggled, "reject"},
	{"TE identity with CL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 54\r\n\r\n" + smuggled, "reject"},
	{"TE upper-case Chunked (valid)", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n" + smuggled, "forward 2"},
	{"TE vertical tab", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n" + smuggled, "reject"},
	{"TE obs-folded", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled, "reject"},
	{"two TE headers", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n" + smuggled, "reject"},
	{"TE on HTTP/1.0", "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, "reject"},
	{"chunk size 0_2e", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0_2e\r\n\r\n" + smuggled, "reject"},
	{"chunk size overflow", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\n\r\n" + smuggled, "reject"},
	{"chunk size empty", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\r\n\r\n" + smuggled, "reject"},
	{"chunk size with space (lenient)", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\na\r\n0\r\n\r\n" + smuggled, "forward 2"},
	{"chunk longer than its size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n" + smuggled, "reject"},
	{"chunk without CRLF", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na0\r\n\r\n" + smuggled, "reject"},
	{"LF in chunk extension", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0;a\nb\r\n\r\n" + smuggled, "reject"},
	{"quoted chunk extension (valid)", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n1;a=\"b c\"\r\nz\r\n0\r\n\r\n", "forward 1"},
	{"chunked trailer Sec-GPC", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nSec-GPC: 1\r\n\r\n", "reject"},
	{"declared trailer", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: Sec-GPC\r\n\r\n1\r\na\r\n0\r\nSec-GPC: 1\r\n\r\n", "reject"},
	{"obs-fold Sec-GPC", "GET / HTTP/1.1\r\nHost: x\r\nSec-GPC:\r\n 1\r\n\r\n", "reject"},
	{"obs-fold with tab", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n", "reject"},
	{"two Hosts", "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "reject"},
	{"no Host on HTTP/1.1", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", "reject"},
	{"Host with space", "GET / HTTP/1.1\r\nHost: x y\r\n\r\n", "reject"},
	{"absolute form, other host", "GET http://127.0.0.2:9/ HTTP/1.1\r\nHost: x\r\n\r\n", "reject"},
	{"absolute form, same host", "GET http://x/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "forward 1"},
	{"NUL in header", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", "reject"},
	{"bare CR in header", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", "reject"},
	{"control byte in header", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", "reject"},
	{"header name with space", "GET / HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n", "reject"},
	{"header line without colon", "GET / HTTP/1.1\r\nHost: x\r\nnot a header\r\n\r\n", "reject"},
	{"bare LF inside the block", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\nX-B: b\r\n\r\n", "reject"},
	{"bare LF request", "GET / HTTP/1.1\nHost: x\n\n", "reject"},
	{"request line with tabs", "GET\t/\tHTTP/1.1\r\nHost: x\r\n\r\n" + smuggled, "reject"},
	{"request line, two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", "reject"},
	{"HTTP/0.9", "GET /\r\n\r\n", "reject"},
	{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "reject"},
	{"Connection: Host", "GET / HTTP/1.1\r\nHost: x\r\nConnection: Host, close\r\n\r\n", "forward 1"},
	{"Connection: Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: Content-Length, close\r\n\r\nabc", "forward 1"},
	{"Expect 100-continue", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nabc", "forward 1"},
	{"pipelined three", "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "forward 3"},
	{"pipelined, bad one in the middle", "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n", "forward 1"},
}

// TestSmugglingVectors sends each framing vector on its own connection to
// the proxy in front of a raw recorder. The invariant for all: the upstream
// parses exactly as many requests as the client got answers for from it,
// and never the request hidden in a body; then each vector's own handling.
func TestSmugglingVectors(t *testing.T) {
	rec := startRecorder(t)
	g := startGate(t, "http://"+rec.addr, "")
	addr := strings.TrimPrefix(g.url, "http://")
	var table strings.Builder
	for _, v := range framingVectors {
		t.Run(v.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(time.Second)) //nolint:errcheck
			if _, err := io.WriteString(conn, v.raw); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			var codes []int
			for {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					break
				}
				io.Copy(io.Discard, resp.Body) //nolint:errcheck
				resp.Body.Close()
				codes = append(codes, resp.StatusCode)
				if resp.Close {
					break
				}
			}
			conn.Close()
			// The proxy's upstream request is done once the client has
			// its answer; give the recorder a moment to log it.
			time.Sleep(20 * time.Millisecond)
			reqs, raw := rec.take()
			ok := 0
			for _, c := range codes {
				if c == 200 {
					ok++
				}
			}
			fmt.Fprintf(&table, "| %s | %v | %d |\n", v.name, codes, len(reqs))
			if len(reqs) != ok {
				t.Errorf("the upstream parsed %d requests %q, the client saw %d answered (%v): a request went past the proxy", len(reqs), reqs, ok, codes)
			}
			for _, r := range reqs {
				// In "forward 2" vectors the second request is the
				// client's own, answered to it: pipelining, not smuggling.
				if strings.HasPrefix(r, "GET /smuggled") && v.want != "forward 2" {
					t.Errorf("the request hidden in the body reached the upstream as a request: %q", raw)
				}
			}
			switch {
			case v.want == "reject":
				if len(reqs) != 0 || ok != 0 {
					t.Errorf("want the request refused; the upstream got %q, the client %v", reqs, codes)
				}
			case strings.HasPrefix(v.want, "forward "):
				if want := strings.TrimPrefix(v.want, "forward "); fmt.Sprint(len(reqs)) != want {
					t.Errorf("want %s requests upstream, got %d %q (client saw %v)", want, len(reqs), reqs, codes)
				}
			}
		})
	}
	if testing.Verbose() {
		t.Logf("| vector | statuses the client saw | requests upstream |\n|---|---|---|\n%s", table.String())
	}
}
