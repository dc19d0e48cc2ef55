package proxy_test

import (
	"bytes"
	"strings"
	"syscall"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/valyala/fasthttp"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/proxy/demo"
	"github.com/consentgate/consentgate/proxy/receipt"
)

// benchProxy drives requests through a real proxy and upstream over
// loopback with fasthttp's client; allocs/op is almost all the proxy's (the
// fasthttp client and server allocate nothing per request once warm).
func benchProxy(b *testing.B, path string, headers ...string) {
	benchProxyWith(b, demo.Handler, path, headers...)
}

// benchProxyWith is benchProxy with h as the upstream.
func benchProxyWith(b *testing.B, h fasthttp.RequestHandler, path string, headers ...string) {
	up := startUpstream(b, h)
	g := startGate(b, "http://"+up.addr, "")
	c := &fasthttp.HostClient{Addr: strings.TrimPrefix(g.url, "http://"), MaxConns: 64}
	direct := &fasthttp.HostClient{Addr: up.addr}
	run := func(b *testing.B, hc *fasthttp.HostClient) {
		b.ReportAllocs()
		getParallel(b, hc, true, path, headers...)
	}
	b.Run("direct", func(b *testing.B) { run(b, direct) })
	b.Run("proxy", func(b *testing.B) { run(b, c) })
}

func BenchmarkPassThroughAsset(b *testing.B) { benchProxy(b, "/assets/app.js") }
func BenchmarkPassThroughPage(b *testing.B)  { benchProxy(b, "/") }
func BenchmarkOptedOutPage(b *testing.B)     { benchProxy(b, "/", "Sec-GPC: 1") }

// BenchmarkOptedOutGzipPage is BenchmarkOptedOutPage with the upstream
// answering gzip and the visitor accepting it: decode, rewrite, encode.
func BenchmarkOptedOutGzipPage(b *testing.B) {
	var page fasthttp.RequestCtx
	page.Request.SetRequestURI("/")
	demo.Handler(&page)
	var gzb bytes.Buffer
	zw := gzip.NewWriter(&gzb)
	zw.Write(page.Response.Body()) //nolint:errcheck
	zw.Close()                     //nolint:errcheck
	gz := gzb.Bytes()
	benchProxyWith(b, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Content-Encoding", "gzip")
		ctx.SetBody(gz)
	}, "/", "Sec-GPC: 1", "Accept-Encoding: gzip")
}

// BenchmarkOptedOutBrotliPage is BenchmarkOptedOutGzipPage with a brotli
// upstream (what many origins choose when offered br); the client takes
// gzip.
func BenchmarkOptedOutBrotliPage(b *testing.B) {
	var page fasthttp.RequestCtx
	page.Request.SetRequestURI("/")
	demo.Handler(&page)
	var bb bytes.Buffer
	bw := brotli.NewWriterLevel(&bb, 5)
	bw.Write(page.Response.Body()) //nolint:errcheck
	bw.Close()                     //nolint:errcheck
	br := bb.Bytes()
	benchProxyWith(b, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Content-Encoding", "br")
		ctx.SetBody(br)
	}, "/", "Sec-GPC: 1", "Accept-Encoding: gzip")
}

// BenchmarkOptedOutZstdPage is BenchmarkOptedOutGzipPage with a zstd
// upstream; the client takes gzip.
func BenchmarkOptedOutZstdPage(b *testing.B) {
	var page fasthttp.RequestCtx
	page.Request.SetRequestURI("/")
	demo.Handler(&page)
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		b.Fatal(err)
	}
	zs := zw.EncodeAll(page.Response.Body(), nil)
	zw.Close() //nolint:errcheck
	benchProxyWith(b, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Content-Encoding", "zstd")
		ctx.SetBody(zs)
	}, "/", "Sec-GPC: 1", "Accept-Encoding: gzip")
}

// benchReceipts drives the same requests through two proxies in front of
// one upstream, one writing receipts (a record per enforced response, to a
// directory on disk, fsynced every second) and one not, as
// receipts=off and receipts=on of one run: compare with
// benchstat -col /receipts.
func benchReceipts(b *testing.B, path string, headers ...string) {
	up := startUpstream(b, demo.Handler)
	l, err := receipt.Open(receipt.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	off := startGate(b, "http://"+up.addr, "")
	on := startGate(b, "http://"+up.addr, "", func(o *proxy.Options) { o.Receipts = l })
	for _, c := range []struct {
		name string
		g    *gate
	}{{"receipts=off", off}, {"receipts=on", on}} {
		hc := &fasthttp.HostClient{Addr: strings.TrimPrefix(c.g.url, "http://"), MaxConns: 64}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			// CPU time of the whole process (client, proxy, upstream,
			// receipt writer) per request: on a shared machine it moves
			// far less than wall time with the other load.
			cpu0 := processCPU(b)
			defer func() { b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op") }()
			getParallel(b, hc, false, path, headers...)
		})
	}
}

func BenchmarkReceiptsOptedOutPage(b *testing.B) {
	benchReceipts(b, "/", "Sec-GPC: 1", "Cookie: _ga=GA1.1.1.1")
}
func BenchmarkReceiptsOptedOutAsset(b *testing.B) {
	benchReceipts(b, "/assets/app.js", "Sec-GPC: 1", "Cookie: _ga=GA1.1.1.1")
}
func BenchmarkReceiptsPassThroughPage(b *testing.B) { benchReceipts(b, "/") }

// processCPU is the user and system CPU time the process used so far, in
// nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// getParallel sends GET path with headers through hc from every benchmark
// goroutine, b.N times in all, failing on anything but a 200; with
// setBytes it reports the response size for MB/s.
func getParallel(b *testing.B, hc *fasthttp.HostClient, setBytes bool, path string, headers ...string) {
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
			if setBytes {
				b.SetBytes(int64(len(resp.Body())))
			}
		}
	})
}
