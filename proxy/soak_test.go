package proxy_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// The soak is long and heavy, so it runs only when asked for:
//
//	go test ./proxy -run TestSoak -soak -soak-for 1h -timeout 0 -v
//
// It builds cmd/consentgate, runs it as a process of its own (so its RSS,
// goroutines and file descriptors are the proxy's alone) in front of an
// origin in the test process, and keeps -soak-conns visitor connections
// busy with mixed traffic for -soak-for. Every -soak-every it samples the
// proxy; the samples go to soak.csv and a chart to soak.svg in -soak-out.
var (
	soak      = flag.Bool("soak", false, "run TestSoak (long; not in CI)")
	soakFor   = flag.Duration("soak-for", time.Hour, "TestSoak: how long to keep the load on")
	soakConns = flag.Int("soak-conns", 5000, "TestSoak: visitor connections kept busy at once")
	soakEvery = flag.Duration("soak-every", time.Minute, "TestSoak: how often to sample the proxy")
	soakThink = flag.Duration("soak-think", 10*time.Second, "TestSoak: mean pause between the requests of one connection")
	soakOut   = flag.String("soak-out", "", "TestSoak: directory for soak.csv and soak.svg (default: a new one under the temp dir)")
)

// soakKinds are the kinds of traffic, with their share of requests in
// thousandths. Each connection picks one per request.
var soakKinds = []struct {
	name  string
	share int
}{
	{"plain", 300},      // a real news page, no signal
	{"optout", 300},     // the same page, Sec-GPC: 1 (rewritten)
	{"gzip", 150},       // opted out, the origin answers gzip, the visitor takes gzip
	{"asset", 200},      // a 30 KB script
	{"big", 10},         // a 4 MiB page, opted out (rewritten as it streams), read at full speed
	{"slow", 10},        // the 4 MiB page read at 128 KiB/s
	{"stalled", 5},      // a 64 MiB page, not read: the proxy must close the connection
	{"bad", 25},         // a malformed request: bare LF, CL+TE, a 64 KiB header, garbage
	{"unavailable", 0},  // counted when the proxy answers 5xx or cannot be reached
	{"wrong_output", 0}, // counted when a body is not what the request must get
}

// soakStats counts per kind: requests done and unexpected outcomes.
type soakStats struct {
	done, bad [16]atomic.Int64
	bytes     atomic.Int64
	retried   atomic.Int64 // requests sent again after a kept-alive connection closed under them
}

func kindIndex(name string) int {
	for i, k := range soakKinds {
		if k.name == name {
			return i
		}
	}
	panic(name)
}

func TestSoak(t *testing.T) {
	if !*soak {
		t.Skip("the soak runs with -soak (see soak_test.go)")
	}
	conns := *soakConns
	raiseFileLimit(t, uint64(2*conns+2000))

	origin, page, asset := soakOrigin(t)
	dir, proc, listen, admin := startSoakProxy(t, origin)
	defer func() {
		proc.Process.Signal(syscall.SIGTERM) //nolint:errcheck
		proc.Wait()                          //nolint:errcheck
	}()

	// What each kind must get: the rewritten page is the same bytes every time.
	want := map[string][]byte{"plain": page, "asset": asset}
	for _, k := range []string{"optout", "gzip"} {
		b, err := soakFetch(listen, k)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		want[k] = b
	}
	want["gzip"] = gunzip(want["gzip"])
	if bytes.Equal(want["optout"], page) || !bytes.Equal(want["optout"], want["gzip"]) {
		t.Fatal("the opted-out page equals the plain one (nothing was rewritten), or the gzip one differs")
	}

	csvf, err := os.Create(filepath.Join(dir, "soak.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer csvf.Close()
	fmt.Fprintln(csvf, "minute,rss_mib,heap_inuse_mib,goroutines,fds,inflight,requests,bad,mib_served")
	var samples []soakSample
	var st soakStats
	sample := func(at time.Duration) soakSample {
		s := soakSample{min: at.Minutes(), rss: procRSS(proc.Process.Pid), fds: procFDs(proc.Process.Pid)}
		s.goroutines, s.inflight, s.heap = adminGauges(admin)
		for i := range soakKinds {
			s.requests += st.done[i].Load()
			s.bad += st.bad[i].Load()
		}
		s.mib = float64(st.bytes.Load()) / (1 << 20)
		fmt.Fprintf(csvf, "%.1f,%.1f,%.1f,%d,%d,%d,%d,%d,%.0f\n", s.min, s.rss, s.heap, s.goroutines, s.fds, s.inflight, s.requests, s.bad, s.mib)
		csvf.Sync() //nolint:errcheck
		samples = append(samples, s)
		t.Logf("%5.1f min: RSS %6.1f MiB (heap in use %6.1f), %5d goroutines, %5d fds, %4d in flight, %8d requests (%d unexpected), %.0f MiB served",
			s.min, s.rss, s.heap, s.goroutines, s.fds, s.inflight, s.requests, s.bad, s.mib)
		return s
	}
	start := time.Now()
	base := sample(0)

	ctx, cancel := context.WithTimeout(context.Background(), *soakFor)
	defer cancel()
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			soakVisitor(ctx, listen, uint64(i), want, &st)
		}()
		if i%100 == 99 {
			time.Sleep(50 * time.Millisecond) // open the connections over a few seconds
		}
	}
	tick := time.NewTicker(*soakEvery)
	for done := false; !done; {
		select {
		case <-tick.C:
			sample(time.Since(start))
		case <-ctx.Done():
			done = true
		}
	}
	tick.Stop()
	wg.Wait()
	// The load is off: what the proxy still holds after its idle timeouts
	// (keep-alive 90 s) is what it keeps for good.
	time.Sleep(100 * time.Second)
	after := sample(time.Since(start))
	writeSoakSVG(t, filepath.Join(dir, "soak.svg"), samples, conns)
	t.Logf("results in %s (soak.csv, soak.svg, proxy.log)", dir)

	var report strings.Builder
	for i, k := range soakKinds {
		fmt.Fprintf(&report, "%s %d/%d  ", k.name, st.done[i].Load(), st.bad[i].Load())
	}
	t.Logf("requests done/unexpected by kind: %s; sent again on a new connection: %d", report.String(), st.retried.Load())
	if n := st.bad[kindIndex("wrong_output")].Load(); n > 0 {
		t.Errorf("%d responses were not the bytes their request must get (an opted-out visitor may have got a tracker)", n)
	}
	if n := st.bad[kindIndex("unavailable")].Load(); n > 0 {
		t.Errorf("%d requests got a 5xx from the proxy", n)
	}
	if after.goroutines > base.goroutines+50 {
		t.Errorf("goroutines: %d before the load, %d after it: something is left running", base.goroutines, after.goroutines)
	}
}

type soakSample struct {
	min             float64
	rss, heap, mib  float64
	goroutines, fds int
	inflight        int
	requests, bad   int64
}

// soakVisitor keeps one visitor connection busy until ctx is done.
func soakVisitor(ctx context.Context, addr string, seed uint64, want map[string][]byte, st *soakStats) {
	rng := rand.New(rand.NewPCG(seed, 99))
	var c net.Conn
	var br *bufio.Reader
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	// Spread the first requests over one think time.
	if !sleepCtx(ctx, time.Duration(rng.Int64N(int64(*soakThink)))) {
		return
	}
	reused := false
	for ctx.Err() == nil {
		kind := pickKind(rng)
		var keep, ok bool
		for try := 0; try < 2; try++ {
			if c == nil {
				var err error
				if c, err = net.DialTimeout("tcp", addr, 10*time.Second); err != nil {
					st.bad[kindIndex("unavailable")].Add(1)
					sleepCtx(ctx, time.Second)
					break
				}
				br = bufio.NewReaderSize(c, 32<<10)
				reused = false
			}
			var stale bool
			keep, ok, stale = soakRequest(c, br, kind, rng, want, st)
			if !stale || !reused {
				break
			}
			// The proxy closed the kept-alive connection as the request
			// went out (its idle timeout is 90 s, and one think time in
			// ten thousand is longer): a browser sends it again on a new
			// one, and so does this visitor.
			st.retried.Add(1)
			c.Close()
			c = nil
		}
		if c == nil {
			continue
		}
		reused = true
		st.done[kindIndex(kind)].Add(1)
		if !ok {
			st.bad[kindIndex(kind)].Add(1)
		}
		if !keep {
			c.Close()
			c = nil
		}
		// Exponential think time with the configured mean.
		if !sleepCtx(ctx, time.Duration(rng.ExpFloat64()*float64(*soakThink))) {
			return
		}
	}
}

func pickKind(rng *rand.Rand) string {
	n := rng.IntN(1000)
	for _, k := range soakKinds {
		if n < k.share {
			return k.name
		}
		n -= k.share
	}
	return "plain"
}

var soakBad = []string{
	"GET /page HTTP/1.1\nHost: shop.example\n\n",
	"POST /page HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"GET /page HTTP/1.1\r\nHost: shop.example\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n",
	"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
}

// soakRequest sends one request of kind on c and reads the answer. keep
// says whether c can carry another request; ok whether the answer was
// what the kind must get.
//
// stale says that nothing came back on c, which was closed or reset before
// the first byte of an answer.
func soakRequest(c net.Conn, br *bufio.Reader, kind string, rng *rand.Rand, want map[string][]byte, st *soakStats) (keep, ok, stale bool) {
	c.SetDeadline(time.Now().Add(5 * time.Minute)) //nolint:errcheck
	var req string
	switch kind {
	case "plain":
		req = "GET /page HTTP/1.1\r\nHost: shop.example\r\n\r\n"
	case "optout":
		req = "GET /page HTTP/1.1\r\nHost: shop.example\r\nSec-GPC: 1\r\n\r\n"
	case "gzip":
		req = "GET /page?gz HTTP/1.1\r\nHost: shop.example\r\nSec-GPC: 1\r\nAccept-Encoding: gzip\r\n\r\n"
	case "asset":
		req = "GET /asset.js HTTP/1.1\r\nHost: shop.example\r\n\r\n"
	case "big", "slow":
		req = "GET /big HTTP/1.1\r\nHost: shop.example\r\nSec-GPC: 1\r\n\r\n"
	case "stalled":
		req = "GET /huge HTTP/1.1\r\nHost: shop.example\r\nSec-GPC: 1\r\n\r\n"
	case "bad":
		req = soakBad[rng.IntN(len(soakBad))]
	}
	if _, err := io.WriteString(c, req); err != nil {
		return false, false, true
	}
	if kind == "stalled" {
		// Never read: the proxy must give up after its write idle
		// timeout (10 s) and close.
		time.Sleep(20 * time.Second)
		c.SetReadDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return false, true, false
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		st.bytes.Add(n)
		// Cut short, as it must be, unless a busy proxy had not yet
		// filled the socket buffers when the visitor began to read.
		return false, err != nil, false
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		// net/http reports a connection closed before the status line as
		// io.ErrUnexpectedEOF.
		return false, false, errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 {
		st.bad[kindIndex("unavailable")].Add(1)
	}
	if kind == "bad" {
		n, _ := io.Copy(io.Discard, resp.Body)
		st.bytes.Add(n)
		return false, resp.StatusCode >= 400 && resp.StatusCode < 500, false
	}
	var body []byte
	switch kind {
	case "slow":
		var n int64
		for {
			k, err := io.CopyN(io.Discard, resp.Body, 64<<10)
			n += k
			if err != nil {
				st.bytes.Add(n)
				return err == io.EOF, err == io.EOF && resp.StatusCode == 200, false
			}
			time.Sleep(500 * time.Millisecond) // 128 KiB/s
		}
	case "big":
		n, err := io.Copy(io.Discard, resp.Body)
		st.bytes.Add(n)
		return err == nil, err == nil && resp.StatusCode == 200, false
	default:
		body, err = io.ReadAll(resp.Body)
		st.bytes.Add(int64(len(body)))
		if err != nil {
			return false, false, false
		}
	}
	if kind == "gzip" {
		body = gunzip(body)
	}
	if !bytes.Equal(body, want[kind]) {
		st.bad[kindIndex("wrong_output")].Add(1)
		return !resp.Close, false, false
	}
	return !resp.Close, resp.StatusCode == 200, false
}

// soakFetch makes one request of kind on a new connection and returns the
// body as it came.
func soakFetch(addr, kind string) ([]byte, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck
	req := map[string]string{
		"optout": "GET /page HTTP/1.1\r\nHost: shop.example\r\nSec-GPC: 1\r\n\r\n",
		"gzip":   "GET /page?gz HTTP/1.1\r\nHost: shop.example\r\nSec-GPC: 1\r\nAccept-Encoding: gzip\r\n\r\n",
	}[kind]
	io.WriteString(c, req) //nolint:errcheck
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return io.ReadAll(resp.Body)
}

// gunzip decodes a gzip body; nil when it is not one.
func gunzip(b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// raiseFileLimit raises this process's open-file limit (which the proxy
// inherits) to at least n, within the hard limit.
func raiseFileLimit(t *testing.T, n uint64) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Fatal(err)
	}
	if r.Cur >= n {
		return
	}
	if r.Max < n {
		t.Fatalf("the open-file limit is %d (hard %d); the soak needs %d: raise it (ulimit -n) or lower -soak-conns", r.Cur, r.Max, n)
	}
	r.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Fatal(err)
	}
}

// procRSS is a process's resident set in MiB.
func procRSS(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// procFDs is how many files a process has open.
func procFDs(pid int) int {
	es, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(es)
}

// adminGauges reads go_goroutines, consentgate_inflight_requests and
// go_memstats_heap_inuse_bytes (in MiB) from the admin listener.
func adminGauges(admin string) (goroutines, inflight int, heap float64) {
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return -1, -1, -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if v, ok := strings.CutPrefix(l, "go_goroutines "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			goroutines = int(f)
		}
		if v, ok := strings.CutPrefix(l, "consentgate_inflight_requests "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			inflight = int(f)
		}
		if v, ok := strings.CutPrefix(l, "go_memstats_heap_inuse_bytes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			heap = f / (1 << 20)
		}
	}
	return goroutines, inflight, heap
}

// writeSoakSVG draws the samples: memory (RSS and heap in use), and
// goroutines with requests in flight, over time.
func writeSoakSVG(t *testing.T, path string, s []soakSample, conns int) {
	if len(s) < 2 {
		return
	}
	const w, h, pad = 720, 220, 50
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, 2*h+40)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">consentgate soak: %d connections, mixed traffic</text>`+"\n", pad, conns)
	tmax := s[len(s)-1].min
	type line struct {
		name, color string
		v           func(soakSample) float64
	}
	panel := func(y0 int, title, unit string, lines ...line) {
		vmax := 0.0
		for _, x := range s {
			for _, l := range lines {
				vmax = max(vmax, l.v(x))
			}
		}
		vmax = niceCeil(vmax)
		px := func(m float64) float64 { return pad + (w-2*pad)*m/max(tmax, 1) }
		py := func(val float64) float64 { return float64(y0+h-pad) - float64(h-2*pad)*val/vmax }
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", pad, y0+pad-10, title)
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", pad, y0+h-pad, w-pad, y0+h-pad)
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", pad, y0+pad, pad, y0+h-pad)
		for i := 0; i <= 4; i++ {
			val := vmax * float64(i) / 4
			fmt.Fprintf(&b, `<text x="%d" y="%.0f" text-anchor="end">%g</text>`+"\n", pad-4, py(val)+4, val)
			fmt.Fprintf(&b, `<line x1="%d" y1="%.0f" x2="%d" y2="%.0f" stroke="#ddd"/>`+"\n", pad, py(val), w-pad, py(val))
		}
		for i := 0; i <= 5; i++ {
			m := tmax * float64(i) / 5
			fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">%.0f</text>`+"\n", px(m), y0+h-pad+16, m)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">minutes</text>`+"\n", w-pad, y0+h-pad+30)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="start">%s</text>`+"\n", 4, y0+pad-10, unit)
		for k, l := range lines {
			var pts []string
			for _, x := range s {
				if v := l.v(x); v >= 0 {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(x.min), py(v)))
				}
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", l.color, strings.Join(pts, " "))
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", w-pad-200+k*100, y0+pad-10, l.color, l.name)
		}
	}
	panel(30, "proxy memory", "MiB",
		line{"RSS", "#1f77b4", func(x soakSample) float64 { return x.rss }},
		line{"heap in use", "#ff7f0e", func(x soakSample) float64 { return x.heap }})
	panel(30+h, "proxy goroutines and requests in flight", "",
		line{"goroutines", "#1f77b4", func(x soakSample) float64 { return float64(x.goroutines) }},
		line{"in flight", "#ff7f0e", func(x soakSample) float64 { return float64(x.inflight) }})
	b.WriteString("</svg>\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Error(err)
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := 1.0
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// soakOrigin starts the soak's origin: a real page (plain and gzip), a
// script, a big page and a huge one, streamed.
func soakOrigin(t *testing.T) (origin *upstream, page, asset []byte) {
	page = realPage(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(page) //nolint:errcheck
	zw.Close()
	asset = bytes.Repeat([]byte("function f(){return 1}\n"), 1300)
	const bigSize, hugeSize = 4 << 20, 64 << 20
	origin = startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/page":
			ctx.Response.Header.SetContentType("text/html; charset=utf-8")
			if bytes.Contains(ctx.Request.Header.Peek("Accept-Encoding"), []byte("gzip")) && ctx.QueryArgs().Has("gz") {
				ctx.Response.Header.Set("Content-Encoding", "gzip")
				ctx.SetBody(gz.Bytes())
				return
			}
			ctx.SetBody(page)
		case "/asset.js":
			ctx.Response.Header.SetContentType("application/javascript")
			ctx.SetBody(asset)
		case "/big", "/huge":
			size := bigSize
			if string(ctx.Path()) == "/huge" {
				size = hugeSize
			}
			ctx.Response.Header.SetContentType("text/html; charset=utf-8")
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
				for n := 0; n < size; n += len(page) {
					if _, err := w.Write(page[:min(len(page), size-n)]); err != nil {
						return
					}
				}
			})
		}
	})
	return origin, page, asset
}

// startSoakProxy builds consentgate and runs it in front of origin, as
// operators run the binary; its log goes to dir (-soak-out, or a new
// temporary folder). The caller stops it.
func startSoakProxy(t *testing.T, origin *upstream) (dir string, proc *exec.Cmd, listen, admin string) {
	dir = *soakOut
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "consentgate-soak-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "consentgate")
	if b, err := exec.Command("go", "build", "-o", bin, "../cmd/consentgate").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	listen = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	admin = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	logf, err := os.Create(filepath.Join(dir, "proxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	proc = exec.Command(bin, "serve", "--listen", listen, "--admin", admin, "--upstream", "http://"+origin.addr,
		"--write-idle-timeout", "10s", "--log-level", "warn")
	proc.Stdout, proc.Stderr = logf, logf
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	waitPort(t, listen)
	waitPort(t, admin)
	return dir, proc, listen, admin
}
