package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// nginxRealOrigin serves the saved pages: the stored .html.gz to every
// request that takes gzip (gzip_static), the decoded page otherwise.
const nginxRealOrigin = nginxCommon + `  sendfile on;
  tcp_nopush on;
  server {
    listen {{LISTEN}};
    root {{DIR}}/www;
    location /p/ { gzip_static on; gzip_vary on; }
  }
}
`

// realConfig is consentgate's config for the mix: one site for every host,
// its upstream the origin, the built-in catalogue and the default policy.
const realConfig = `# go run ./bench -real: one site, the default catalogue and policy.
sites:
  - name: news
    hosts: ["*"]
    upstream: http://%s
`

// realCell is one target under the mix.
type realCell struct {
	cell
	sent    mixSent
	peakRSS int64 // peak of the summed VmRSS of the process tree during the measured run
}

// realResult is what -real measured.
type realResult struct {
	pages       []realPage
	mix         mix
	cells       map[string]realCell
	changed     map[string][2]int // per target: pages whose body differs from the origin's, plain and opted out
	wireOut     int64             // bytes of the 97 opted-out pages consentgate sent (gzip), summed
	wireIn      int64             // bytes of the 97 pages as stored (gzip), summed
	command     string
	script      string // the wrk script, kept with -keep
	targetNames []string
}

// realTraffic is -real: the saved pages behind an nginx origin, requested
// in a Zipf mix with a share of opted-out visitors, directly and through
// nginx proxy_pass, the bare fasthttp proxy and consentgate, one after the
// other in one run.
func realTraffic(ctx context.Context, c *config, e *env, tmp string) error {
	w, ok := e.gen.(*wrk)
	if !ok || e.nginx == "" {
		return errors.New("-real needs nginx (the origin) and wrk (the Zipf mix is a wrk script): apt-get install -y nginx wrk")
	}
	dir := pagesDir(c.pages, e.root)
	pages, err := readRealPages(dir)
	if err != nil {
		return err
	}
	m, err := newMix(pages, c.zipf, c.optoutShare, c.seed)
	if err != nil {
		return err
	}
	res := &realResult{pages: pages, mix: m, cells: map[string]realCell{}, changed: map[string][2]int{}}
	script := filepath.Join(tmp, "realmix.lua")
	if err := os.WriteFile(script, []byte(m.luaScript()), 0o644); err != nil {
		return err
	}
	res.script = script

	targets, admin, err := startRealTargets(ctx, c, e, tmp, res)
	if err != nil {
		return err
	}
	logf("real traffic: checking %d pages through %d servers", len(pages), len(targets))
	if err := checkRealTargets(targets, res); err != nil {
		return err
	}
	if err := mkProfileDir(c); err != nil {
		return err
	}
	logf("real traffic: %d pages, Zipf s=%g, %.0f%% opted out; %v per run after %v warm-up", len(pages), c.zipf, 100*m.optout, c.duration, c.warmup)
	if err := loadReal(ctx, c, w, script, admin, targets, res); err != nil {
		return err
	}
	for _, t := range targets {
		t.proc.stop()
	}
	rep := machineReport(c, e) + realReport(res)
	fmt.Print(rep)
	if c.profile != "" {
		topProfiles(c.profile, filepath.Join(e.bin, "consentgate"))
	}
	if c.keep {
		fmt.Fprintln(os.Stderr, "bench: the wrk script is", script)
	}
	if c.out != "" {
		return os.WriteFile(c.out, []byte(rep), 0o644)
	}
	return nil
}

// startRealTargets writes res's pages into an nginx origin and starts it,
// nginx proxy_pass, the bare fasthttp proxy and consentgate in front of
// it, in that order. It returns the targets and consentgate's admin
// address.
func startRealTargets(ctx context.Context, c *config, e *env, tmp string, res *realResult) ([]target, string, error) {
	// The origin: the pages written into the temporary directory only.
	site := map[string][]byte{}
	for _, p := range res.pages {
		site["p/"+p.name+".html"] = p.html
		site["p/"+p.name+".html.gz"] = p.gz
		res.wireIn += int64(len(p.gz))
	}
	odir := filepath.Join(tmp, "nginx-real-origin")
	if err := writeSite(odir, site); err != nil {
		return nil, "", err
	}
	oaddr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	origin, err := startNginx(ctx, e.nginx, "nginx origin", odir, nginxRealOrigin, oaddr, "")
	if err != nil {
		return nil, "", err
	}
	e.originKind, e.originAddr = "nginx (the saved pages, gzip_static on)", oaddr
	targets := []target{{name: tDirect, addr: oaddr, proc: origin}}

	np, err := startNginxProxy(ctx, e, tmp, oaddr)
	if err != nil {
		return nil, "", err
	}
	targets = append(targets, np)
	bare, err := startBareProxy(ctx, e, tmp, oaddr)
	if err != nil {
		return nil, "", err
	}
	targets = append(targets, bare)

	cfg := filepath.Join(tmp, "real.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(realConfig, oaddr)), 0o644); err != nil {
		return nil, "", err
	}
	cg, admin, err := startConsentgate(ctx, e, tmp, "consentgate", "", c.profile != "", "--config", cfg)
	if err != nil {
		return nil, "", err
	}
	return append(targets, target{name: tCG, addr: cg.addr, proc: cg.proc}), admin, nil
}

// checkRealTargets runs checkReal on every target, recording in res the
// pages each changed and the bytes consentgate sent.
func checkRealTargets(targets []target, res *realResult) error {
	for _, t := range targets {
		changed, wire, err := checkReal(t, res.mix.host, res.pages)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		res.changed[t.name] = changed
		if t.name == tCG {
			res.wireOut = wire
		}
		res.targetNames = append(res.targetNames, t.name)
	}
	return nil
}

// loadReal warms up and measures every target under the mix in turn,
// profiling consentgate (at admin) with -profile, into res.cells.
func loadReal(ctx context.Context, c *config, w *wrk, script, admin string, targets []target, res *realResult) error {
	for _, t := range targets {
		url := "http://" + t.addr + "/"
		if c.warmup > 0 {
			if _, err := w.runScript(ctx, script, url, nil, c.warmup); err != nil {
				return fmt.Errorf("%s: warm-up: %w", t.name, err)
			}
		}
		prof := func() {}
		if c.profile != "" && t.name == tCG {
			prof = profile(ctx, admin, c.duration, filepath.Join(c.profile, "consentgate-real-traffic.pprof"))
		}
		r := measureReal(ctx, w, script, url, c.duration, t)
		prof()
		if err := ctx.Err(); err != nil {
			return err
		}
		res.cells[t.name] = r
		if r.err != nil {
			logf("real traffic %-22s error: %v", t.name, r.err)
		} else {
			logf("real traffic %-22s %9.0f req/s  p99 %6.2f ms  %6.1f µs CPU/req  RSS peak %.1f MiB  %d errors",
				t.name, r.rps(), r.p99/1000, r.cpuPerReq(), float64(r.peakRSS)/mib, r.errors)
		}
	}
	return nil
}

// measureReal runs the mix against t for d, counting the CPU of t's
// process tree and sampling its RSS.
func measureReal(ctx context.Context, w *wrk, script, url string, d time.Duration, t target) realCell {
	cpu0, err := treeCPU(t.proc.pid())
	if err != nil {
		return realCell{cell: cell{err: err}}
	}
	s := sampleTreeRSS(t.proc.pid(), 100*time.Millisecond)
	out, err := w.runScript(ctx, script, url, nil, d)
	peak := s.finish()
	if err != nil {
		return realCell{cell: cell{err: err}}
	}
	cpu1, err := treeCPU(t.proc.pid())
	if err != nil {
		return realCell{cell: cell{err: err}}
	}
	r, err := parseWrk(out)
	if err != nil {
		return realCell{cell: cell{err: err}}
	}
	sent, err := parseMix(out)
	if err != nil {
		return realCell{cell: cell{err: err}}
	}
	return realCell{cell: cell{loadResult: r, cpu: cpu1 - cpu0}, sent: sent, peakRSS: peak}
}

// checkReal requests every page from t once without a signal and once
// opted out, both taking gzip, and checks each answer: status 200, gzip
// that decodes to a page that ends as the origin's does. Only consentgate
// may change a page, and only for the opted-out visitor; it returns how
// many pages differ from the origin's (plain, opted out) and the gzip
// bytes of the opted-out answers.
func checkReal(t target, host string, pages []realPage) (changed [2]int, wire int64, err error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	for _, p := range pages {
		for i, optout := range []bool{false, true} {
			req.Reset()
			req.SetRequestURI("http://" + t.addr + p.path())
			req.Header.SetHost(host)
			req.Header.Set("Accept-Encoding", "gzip")
			if optout {
				req.Header.Set("Sec-GPC", "1")
			}
			if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
				return changed, 0, fmt.Errorf("%s: %w", p.path(), err)
			}
			if resp.StatusCode() != 200 {
				return changed, 0, fmt.Errorf("%s: status %d", p.path(), resp.StatusCode())
			}
			if !bytes.EqualFold(resp.Header.ContentEncoding(), []byte("gzip")) {
				return changed, 0, fmt.Errorf("%s: Content-Encoding %q, want gzip", p.path(), resp.Header.ContentEncoding())
			}
			if optout {
				wire += int64(len(resp.Body()))
			}
			body, err := resp.BodyGunzip()
			if err != nil {
				return changed, 0, fmt.Errorf("%s: gunzip: %w", p.path(), err)
			}
			if bytes.Equal(body, p.html) {
				continue
			}
			if t.name != tCG || !optout {
				return changed, 0, fmt.Errorf("%s: %d bytes differ from the origin's %d (opted out: %v)", p.path(), len(body), len(p.html), optout)
			}
			// The rewriter may remove a tracker just before the end;
			// the closing tag stays.
			if endsHTML(p.html) && !endsHTML(body) {
				return changed, 0, fmt.Errorf("%s: the opted-out page does not end in </html> as the origin's does (cut short?)", p.path())
			}
			changed[i]++
		}
	}
	return changed, wire, nil
}

// endsHTML reports whether page ends in </html>, case and trailing
// space aside.
func endsHTML(page []byte) bool {
	t := bytes.TrimSpace(page)
	return len(t) >= 7 && bytes.EqualFold(t[len(t)-7:], []byte("</html>"))
}

// treeRSSSampler records the largest summed VmRSS of a process tree.
type treeRSSSampler struct {
	peak int64
	stop chan struct{}
	done chan struct{}
}

func sampleTreeRSS(pid int, every time.Duration) *treeRSSSampler {
	s := &treeRSSSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if n, err := treeRSS(pid); err == nil && n > s.peak {
				s.peak = n
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// finish stops sampling and returns the peak.
func (s *treeRSSSampler) finish() int64 {
	close(s.stop)
	<-s.done
	return s.peak
}

// realReport renders -real as markdown.
func realReport(r *realResult) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Real traffic\n\n")
	sizes := make([]int, len(r.pages))
	for i, pg := range r.pages {
		sizes[i] = len(pg.html)
	}
	slices.Sort(sizes)
	top, mean := r.mix.popular(r.pages)
	p("%d saved news pages (%d–%d KB decoded, median %d KB; %.1f MB stored gzip), served by nginx with gzip_static; "+
		"requested with a Zipf popularity (exponent %g; the most popular page, %s of %d KB, %.1f%% of requests; "+
		"ranks by a shuffle with seed %d; %d KB decoded per request on average), "+
		"%.0f%% of requests with Sec-GPC: 1, all with Accept-Encoding: gzip (wrk script generated at run time). "+
		"CPU is user+system time of the server's process tree over the measured run (the origin's for the direct row); "+
		"RSS peak is the largest sum of VmRSS over the tree, sampled every 100 ms.\n\n",
		len(r.pages), sizes[0]>>10, sizes[len(sizes)-1]>>10, sizes[len(sizes)/2]>>10, float64(r.wireIn)/1e6,
		r.mix.s, top.name, len(top.html)>>10, 100*r.mix.cdf[0], r.mix.seed, int(mean)>>10, 100*r.mix.optout)
	p("| server | req/s | p50 ms | p99 ms | p99.9 ms | CPU µs / req | CPU vs nginx | RSS peak MiB | opted out | errors |\n")
	p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	ng := r.cells[tNginx]
	for _, name := range r.targetNames {
		c := r.cells[name]
		if c.err != nil {
			p("| %s | error: %s | | | | | | | | |\n", name, strings.ReplaceAll(c.err.Error(), "\n", " "))
			continue
		}
		vs := "—"
		if ng.err == nil && ng.cpuPerReq() > 0 {
			vs = fmt.Sprintf("%.2f×", c.cpuPerReq()/ng.cpuPerReq())
		}
		share := 0.0
		if c.sent.sent > 0 {
			share = 100 * float64(c.sent.optout) / float64(c.sent.sent)
		}
		p("| %s | %.0f | %.2f | %.2f | %.2f | %.1f | %s | %.1f | %.1f%% | %d |\n", name, c.rps(), c.p50/1000, c.p99/1000, c.p999/1000,
			c.cpuPerReq(), vs, float64(c.peakRSS)/mib, share, c.errors)
	}
	ch := r.changed[tCG]
	p("\nChecked before the load, every page once plain and once opted out through each server: the proxies other than "+
		"consentgate returned the origin's bytes; consentgate changed %d of %d pages for the opted-out visitor (%d plain), "+
		"and sent the %d opted-out pages as %.1f MB of gzip (the origin's files: %.1f MB).\n",
		ch[1], len(r.pages), ch[0], len(r.pages), float64(r.wireOut)/1e6, float64(r.wireIn)/1e6)
	cg := r.cells[tCG]
	if cg.err == nil && ng.err == nil && ng.cpuPerReq() > 0 && cg.requests > 0 {
		verdict := "**missed**"
		if cg.cpuPerReq() <= ng.cpuPerReq() {
			verdict = "met"
		}
		p("\n| target | measured | verdict |\n| --- | --- | --- |\n")
		p("| real-traffic mix: consentgate's CPU per request ≤ nginx proxy_pass's | %.1f vs %.1f µs/req (%.2f×); %.0f vs %.0f req/s | %s |\n",
			cg.cpuPerReq(), ng.cpuPerReq(), cg.cpuPerReq()/ng.cpuPerReq(), cg.rps(), ng.rps(), verdict)
	}
	return b.String()
}
