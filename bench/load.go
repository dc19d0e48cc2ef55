package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// loadResult is what one load run measured.
type loadResult struct {
	requests       int64
	errors         int64 // connect, read, write and timeout errors and non-2xx/3xx answers
	seconds        float64
	p50, p99, p999 float64 // latency, µs
}

func (r loadResult) rps() float64 {
	if r.seconds <= 0 {
		return 0
	}
	return float64(r.requests) / r.seconds
}

// loadGen drives url with a fixed number of keep-alive connections for d.
type loadGen interface {
	name() string
	run(ctx context.Context, url string, hdrs []string, d time.Duration) (loadResult, error)
}

// wrkScript prints the result of a run as one parseable line.
const wrkScript = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p50_us=%d p99_us=%d p999_us=%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
`

type wrk struct {
	bin            string
	script         string
	threads, conns int
}

func newWrk(bin, dir string, threads, conns int) (*wrk, error) {
	script := filepath.Join(dir, "result.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return nil, err
	}
	return &wrk{bin: bin, script: script, threads: threads, conns: conns}, nil
}

func (w *wrk) name() string {
	out, _ := exec.Command(w.bin, "-v").CombinedOutput()
	v, _, _ := strings.Cut(string(out), "\n")
	return fmt.Sprintf("%s (-t%d -c%d)", strings.TrimSpace(strings.Split(v, "Copyright")[0]), w.threads, w.conns)
}

func (w *wrk) run(ctx context.Context, url string, hdrs []string, d time.Duration) (loadResult, error) {
	out, err := w.runScript(ctx, w.script, url, hdrs, d)
	if err != nil {
		return loadResult{}, err
	}
	return parseWrk(out)
}

// runScript runs wrk with the Lua script for d (whole seconds, at least
// one) and returns its output.
func (w *wrk) runScript(ctx context.Context, script, url string, hdrs []string, d time.Duration) (string, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	args := []string{"-t", strconv.Itoa(w.threads), "-c", strconv.Itoa(w.conns), "-d", strconv.Itoa(secs) + "s",
		"--timeout", "10s", "-s", script}
	for _, h := range hdrs {
		args = append(args, "-H", h)
	}
	args = append(args, url)
	cmd := exec.CommandContext(ctx, w.bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("wrk: %v\n%s", err, tailLines(string(out), 10))
	}
	return string(out), nil
}

// parseWrk reads the RESULT line the script prints.
func parseWrk(out string) (loadResult, error) {
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "RESULT ")
		if !ok {
			continue
		}
		v := map[string]float64{}
		for _, kv := range strings.Fields(rest) {
			k, s, ok := strings.Cut(kv, "=")
			if !ok {
				return loadResult{}, fmt.Errorf("wrk result: bad field %q", kv)
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return loadResult{}, fmt.Errorf("wrk result %s: %v", k, err)
			}
			v[k] = f
		}
		for _, k := range []string{"requests", "duration_us", "errors", "p50_us", "p99_us", "p999_us"} {
			if _, ok := v[k]; !ok {
				return loadResult{}, fmt.Errorf("wrk result: no %s", k)
			}
		}
		return loadResult{
			requests: int64(v["requests"]), errors: int64(v["errors"]), seconds: v["duration_us"] / 1e6,
			p50: v["p50_us"], p99: v["p99_us"], p999: v["p999_us"],
		}, nil
	}
	return loadResult{}, fmt.Errorf("wrk printed no RESULT line:\n%s", tailLines(out, 10))
}

// goLoad is the load generator used without wrk: fasthttp's client, one
// keep-alive connection per worker.
type goLoad struct{ conns int }

func (g goLoad) name() string { return fmt.Sprintf("Go fasthttp client (%d connections)", g.conns) }

func (g goLoad) run(ctx context.Context, url string, hdrs []string, d time.Duration) (loadResult, error) {
	uri := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(uri)
	if err := uri.Parse(nil, []byte(url)); err != nil {
		return loadResult{}, err
	}
	c := &fasthttp.HostClient{
		Addr: string(uri.Host()), MaxConns: g.conns, ReadBufferSize: 16 << 10,
		MaxResponseBodySize: 256 << 20, NoDefaultUserAgentHeader: true,
		MaxIdemponentCallAttempts: 1,
	}
	defer c.CloseIdleConnections()
	var (
		mu   sync.Mutex
		lats []time.Duration
		errs int64
		wg   sync.WaitGroup
	)
	begin := time.Now()
	end := begin.Add(d)
	for i := 0; i < g.conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(url)
			for _, h := range hdrs {
				k, v, _ := strings.Cut(h, ":")
				req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			var mine []time.Duration
			var bad int64
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				err := c.DoTimeout(req, resp, 10*time.Second)
				if err != nil || resp.StatusCode() >= 400 {
					bad++
					if err != nil {
						time.Sleep(10 * time.Millisecond)
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return loadResult{}, err
	}
	r := loadResult{requests: int64(len(lats)), errors: errs, seconds: time.Since(begin).Seconds()}
	r.p50, r.p99, r.p999 = percentiles(lats)
	return r, nil
}

// percentiles returns the 50th, 99th and 99.9th percentile of d in µs
// (nearest rank); d is sorted in place.
func percentiles(d []time.Duration) (p50, p99, p999 float64) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		i := int(p/100*float64(len(d))+0.5) - 1
		i = min(max(i, 0), len(d)-1)
		return float64(d[i]) / float64(time.Microsecond)
	}
	return at(50), at(99), at(99.9)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
