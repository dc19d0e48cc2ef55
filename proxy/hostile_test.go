package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy"
	"github.com/valyala/fasthttp"
)

// rawExchange writes raw to the proxy on a new connection and reads one
// response; it returns the response (nil on none) and the bytes of its
// header block.
func rawExchange(t testing.TB, addr, raw string) (*http.Response, []byte, int) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	cr := &countingReader{r: conn}
	resp, err := http.ReadResponse(bufio.NewReader(cr), nil)
	if err != nil {
		return nil, nil, cr.n
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body, cr.n
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestCookieExpiryIsBounded: a long Host on a site that answers every host,
// with tracking cookies and Sec-GPC, used to get an expiring Set-Cookie per
// cookie for every domain suffix of the host: quadratic in the host (8 000
// labels and 16 cookies took the process past 6 GB). Absurd hosts are
// refused, and what a response adds in headers is bounded whatever the
// request.
func TestCookieExpiryIsBounded(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	g := startGate(t, "http://"+up.addr, "sites:\n  - name: any\n    hosts: ['*']\n")
	addr := strings.TrimPrefix(g.url, "http://")
	var cookies []string
	for i := range 16 {
		cookies = append(cookies, fmt.Sprintf("_ga%02d%s=GA1.1.%d", i, strings.Repeat("x", 200), i))
	}
	cookie := strings.Join(cookies, "; ")
	for _, c := range []struct {
		name   string
		host   string
		status int
	}{
		{"8000 labels", strings.Repeat("a.", 8000) + "example.com", 400},
		{"300 byte host", strings.Repeat("a", 290) + ".example.com", 400},
		{"64 byte label", strings.Repeat("a", 64) + ".example.com", 400},
		{"122 labels", strings.Repeat("a.", 120) + "example.com", 400},
		{"deep but legal", strings.Repeat("abcdefgh.", 20) + "example.com", 200},
	} {
		raw := "GET / HTTP/1.1\r\nHost: " + c.host + "\r\nSec-GPC: 1\r\nCookie: " + cookie + "\r\nConnection: close\r\n\r\n"
		resp, _, n := rawExchange(t, addr, raw)
		if resp == nil {
			t.Fatalf("%s: no response", c.name)
		}
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
		if n > 64<<10 {
			t.Errorf("%s: response of %d bytes; what one request adds must be bounded", c.name, n)
		}
		if c.status != 200 {
			continue
		}
		// host-only, Domain=host and Domain=the registrable domain: at most
		// three lines a cookie.
		if got := len(resp.Header.Values("Set-Cookie")); got == 0 || got > 3*16 {
			t.Errorf("%s: %d Set-Cookie lines, want 1..48", c.name, got)
		}
	}
}

// TestCookieExpiryHeaderBytesCapped: many long tracking cookie names on a
// legal host still add a bounded number of header bytes.
func TestCookieExpiryHeaderBytesCapped(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	g := startGate(t, "http://"+up.addr, "sites:\n  - name: any\n    hosts: ['*']\n")
	var cookies []string
	for i := range 120 {
		cookies = append(cookies, fmt.Sprintf("_ga%03d%s=1", i, strings.Repeat("y", 200)))
	}
	raw := "GET / HTTP/1.1\r\nHost: www.shop.example.co.uk\r\nSec-GPC: 1\r\nCookie: " + strings.Join(cookies, "; ") + "\r\nConnection: close\r\n\r\n"
	resp, _, n := rawExchange(t, strings.TrimPrefix(g.url, "http://"), raw)
	if resp == nil || resp.StatusCode != 200 {
		t.Fatalf("no 200: %v", resp)
	}
	if n > 40<<10 {
		t.Errorf("response of %d bytes for %d cookies; added headers must be capped", n, len(cookies))
	}
}

// TestOptInIsNotForgeable: withdrawing an opt-out takes a POST from a page
// of the site; a link or a form on another site cannot do it. Opting out
// stays one click (GET).
func TestOptInIsNotForgeable(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	g := startGate(t, "http://"+up.addr, "")
	host := strings.TrimPrefix(g.url, "http://")
	clears := func(resp *http.Response) bool {
		for _, c := range resp.Header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "consentgate_optout=;") {
				return true
			}
		}
		return false
	}
	post := func(headers ...string) *http.Response {
		req, _ := http.NewRequest("POST", g.url+"/.consentgate/optin", strings.NewReader(""))
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Set(k, strings.TrimSpace(v))
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
		return resp
	}
	for _, c := range []struct {
		name  string
		resp  *http.Response
		clear bool
	}{
		{"cross-site GET (a link)", func() *http.Response {
			r, _ := get(t, g.url+"/.consentgate/optin", "Sec-Fetch-Site: cross-site", "Cookie: consentgate_optout=1")
			return r
		}(), false},
		{"GET without fetch metadata", func() *http.Response {
			r, _ := get(t, g.url+"/.consentgate/optin", "Cookie: consentgate_optout=1")
			return r
		}(), false},
		{"same-origin GET", func() *http.Response {
			r, _ := get(t, g.url+"/.consentgate/optin", "Sec-Fetch-Site: same-origin", "Origin: http://"+host)
			return r
		}(), false},
		{"cross-site POST", post("Sec-Fetch-Site: cross-site", "Origin: http://evil.test"), false},
		{"POST from another origin", post("Origin: http://evil.test"), false},
		{"POST from a sibling subdomain", post("Sec-Fetch-Site: same-site", "Origin: http://evil."+host), false},
		{"POST with no origin at all", post(), false},
		{"POST with Origin null", post("Origin: null"), false},
		{"same-origin POST", post("Sec-Fetch-Site: same-origin", "Origin: http://"+host), true},
		{"same-origin POST, Origin only", post("Origin: http://" + host), true},
	} {
		if got := clears(c.resp); got != c.clear {
			t.Errorf("%s: status %d, clears the opt-out = %v, want %v", c.name, c.resp.StatusCode, got, c.clear)
		}
	}
	// The GET answers with a page whose form posts back: one more click
	// for the visitor, none for another site.
	_, body := get(t, g.url+"/.consentgate/optin?return=/pricing")
	if !strings.Contains(string(body), `method="post"`) || !strings.Contains(string(body), `/.consentgate/optin?return=%2Fpricing`) {
		t.Errorf("GET optin: no form posting back: %s", body)
	}
	// Opting out is still one GET.
	resp, _ := get(t, g.url+"/.consentgate/optout", "Sec-Fetch-Site: cross-site")
	if !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "consentgate_optout=1;") {
		t.Errorf("optout by GET: Set-Cookie %q", resp.Header.Get("Set-Cookie"))
	}
}

// TestUpstreamTimeoutIsForHeaders: --upstream-timeout bounds the wait for
// the response headers; a body that keeps coming, however slowly, is never
// cut, and one that stops coming for the idle timeout is cut visibly.
func TestUpstreamTimeoutIsForHeaders(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		stall := string(ctx.Path()) == "/stall"
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for i := range 8 {
				fmt.Fprintf(w, "<p>part %d</p>\n", i)
				w.Flush() //nolint:errcheck
				d := 100 * time.Millisecond
				if stall && i == 2 {
					d = 3 * time.Second
				}
				time.Sleep(d)
			}
			io.WriteString(w, "<p>end</p>\n") //nolint:errcheck
		})
	})
	g := startGate(t, "http://"+up.addr, "", func(o *proxy.Options) {
		o.UpstreamTimeout = 300 * time.Millisecond
		// 10× the trickle's gaps, a third of the stall: room for a busy
		// machine on both sides.
		o.UpstreamIdleTimeout = time.Second
	})
	for _, sig := range []string{"X-None: 1", "Sec-GPC: 1"} {
		// 8 parts 100 ms apart: 800 ms, past the 300 ms header timeout.
		_, body := get(t, g.url+"/trickle", sig)
		if !strings.HasSuffix(string(body), "<p>end</p>\n") {
			t.Errorf("%s: a healthy slow body was cut: %q", sig, body)
		}
		// A stall of 3 s mid-body: past the 1 s idle timeout.
		req, _ := http.NewRequest("GET", g.url+"/stall", nil)
		k, v, _ := strings.Cut(sig, ":")
		req.Header.Set(k, strings.TrimSpace(v))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil || strings.Contains(string(b), "<p>end") {
			t.Errorf("%s: a body stalled past the idle timeout was not cut visibly: err %v, %q", sig, err, b)
		}
	}
}

// TestUntrustedForwardingHeaders: from a peer that is not a trusted proxy,
// no forwarding header reaches the upstream (any spelling a framework
// maps to the same variable), and X-Forwarded-Proto does not make the
// opt-out cookie Secure.
func TestUntrustedForwardingHeaders(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	g := startGate(t, "http://"+up.addr, "")
	forged := []string{"X-Real-IP: 6.6.6.1", "True-Client-IP: 6.6.6.2", "X-Client-IP: 6.6.6.3", "CF-Connecting-IP: 6.6.6.4",
		"Fastly-Client-IP: 6.6.6.5", "X-Cluster-Client-IP: 6.6.6.6", "X-Original-Forwarded-For: 6.6.6.7", "Forwarded: for=6.6.6.8",
		"X_Forwarded_For: 6.6.6.9", "X_Real_IP: 6.6.6.10", "X-Forwarded_Host: evil.test", "X-Forwarded-Port: 6666"}
	get(t, g.url+"/", forged...)
	h := up.lastHeader()
	for _, f := range forged {
		_, v, _ := strings.Cut(f, ": ")
		if strings.Contains(h, v) {
			t.Errorf("the upstream received %q from an untrusted peer:\n%s", f, h)
		}
	}
	resp, _ := get(t, g.url+"/.consentgate/optout", "X-Forwarded-Proto: https")
	if c := resp.Header.Get("Set-Cookie"); strings.Contains(strings.ToLower(c), "secure") {
		t.Errorf("an untrusted X-Forwarded-Proto: https made the cookie Secure: %q", c)
	}
}

// TestScriptDocumentsAndStray206: documents that run script without being
// text/html (SVG, XHTML) are enforced for an opted-out visitor, and a 206
// to a request the proxy sent without Range never passes a page
// unrewritten.
func TestScriptDocumentsAndStray206(t *testing.T) {
	tag := `<script href="https://www.googletagmanager.com/gtm.js"/><script xlink:href="https://www.googletagmanager.com/gtm.js"/><script src="https://www.googletagmanager.com/gtm.js"></script>`
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/svg":
			ctx.Response.Header.SetContentType("image/svg+xml")
			ctx.SetBodyString(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">` + tag + `<circle r="4"/></svg>`)
		case "/xhtml":
			ctx.Response.Header.SetContentType("application/xhtml+xml; charset=utf-8")
			ctx.SetBodyString(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head>` + tag + `</head><body><p>x</p></body></html>`)
		case "/xml":
			ctx.Response.Header.SetContentType("text/xml")
			ctx.SetBodyString(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head>` + tag + `</head><body><p>x</p></body></html>`)
		case "/206":
			ctx.Response.Header.SetContentType("text/html")
			ctx.Response.Header.Set("Content-Range", "bytes 0-99/100")
			ctx.SetStatusCode(206)
			ctx.SetBodyString(`<html><head>` + tag + `</head></html>`)
		}
	})
	g := startGate(t, "http://"+up.addr, "")
	for _, p := range []string{"/svg", "/xhtml", "/xml", "/206"} {
		resp, body := get(t, g.url+p, "Sec-GPC: 1")
		if strings.Contains(string(body), "googletagmanager") && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("%s: an opted-out visitor got the tracker (status %d, CSP %q): %s", p, resp.StatusCode, resp.Header.Get("Content-Security-Policy"), body)
		}
	}
}

// TestRequestSizeLimits: a header block past the 32 KiB read buffer gets a
// 431 and a body declared past 32 MiB a 413, before the body is read,
// and neither reaches the upstream.
func TestRequestSizeLimits(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	g := startGate(t, "http://"+up.addr, "")
	addr := strings.TrimPrefix(g.url, "http://")
	for _, c := range []struct {
		name, raw string
		status    int
	}{
		{"40 KiB header", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 40<<10) + "\r\n\r\n", 431},
		{"33 MiB body declared", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 34603008\r\n\r\nabc", 413},
	} {
		resp, _, _ := rawExchange(t, addr, c.raw)
		if resp == nil || resp.StatusCode != c.status {
			t.Errorf("%s: got %v, want status %d", c.name, resp, c.status)
		}
	}
	if n := up.requests(); n != 0 {
		t.Errorf("the upstream got %d requests", n)
	}
}
