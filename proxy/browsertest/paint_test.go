package browsertest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/valyala/fasthttp"
)

// paintPages are the real saved pages the first-paint measurement loads.
var paintPages = []string{
	"9to5mac.com-ad826691", "aljazeera.com-42aad16b", "cnbc.com-374ac9a5", "wsj.com-042bb7b5", "theguardian.com-5fa3154e",
}

// TestGuardFirstPaint measures what the runtime guard costs a page's first
// contentful paint: real saved news pages (../shared/data/pages) served
// through consentgate with Sec-GPC: 1, with guard: off, external and
// inline, the modes alternated, CONSENTGATE_PAINT_RUNS loads each, the
// browser cache disabled (so an external guard is fetched on every load,
// its worst case). It prints the median first-contentful-paint per page
// and mode. Without CONSENTGATE_PAINT_RUNS it skips: it is a measurement,
// timings are no test outcome; it fails only when a page does not paint.
//
//	CONSENTGATE_PAINT_RUNS=7 go test ./proxy/browsertest -run TestGuardFirstPaint -v
func TestGuardFirstPaint(t *testing.T) {
	runs, _ := strconv.Atoi(os.Getenv("CONSENTGATE_PAINT_RUNS"))
	if runs <= 0 {
		t.Skip("a measurement: set CONSENTGATE_PAINT_RUNS to the loads per page and mode")
	}
	dir := "../../../shared/data/pages"
	pages := map[string][]byte{}
	for _, name := range paintPages {
		f, err := os.Open(filepath.Join(dir, name+".html.gz"))
		if err != nil {
			t.Skipf("saved pages not found: %v", err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		pages["/"+name] = b
	}
	upstream := func(ctx *fasthttp.RequestCtx) {
		if b, ok := pages[string(ctx.Path())]; ok {
			ctx.SetContentType("text/html; charset=utf-8")
			ctx.SetBody(b)
			return
		}
		ctx.SetStatusCode(404)
	}
	modes := []string{"off", "external", "inline"}
	sites := map[string]string{}
	for _, m := range modes {
		sites[m] = startGuardedSiteWith(t, m, upstream).url
	}
	b := launchFor(t, time.Duration(runs)*2*time.Minute)
	tab, r := b.tab(t, network.Headers{"Sec-GPC": "1"})
	fcp := map[string]map[string][]float64{}
	for _, name := range paintPages {
		fcp[name] = map[string][]float64{}
		for i := 0; i < runs; i++ {
			for _, m := range modes {
				r.take()
				nctx, cancel := context.WithTimeout(tab, pageTimeout)
				var v float64
				err := chromedp.Run(nctx, chromedp.Navigate(sites[m]+"/"+name),
					chromedp.Poll(`(performance.getEntriesByName("first-contentful-paint")[0]||{}).startTime`, &v))
				cancel()
				if err != nil {
					t.Fatalf("%s, guard %s: no first contentful paint: %v", name, m, err)
				}
				fcp[name][m] = append(fcp[name][m], v)
			}
		}
	}
	var tb bytes.Buffer
	fmt.Fprintf(&tb, "| page | %s |\n| --- |%s\n", strings.Join(modes, " | "), strings.Repeat(" ---: |", len(modes)))
	for _, name := range paintPages {
		fmt.Fprintf(&tb, "| %s |", name)
		for _, m := range modes {
			fmt.Fprintf(&tb, " %.0f ms |", median(fcp[name][m]))
		}
		tb.WriteByte('\n')
	}
	t.Logf("median first-contentful-paint of %d loads, Sec-GPC: 1, cache disabled:\n%s", runs, tb.String())
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
