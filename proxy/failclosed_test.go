package proxy_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
)

// TestOversizeCountsFailClosed: an element past one of the rewriter's
// bounds is decided by the fail-closed rule for that bound (a noscript
// longer than rewrite.MaxInline is removed whatever it holds) and the
// response is counted in consentgate_fail_closed_total{reason="oversize"},
// read whole or streamed, enforced or observed in shadow mode. The
// rewriter's counts (rewrite.Stats) went to the receipt only: the metric
// the docs point operators at never showed them.
func TestOversizeCountsFailClosed(t *testing.T) {
	big := "<html><head></head><body><noscript>" + strings.Repeat("<p>first-party text</p>", rewrite.MaxInline/20) +
		"</noscript><h1>kept</h1></body></html>"
	long := big + strings.Repeat("<p>a page longer than a body read whole</p>\n", 8000)
	plain := "<html><head></head><body><h1>kept</h1></body></html>"
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		switch string(ctx.Path()) {
		case "/big":
			ctx.SetBodyString(big)
		case "/long":
			ctx.SetBodyStream(strings.NewReader(long), -1)
		default:
			ctx.SetBodyString(plain)
		}
	})
	for _, mode := range []struct{ name, config string }{
		{"enforced", ""},
		{"shadow", "sites:\n  - name: default\n    hosts: [\"*\"]\n    shadow: true\n"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			g := startGate(t, "http://"+up.addr, mode.config)
			for _, path := range []string{"/big", "/long", "/plain"} {
				resp, body := get(t, g.url+path, "Sec-GPC: 1")
				if resp.StatusCode != 200 || !bytes.Contains(body, []byte("<h1>kept</h1>")) {
					t.Fatalf("%s: status %d, page lost: %.200q", path, resp.StatusCode, body)
				}
			}
			if n := testutil.ToFloat64(g.metrics.FailClosed.WithLabelValues("default", "oversize")); n != 2 {
				t.Errorf("consentgate_fail_closed_total{reason=\"oversize\"} = %v, want 2 (one per page past a bound)", n)
			}
		})
	}
}
