package proxy_test

import (
	"strings"
	"testing"

	"github.com/consentgate/consentgate/proxy/demo"
	"github.com/valyala/fasthttp"
)

// benchProxy drives requests through a real proxy and upstream over
// loopback with fasthttp's client; allocs/op is almost all the proxy's (the
// fasthttp client and server allocate nothing per request once warm).
func benchProxy(b *testing.B, path string, headers ...string) {
	up := startUpstream(b, demo.Handler)
	g := startGate(b, "http://"+up.addr, "")
	c := &fasthttp.HostClient{Addr: strings.TrimPrefix(g.url, "http://"), MaxConns: 64}
	direct := &fasthttp.HostClient{Addr: up.addr}
	run := func(b *testing.B, hc *fasthttp.HostClient) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for pb.Next() {
				req.Reset()
				req.SetRequestURI("http://site.test" + path)
				for _, h := range headers {
					k, v, _ := strings.Cut(h, ":")
					req.Header.Set(k, strings.TrimSpace(v))
				}
				if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					b.Fatalf("status %d: %v", resp.StatusCode(), err)
				}
				b.SetBytes(int64(len(resp.Body())))
			}
		})
	}
	b.Run("direct", func(b *testing.B) { run(b, direct) })
	b.Run("proxy", func(b *testing.B) { run(b, c) })
}

func BenchmarkPassThroughAsset(b *testing.B) { benchProxy(b, "/assets/app.js") }
func BenchmarkPassThroughPage(b *testing.B)  { benchProxy(b, "/") }
func BenchmarkOptedOutPage(b *testing.B)     { benchProxy(b, "/", "Sec-GPC: 1") }
