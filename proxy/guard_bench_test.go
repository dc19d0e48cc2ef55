package proxy_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"

	"github.com/consentgate/consentgate/proxy/demo"
)

// BenchmarkGuardModes is an opted-out demo page, plain and gzip-encoded,
// through consentgate with guard: off, external and inline: the proxy's
// cost of inserting the guard (a 71-byte tag, or the whole script and its
// re-encoding). Compare the modes of one run.
func BenchmarkGuardModes(b *testing.B) {
	var page fasthttp.RequestCtx
	page.Request.SetRequestURI("/")
	demo.Handler(&page)
	plain := append([]byte(nil), page.Response.Body()...)
	var gzb bytes.Buffer
	zw := gzip.NewWriter(&gzb)
	zw.Write(plain) //nolint:errcheck
	zw.Close()      //nolint:errcheck
	up := startUpstream(b, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		if string(ctx.Path()) == "/gz" {
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			ctx.SetBody(gzb.Bytes())
			return
		}
		ctx.SetBody(plain)
	})
	for _, page := range []string{"/plain", "/gz"} {
		for _, mode := range []string{"off", "external", "inline"} {
			b.Run(strings.TrimPrefix(page, "/")+"/"+mode, func(b *testing.B) {
				g := startGate(b, "http://"+up.addr, `sites: [{name: s, hosts: ["*"], guard: `+mode+`}]`)
				benchPage(b, g, page, "Sec-GPC", "1", "Accept-Encoding", "gzip")
			})
		}
	}
}

// benchPage GETs page through g in a loop with the header name-value
// pairs kv, failing on anything but a 200, and reports the size of the
// page sent (B/page).
func benchPage(b *testing.B, g *gate, page string, kv ...string) {
	c := &fasthttp.HostClient{Addr: strings.TrimPrefix(g.url, "http://")}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		req.Reset()
		req.SetRequestURI("http://site.test" + page)
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
			b.Fatalf("status %d: %v", resp.StatusCode(), err)
		}
		n = len(resp.Body())
	}
	b.ReportMetric(float64(n), "B/page")
}
