package proxy_test

import (
	"bufio"
	"compress/gzip"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

var memoryMB = flag.Int("memory-mb", 24, "size in MB of the pages TestMemoryPerResponse streams (the documented figures use 200)")

// heapPeak samples the live heap (bytes in objects, live and not yet
// swept) every millisecond until stop is called, and returns the largest
// value above the one at the start.
func heapPeak() (stop func() (peak, base uint64)) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	runtime.GC()
	base := read()
	var max atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if v := read(); v > max.Load() {
					max.Store(v)
				}
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		<-finished
		return max.Load(), base
	}
}

// realPage returns one of the saved news pages, decompressed.
func realPage(t *testing.T) []byte {
	t.Helper()
	dir := os.Getenv("CONSENTGATE_PAGES")
	if dir == "" {
		dir = "../../shared/data/pages"
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.html.gz"))
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs the saved pages in %s (how to get them: .ci/run)", dir)
		}
		t.Skipf("no saved pages in %s (set CONSENTGATE_PAGES; how to get them: .ci/run)", dir)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMemoryPerResponse streams the worst pages to an opted-out visitor and
// bounds the heap the proxy holds for them at any moment: memory per
// response must not depend on the page. The worst include one start tag as
// long as the page (a data: image, a data attribute, then a tracker ping),
// which the rewriter passes through past MaxTag without holding it. With -memory-mb 200 it reproduces
// the documented figures.
func TestMemoryPerResponse(t *testing.T) {
	if raceEnabled {
		t.Skip("heap figures under -race are not the build's")
	}
	size := *memoryMB << 20
	tracker := []byte(`<img src="https://www.google-analytics.com/collect?v=1&tid=UA-1&cid=555">` + "\n")
	real := realPage(t)
	pages := map[string][]byte{"/trackers": tracker, "/real": real, "/text": []byte(strings.Repeat("<p>plain text, nothing to remove.</p>\n", 100))}
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/bigtag" {
			// One start tag the size of the page: a data: image, then a
			// data attribute, then a tracker URL (tagcut in proxy/rewrite).
			ctx.Response.Header.SetContentType("text/html; charset=utf-8")
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
				io.WriteString(w, `<img src="data:image/png;base64,`) //nolint:errcheck
				unit := []byte(strings.Repeat("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk", 64))
				for n := 0; n < size/2; n += len(unit) {
					if _, err := w.Write(unit); err != nil {
						return
					}
				}
				io.WriteString(w, `" data-props="`) //nolint:errcheck
				for n := 0; n < size/2; n += len(unit) {
					if _, err := w.Write(unit); err != nil {
						return
					}
				}
				io.WriteString(w, `" ping="https://www.facebook.com/tr" alt=x><p>end</p>`) //nolint:errcheck
			})
			return
		}
		unit := pages[strings.TrimSuffix(string(ctx.Path()), ".gz")]
		gz := strings.HasSuffix(string(ctx.Path()), ".gz")
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		if gz {
			ctx.Response.Header.Set("Content-Encoding", "gzip")
		}
		size := size
		if gz {
			// Decoded bytes of a compressed body are capped (64 MiB by
			// default): a bigger one is cut by design.
			size = min(size, 48<<20)
		}
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			var out io.Writer = w
			var zw *gzip.Writer
			if gz {
				zw, _ = gzip.NewWriterLevel(w, gzip.BestSpeed)
				out = zw
			}
			for n := 0; n < size; n += len(unit) {
				if _, err := out.Write(unit); err != nil {
					return
				}
			}
			if zw != nil {
				zw.Close()
			}
		})
	})
	g := startGate(t, "http://"+up.addr, "")
	for _, c := range []struct {
		path, ae string
	}{
		{"/trackers", "identity"},
		{"/real", "identity"},
		{"/text", "identity"},
		{"/real.gz", "gzip"},
		{"/trackers.gz", "gzip"},
		{"/bigtag", "identity"},
	} {
		t.Run(strings.TrimPrefix(c.path, "/")+"-"+c.ae, func(t *testing.T) {
			stop := heapPeak()
			start := time.Now()
			resp, body := getDiscard(t, g.url+c.path, "Sec-GPC: 1", "Accept-Encoding: "+c.ae)
			peak, base := stop()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			grew := int64(peak) - int64(base)
			t.Logf("%s: %d bytes out in %v: heap %0.1f MiB at start, peak +%0.1f MiB", c.path, body, time.Since(start).Round(time.Millisecond),
				float64(base)/(1<<20), float64(grew)/(1<<20))
			if grew > 16<<20 {
				t.Errorf("the heap grew by %0.1f MiB while one response streamed; memory per response must be bounded", float64(grew)/(1<<20))
			}
		})
	}
	debug.FreeOSMemory()
}

var slowClient = &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 2 * time.Minute}

// getDiscard GETs url and counts the body without keeping it.
func getDiscard(t *testing.T, url string, headers ...string) (*http.Response, int64) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := slowClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		t.Fatalf("after %d bytes: %v", n, err)
	}
	return resp, n
}
