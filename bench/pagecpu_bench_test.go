package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/rules"
	rulesconfig "github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/signals"
)

// BenchmarkPageCPU is the CPU a request costs by page, for the figure of
// CPU per request by page size (bench/figures): every saved page through a
// proxy.Server in this process, in front of a fasthttp upstream in this
// process that answers with the page as stored (gzip), over loopback.
//
//	go test -run '^$' -bench PageCPU -benchtime 200x ./bench > pagecpu.txt
//	go run ./bench/figures -page-cpu pagecpu.txt -svg docs/images/cpu-by-page.svg
//
// Per page, with Accept-Encoding: gzip:
//
//   - mode=direct: the upstream without the proxy, the baseline;
//   - mode=plain: through the proxy, no signal (pass-through);
//   - mode=cold: through the proxy with Sec-GPC: 1, the upstream's body
//     different on every response (a gzip member with a counter appended),
//     so that no response cache can answer: decode, rewrite, re-encode;
//   - mode=warm: with Sec-GPC: 1 and the same body every time, run only
//     when the proxy has a response cache (a consentgate_*cache* metric
//     counts hits after a few such requests); without one it would measure
//     cold again, and the figure leaves its series out, saying why.
//
// cpu-ns/op is the user + system time of the whole process (client, proxy,
// upstream) per request; the figure subtracts mode=direct's, so what it
// plots is the proxy's. The harness (go run ./bench) cannot give this per
// page: its CPU figure is per run, and a run per page and mode is 97 × 3
// runs of seconds each on a shared machine. html-bytes is the decoded page.
func BenchmarkPageCPU(b *testing.B) {
	pages := testPages(b)
	up := startPageUpstream(b, pages)
	gate, reg := startBenchGate(b, "http://"+up)
	hasCache := warmHits(b, gate, reg, pages[0])
	modes := []struct {
		name, prefix string
		hc           *fasthttp.HostClient
		optout, skip bool
	}{
		{"direct", "/p/", benchClient(up), false, false},
		{"plain", "/p/", benchClient(gate), false, false},
		{"cold", "/cold/", benchClient(gate), true, false},
		{"warm", "/p/", benchClient(gate), true, !hasCache},
	}
	for _, pg := range pages {
		for _, m := range modes {
			if m.skip {
				continue
			}
			b.Run(fmt.Sprintf("page=%s/mode=%s", pg.name, m.name), func(b *testing.B) {
				path := m.prefix + pg.name + ".html"
				b.ReportAllocs()
				cpu0 := processCPU(b)
				b.RunParallel(func(pb *testing.PB) {
					req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
					defer fasthttp.ReleaseRequest(req)
					defer fasthttp.ReleaseResponse(resp)
					req.SetRequestURI("http://news.bench.example" + path)
					req.Header.Set("Accept-Encoding", "gzip")
					if m.optout {
						req.Header.Set("Sec-GPC", "1")
					}
					for pb.Next() {
						if err := m.hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
							b.Fatalf("%s: status %d: %v", path, resp.StatusCode(), err)
						}
					}
				})
				b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(len(pg.html)), "html-bytes")
			})
		}
	}
}

func benchClient(addr string) *fasthttp.HostClient {
	return &fasthttp.HostClient{Addr: addr, MaxConns: 64, MaxResponseBodySize: 64 << 20, ReadBufferSize: 16 << 10}
}

// startPageUpstream serves each page as stored, gzip, under /p/NAME.html,
// and under /cold/NAME.html with a gzip member appended that holds a
// counter: a different body on every response, the same page decoded.
func startPageUpstream(b *testing.B, pages []realPage) string {
	byPath := map[string][]byte{}
	for _, p := range pages {
		byPath[p.name+".html"] = p.gz
	}
	var n atomic.Uint64
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			path := string(ctx.Path())
			name, cold := strings.CutPrefix(path, "/cold/")
			if !cold {
				name = strings.TrimPrefix(path, "/p/")
			}
			gz, ok := byPath[name]
			if !ok {
				ctx.Error("no such page", fasthttp.StatusNotFound)
				return
			}
			ctx.Response.Header.SetContentType("text/html; charset=utf-8")
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			if !cold {
				ctx.SetBody(gz)
				return
			}
			body := ctx.Response.BodyWriter()
			body.Write(gz) //nolint:errcheck // a bytebuffer
			ctx.Response.AppendBody(appendStoredMember(nil, []byte("<!-- "+strconv.FormatUint(n.Add(1), 10)+" -->")))
		},
		NoDefaultServerHeader: true, NoDefaultDate: true,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)                     //nolint:errcheck
	b.Cleanup(func() { srv.Shutdown() }) //nolint:errcheck
	return ln.Addr().String()
}

// appendStoredMember appends to dst a gzip member (RFC 1952) holding p in
// one stored deflate block (RFC 1951 3.2.4): no compressor needed.
func appendStoredMember(dst, p []byte) []byte {
	dst = append(dst, 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff) // magic, deflate, no flags, no mtime, unknown OS
	dst = append(dst, 1)                                     // BFINAL, BTYPE=00 (stored)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(p)))
	dst = binary.LittleEndian.AppendUint16(dst, ^uint16(len(p)))
	dst = append(dst, p...)
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(p))
	return binary.LittleEndian.AppendUint32(dst, uint32(len(p)))
}

// startBenchGate runs a proxy.Server on loopback in front of upstream with
// the built-in catalogue and the default policy for every host.
func startBenchGate(b *testing.B, upstream string) (string, *prometheus.Registry) {
	set, err := rules.Compile(rulesconfig.Default(upstream))
	if err != nil {
		b.Fatal(err)
	}
	sig := signals.NewReader()
	reg := prometheus.NewRegistry()
	srv, err := proxy.New(proxy.Options{Rules: proxy.StaticRules{Set: set}, Signals: sig, Metrics: proxy.NewMetrics(reg)})
	if err != nil {
		b.Fatal(err)
	}
	if c := srv.ResponseCache(); c != nil {
		reg.MustRegister(c)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck
	b.Cleanup(func() {
		srv.Shutdown(context.Background()) //nolint:errcheck
		set.Close()
		sig.Close()
	})
	return ln.Addr().String(), reg
}

// warmHits requests pg opted out a few times, the same body each time,
// checks the answers (gzip, trackers gone where the plain page has them),
// and reports whether a response-cache metric of the proxy then counts a
// hit: a counter or gauge whose family name has "cache" in it and whose
// name or a label value says hit.
func warmHits(b *testing.B, gate string, reg *prometheus.Registry, pg realPage) bool {
	hc := benchClient(gate)
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	for range 4 {
		req.SetRequestURI("http://news.bench.example/p/" + pg.name + ".html")
		req.Header.Set("Accept-Encoding", "gzip")
		req.Header.Set("Sec-GPC", "1")
		if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
			b.Fatalf("opted-out %s: status %d: %v", pg.name, resp.StatusCode(), err)
		}
		body, err := resp.BodyGunzip()
		if err != nil {
			b.Fatalf("opted-out %s: %v", pg.name, err)
		}
		if bytes.Equal(body, pg.html) {
			b.Fatalf("opted-out %s came back unchanged: the bench's pages should have trackers", pg.name)
		}
	}
	// A cold response is the page with the counter's member decoded too.
	req.SetRequestURI("http://news.bench.example/cold/" + pg.name + ".html")
	if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
		b.Fatalf("opted-out cold %s: status %d: %v", pg.name, resp.StatusCode(), err)
	}
	if body, err := resp.BodyGunzip(); err != nil || !bytes.HasSuffix(body, []byte(" -->")) {
		b.Fatalf("opted-out cold %s: the appended member is missing (%v): %.60q", pg.name, err, body[max(0, len(body)-60):])
	}
	return cacheHits(b, reg) > 0
}

// cacheHits sums the hits that the registry's cache metrics count.
func cacheHits(b testing.TB, reg *prometheus.Registry) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	hits := 0.0
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.Contains(name, "cache") {
			continue
		}
		for _, m := range mf.GetMetric() {
			hit := strings.Contains(name, "hit")
			for _, l := range m.GetLabel() {
				if v := strings.ToLower(l.GetValue()); v == "hit" || v == "hits" {
					hit = true
				}
			}
			if !hit {
				continue
			}
			hits += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return hits
}
