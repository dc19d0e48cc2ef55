package proxy_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// cachePage is an opted-out page with a tracker to remove; %d makes
// versions of it differ by one byte.
const cachePage = `<!doctype html><html><head><title>t</title>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>
</head><body><p>version %d</p></body></html>`

// TestResponseCache: the second opted-out visitor of a page gets the bytes
// the first got, from the cache, and is counted as the first was; a page
// that changes by one byte, another coding the visitor takes, or a
// visitor without a signal never gets a stored answer.
func TestResponseCache(t *testing.T) {
	var version atomic.Int64
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		page := fmt.Appendf(nil, cachePage, version.Load())
		if bytes.Contains(ctx.Request.Header.Peek("Accept-Encoding"), []byte("gzip")) {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(page) //nolint:errcheck
			zw.Close()
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			page = b.Bytes()
		}
		ctx.SetBody(page)
	})
	g := startGate(t, "http://"+up.addr, "")
	hits := func() float64 { return gatheredValue(t, g.reg, "consentgate_response_cache_hits_total") }
	removed := func() float64 { return gatheredValue(t, g.reg, "consentgate_rewrite_elements_total") }
	fetch := func(hdr ...string) []byte {
		t.Helper()
		resp, body := get(t, g.url+"/", hdr...)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		return body
	}
	first := fetch("Sec-GPC: 1")
	if bytes.Contains(first, []byte("googletagmanager")) {
		t.Fatalf("the tracker reached an opted-out visitor:\n%s", first)
	}
	r0 := removed()
	// ristretto applies a Set asynchronously; ask until it is there (a
	// bounded number of times).
	var second []byte
	for i := 0; i < 200 && hits() == 0; i++ {
		second = fetch("Sec-GPC: 1")
	}
	if hits() == 0 {
		t.Fatal("no cache hit for the same page under the same policy")
	}
	if !bytes.Equal(first, second) {
		t.Errorf("a hit sent other bytes:\nmiss %q\nhit  %q", first, second)
	}
	if removed() <= r0 {
		t.Errorf("a hit did not count the removal again: %v then %v", r0, removed())
	}

	for _, c := range []struct {
		name string
		hdr  []string
	}{
		{"gzip", []string{"Sec-GPC: 1", "Accept-Encoding: gzip"}},
		{"no signal", nil},
	} {
		h := hits()
		body := fetch(c.hdr...)
		if hits() != h {
			t.Errorf("%s: answered from the cache", c.name)
		}
		if c.name == "no signal" && !bytes.Contains(body, []byte("googletagmanager")) {
			t.Errorf("%s: the page was rewritten", c.name)
		}
	}

	version.Store(1) // one byte changes
	h := hits()
	body := fetch("Sec-GPC: 1")
	if hits() != h || !bytes.Contains(body, []byte("version 1")) {
		t.Errorf("a changed page was answered from the cache: %q", body)
	}
}

// gatheredValue is the sum of the series of name in reg, 0 if none.
func gatheredValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		n := 0.0
		for _, m := range mf.GetMetric() {
			n += m.GetCounter().GetValue()
		}
		return n
	}
	return 0
}
