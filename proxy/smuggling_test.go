package proxy_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestSmugglingVectors sends the request-framing ambiguities of RFC 9112
// §6.3 and §11.2 as raw bytes. The invariant: the proxy answers 400 (or
// closes), or every request the origin receives is one the client got a
// response for: the proxy re-frames each request it parsed (its own
// Content-Length), so a request hidden in another's body cannot reach the
// origin. Lenient but valid spellings ("Chunked", obs-fold) are parsed as
// the RFC says and yield two visible requests, which is not smuggling.
func TestSmugglingVectors(t *testing.T) {
	var bodies []string
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		bodies = append(bodies, string(ctx.Request.Body()))
		ctx.SetBodyString("ok")
	})
	g := startGate(t, "http://"+up.addr, "")
	addr := strings.TrimPrefix(g.url, "http://")
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	vectors := map[string]string{
		"CL and TE":              "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
		"TE and CL":              "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + smuggled,
		"two different CL":       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 38\r\n\r\n" + smuggled,
		"CL with plus":           "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +38\r\n\r\n" + smuggled,
		"CL list":                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 38, 38\r\n\r\n" + smuggled,
		"TE chunked tab":         "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n" + smuggled,
		"TE x-chunked":           "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: x-chunked\r\n\r\n0\r\n\r\n" + smuggled,
		"TE chunked, identity":   "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled,
		"bad chunk size":         "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0_2e\r\n\r\n" + smuggled,
		"LF in chunk extension":  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0;a\nb\r\n\r\n" + smuggled,
		"space before colon":     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 38\r\n\r\n" + smuggled,
		"two Hosts":              "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"NUL in header":          "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
		"bare CR in header":      "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
		"TE on HTTP/1.0":         "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
		"obs-fold TE":            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled,
		"chunk size overflow":    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\n\r\n" + smuggled,
		"empty content-length":   "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n" + smuggled,
		"hex content-length":     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x26\r\n\r\n" + smuggled,
		"two TE headers":         "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n" + smuggled,
		"upper-case TE Chunked":  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n" + smuggled,
		"request line with tabs": "GET\t/\tHTTP/1.1\r\nHost: x\r\n\r\n" + smuggled,
	}
	for name, raw := range vectors {
		t.Run(name, func(t *testing.T) {
			bodies = bodies[:0]
			before := up.requests()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(time.Second)) //nolint:errcheck
			if _, err := io.WriteString(conn, raw); err != nil {
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
			got := up.requests() - before
			ok := 0
			for _, c := range codes {
				if c == 200 {
					ok++
				}
			}
			if got != ok {
				t.Errorf("origin received %d requests, the client saw %d answered (%v): a request was smuggled past the proxy", got, ok, codes)
			}
			if strings.Contains(strings.Join(bodies, ""), "HTTP/1.1") {
				t.Errorf("a request line reached the origin inside a body: %q", bodies)
			}
		})
	}
}
