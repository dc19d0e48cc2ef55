package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/consentgate/consentgate/proxy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
)

// faultPage is an HTML page past the size read whole (so it streams) with
// a tracker near its start and its end.
var faultPage = `<html><head><script src="https://www.googletagmanager.com/gtm.js?id=GTM-1"></script></head><body>` +
	strings.Repeat("<p>content content content content</p>\n", 9000) +
	`<img src="https://www.facebook.com/tr?id=1"></body></html>`

// faultOrigin is a raw origin: each path misbehaves its own way.
func faultOrigin(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body) //nolint:errcheck
					switch req.URL.Path {
					case "/reset-headers":
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/ht") //nolint:errcheck
						c.(*net.TCPConn).SetLinger(0)                                 //nolint:errcheck
						return
					case "/short-length":
						fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(faultPage)+1000, faultPage[:len(faultPage)/2])
						return
					case "/no-body":
						fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", 1<<20)
						return
					case "/no-last-chunk":
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n") //nolint:errcheck
						fmt.Fprintf(c, "%x\r\n%s\r\n", len(faultPage)/2, faultPage[:len(faultPage)/2])
						return
					case "/bad-gzip":
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: 40\r\n\r\n\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xffthis is not deflate data at all!") //nolint:errcheck
					case "/1xx":
						io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: <https://www.googletagmanager.com/gtm.js>; rel=preload\r\n\r\n") //nolint:errcheck
						fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(faultPage), faultPage)
					case "/close-after":
						fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(faultPage), faultPage)
						return // keep-alive, then closed by the origin
					default:
						fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(faultPage), faultPage)
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String()
}

// TestUpstreamFaults puts toxiproxy (in process) between the proxy and an
// origin and breaks the connection every way it can, plus the protocol
// faults of the raw origin. Every response is a clean 502/504, a complete
// page, or a visibly cut one; a failure is counted under its reason; an
// opted-out visitor never gets a tracker, whole or partial. Goroutines are
// checked by TestMain (goleak).
func TestUpstreamFaults(t *testing.T) {
	origin := faultOrigin(t)
	zerolog.SetGlobalLevel(zerolog.Disabled) // toxiproxy logs through the global level too
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	tp := toxiproxy.NewProxy(api, "origin", "127.0.0.1:0", origin)
	if err := tp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tp.Stop)
	g := startGate(t, "http://"+tp.Listen, "", func(o *proxy.Options) {
		o.UpstreamTimeout = 700 * time.Millisecond
		o.UpstreamIdleTimeout = 700 * time.Millisecond
	})
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	gDead := startGate(t, "http://"+deadAddr, "")
	slow := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 20 * time.Second}

	type outcome string // "complete", "cut", "502", "504"
	for _, c := range []struct {
		name, path, toxic string
		want              []outcome
		reason            string // counted in consentgate_upstream_errors_total
	}{
		{"refused", "", "", []outcome{"502"}, "refused"},
		{"reset mid-headers", "/reset-headers", "", []outcome{"502"}, "reset"},
		{"reset mid-body", "/", `{"type":"limit_data","attributes":{"bytes":150000}}`, []outcome{"cut"}, "mid_body"},
		{"reset_peer", "/", `{"type":"reset_peer","attributes":{"timeout":0}}`, []outcome{"502"}, "reset"},
		{"latency", "/", `{"type":"latency","attributes":{"latency":300}}`, []outcome{"complete"}, ""},
		{"timeout", "/", `{"type":"timeout","attributes":{"timeout":0}}`, []outcome{"504"}, "timeout"},
		{"slow trickle", "/", `{"type":"slicer","attributes":{"average_size":2000,"size_variation":500,"delay":200}}`, []outcome{"complete"}, ""},
		{"bandwidth", "/", `{"type":"bandwidth","attributes":{"rate":400}}`, []outcome{"complete"}, ""},
		{"slow close", "/", `{"type":"slow_close","attributes":{"delay":300}}`, []outcome{"complete"}, ""},
		{"corrupted gzip", "/bad-gzip", "", []outcome{"complete", "cut", "502"}, ""},
		{"short Content-Length", "/short-length", "", []outcome{"cut"}, "mid_body"},
		{"no body at all", "/no-body", "", []outcome{"502"}, "mid_body"},
		{"chunked without last chunk", "/no-last-chunk", "", []outcome{"cut"}, "mid_body"},
		{"1xx before the answer", "/1xx", "", []outcome{"complete"}, ""},
		{"keep-alive closed by the upstream", "/close-after", "", []outcome{"complete"}, ""},
	} {
		for _, sig := range []string{"X-None: 1", "Sec-GPC: 1"} {
			t.Run(c.name+"/"+sig[:5], func(t *testing.T) {
				if c.toxic != "" {
					tw, err := tp.Toxics.AddToxicJson(strings.NewReader(c.toxic))
					if err != nil {
						t.Fatal(err)
					}
					defer tp.Toxics.RemoveToxic(context.Background(), tw.Name) //nolint:errcheck
				}
				gg := g
				if c.name == "refused" {
					gg = gDead
				}
				before := map[string]float64{}
				for _, r := range []string{"refused", "reset", "timeout", "mid_body", "bad_response"} {
					before[r] = testutil.ToFloat64(gg.metrics.UpstreamErrors.WithLabelValues("default", r))
				}
				req, _ := http.NewRequest("GET", gg.url+c.path, nil)
				k, v, _ := strings.Cut(sig, ":")
				req.Header.Set(k, strings.TrimSpace(v))
				resp, err := slow.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				var got outcome
				switch {
				case resp.StatusCode == 502 || resp.StatusCode == 504:
					got = outcome(fmt.Sprint(resp.StatusCode))
				case rerr != nil:
					got = "cut"
				default:
					got = "complete"
				}
				ok := false
				for _, w := range c.want {
					ok = ok || w == got
				}
				if !ok {
					t.Errorf("status %d, %d bytes, read error %v: got %s, want %v", resp.StatusCode, len(body), rerr, got, c.want)
				}
				if got == "complete" && resp.StatusCode == 200 && c.path != "/bad-gzip" && !strings.HasSuffix(string(body), "</body></html>") {
					t.Errorf("a complete-looking response is not the whole page (%d bytes)", len(body))
				}
				if sig == "Sec-GPC: 1" && (strings.Contains(string(body), "googletagmanager") || strings.Contains(string(body), "facebook.com/tr")) {
					t.Errorf("an opted-out visitor got a tracker (%s, %d bytes)", got, len(body))
				}
				if c.reason != "" {
					// The count may land just after the client saw the cut.
					deadline := time.Now().Add(2 * time.Second)
					for testutil.ToFloat64(gg.metrics.UpstreamErrors.WithLabelValues("default", c.reason)) == before[c.reason] && time.Now().Before(deadline) {
						time.Sleep(10 * time.Millisecond)
					}
					if testutil.ToFloat64(gg.metrics.UpstreamErrors.WithLabelValues("default", c.reason)) == before[c.reason] {
						t.Errorf("not counted in consentgate_upstream_errors_total{reason=%q}", c.reason)
					}
				}
			})
		}
	}
}
