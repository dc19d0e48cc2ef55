// Command bench is the load harness of consentgate. On loopback it starts an
// origin (nginx when installed, else a fasthttp server), nginx as a plain
// proxy_pass peer, a bare fasthttp HostClient proxy and consentgate, drives
// each with a load generator (wrk when installed, else fasthttp's client) and
// prints req/s, latency percentiles and the proxy process's CPU per request,
// then measures consentgate's memory streaming a huge page and holding many
// idle connections. With -real it runs a mix of real saved pages instead:
// a Zipf popularity, a share of opted-out visitors. See README.md.
//
//	go run ./bench          # the full run, a few minutes
//	go run ./bench -quick   # under a minute
//	go run ./bench -real    # the real-traffic mix, about a minute
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/consentgate/consentgate/bench/internal/page"
)

type config struct {
	quick            bool
	duration, warmup time.Duration
	conns, threads   int
	loadgen          string // auto, wrk, go
	origin           string // auto, nginx, go
	nginxBin, wrkBin string
	profile          string
	cgSrc            string
	only             string
	out              string
	streamMB         int
	idle             int
	memory           bool
	keep             bool
	registry         bool
	receipts         bool
	noCache          bool
	rounds           int
	real             bool
	pages            string
	zipf             float64
	optoutShare      float64
	seed             uint64
	args             []string
}

func main() { os.Exit(run()) }

func run() int {
	var c config
	flag.BoolVar(&c.quick, "quick", false, "short runs (1 s per cell): the whole harness in under a minute")
	flag.DurationVar(&c.duration, "d", 10*time.Second, "measured duration of each load run")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each load run")
	flag.IntVar(&c.conns, "c", 50, "keep-alive connections of the load generator")
	flag.IntVar(&c.threads, "t", 2, "wrk threads")
	flag.StringVar(&c.loadgen, "loadgen", "auto", "load generator: auto (wrk when installed), wrk or go")
	flag.StringVar(&c.origin, "origin", "auto", "origin server: auto (nginx when installed), nginx or go")
	flag.StringVar(&c.nginxBin, "nginx", "", "nginx binary (default: nginx on PATH or /usr/sbin/nginx)")
	flag.StringVar(&c.wrkBin, "wrk", "", "wrk binary (default: wrk on PATH)")
	flag.StringVar(&c.profile, "profile", "", "write consentgate CPU profiles (and pprof -top) of each measured run into this directory")
	flag.StringVar(&c.cgSrc, "consentgate-src", "", "build consentgate from this checkout instead (A/B a patched tree against the same harness)")
	flag.StringVar(&c.only, "only", "", "run only the workloads whose name contains this (e.g. gzip); the memory tests run unless -memory=false")
	flag.StringVar(&c.out, "o", "", "also write the report (markdown) to this file")
	flag.IntVar(&c.streamMB, "stream-mb", 200, "size in MB of the HTML page streamed through the rewriter for the memory test")
	flag.IntVar(&c.idle, "idle", 10000, "idle keep-alive connections for the memory test")
	flag.BoolVar(&c.memory, "memory", true, "run the memory tests")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory (configs, logs)")
	flag.BoolVar(&c.registry, "registry", false, "also run consentgate with the shared opt-out registry (a redis-server on loopback, every request carrying an account cookie) and compare it with consentgate without")
	flag.IntVar(&c.rounds, "rounds", 1, "measure each workload's targets this many times, in turn forwards and backwards (A B C, C B A, …), and report each target's median-req/s round: the order a target is loaded in no longer favours it")
	flag.BoolVar(&c.noCache, "nocache", false, "also load a consentgate with --response-cache 0: every opted-out page decoded, rewritten and encoded (cold), beside the default one whose cache answers the same page again (warm)")
	flag.BoolVar(&c.receipts, "receipts", false, "also load a second consentgate running with --receipts (a receipt per opted-out response) and report what receipts cost")
	flag.BoolVar(&c.real, "real", false, "run the real-traffic mix instead of the synthetic workloads and the memory tests: the saved pages behind an nginx origin, a Zipf popularity, a share of opted-out visitors (needs nginx and wrk)")
	flag.StringVar(&c.pages, "pages", "", "with -real: directory of the saved *.html.gz pages (default $CONSENTGATE_PAGES, else ../shared/data/pages beside the module)")
	flag.Float64Var(&c.zipf, "zipf", 1.0, "with -real: exponent s of the Zipf popularity (the page of rank k is requested in proportion to k^-s)")
	flag.Float64Var(&c.optoutShare, "optout-share", 0.3, "with -real: share of requests that carry Sec-GPC: 1")
	flag.Uint64Var(&c.seed, "seed", 17, "with -real: seed of the pages' popularity ranks and of the wrk threads' draws")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "bench takes no arguments")
		flag.Usage()
		return 2
	}
	c.args = os.Args[1:]
	if c.quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["d"] {
			c.duration = time.Second
		}
		if !set["warmup"] {
			c.warmup = 300 * time.Millisecond
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "consentgate-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	// nginx's workers run unprivileged when started as root: let them read
	// the site and write their temp files.
	os.Chmod(tmp, 0o755) //nolint:errcheck
	if c.keep {
		fmt.Fprintln(os.Stderr, "bench: keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	defer stopAll()
	if err := bench(ctx, &c, tmp); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "bench: interrupted")
			return 130
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

// workload is one kind of request the table has a row group for.
type workload struct {
	name   string
	path   string
	hdrs   []string
	optout bool
}

const (
	wPass1K  = "pass-through 1 KB"
	wPass150 = "pass-through 150 KB HTML"
	wHTML    = "opted-out 150 KB HTML (rewritten)"
	wAsset   = "opted-out 2 MB asset"
	wGzip    = "opted-out gzip HTML (decode, rewrite, re-encode)"
)

var workloads = []workload{
	{name: wPass1K, path: "/1k.html"},
	{name: wPass150, path: "/page.html"},
	{name: wHTML, path: "/page.html", hdrs: []string{"Sec-GPC: 1"}, optout: true},
	{name: wAsset, path: "/asset.bin", hdrs: []string{"Sec-GPC: 1"}, optout: true},
	{name: wGzip, path: "/gz/page.html", hdrs: []string{"Sec-GPC: 1", "Accept-Encoding: gzip"}, optout: true},
}

// target is one server the load generator drives.
type target struct {
	name string
	addr string
	proc *proc // whose CPU is counted (with its descendants)
	// registry: opted-out workloads are opted out by the registry (the
	// account cookie of an account on record) instead of Sec-GPC.
	registry bool
}

const (
	tDirect = "direct (origin)"
	tNginx  = "nginx proxy_pass"
	tBare   = "bare fasthttp proxy"
	tCG     = "consentgate"
	tCGReg  = "consentgate + registry"
	tCGR    = "consentgate --receipts"
	tCGCold = "consentgate, no response cache"
)

// Account cookies of -registry runs: a visitor without an opt-out on
// record, and one with.
const (
	benchVisitor  = "Cookie: uid=bench-visitor-3f0c2a9e"
	benchOptedOut = "Cookie: uid=bench-opted-out-7d414b8e"
)

// headers are the request headers of w against t. With -registry every
// request carries an account cookie, so consentgate with the registry
// looks the account up on each (from its cache once warm); the registry
// target's opted-out workloads are opted out by the registry alone.
func (c *config) headers(t target, w workload) []string {
	if !c.registry {
		return w.hdrs
	}
	var out []string
	optedOut := false
	for _, h := range w.hdrs {
		if h == "Sec-GPC: 1" && t.registry {
			optedOut = true
			continue
		}
		out = append(out, h)
	}
	if optedOut {
		return append(out, benchOptedOut)
	}
	return append(out, benchVisitor)
}

// cell is the measurement of one target under one workload.
type cell struct {
	loadResult
	cpu float64 // CPU seconds of the target's process tree during the run
	err error
}

func (c cell) cpuPerReq() float64 { // µs
	if c.requests == 0 {
		return 0
	}
	return c.cpu / float64(c.requests) * 1e6
}

// env is what the harness found on the machine.
type env struct {
	root, bin   string
	nginx, wrk  string
	gen         loadGen
	originKind  string
	originAddr  string
	goOrigin    string // the Go origin, always running (it generates the streamed page)
	noFile      uint64
	loadBefore  string
	sizes       map[string]int // bytes the client received, per workload (consentgate)
	startedWall time.Time
}

func bench(ctx context.Context, c *config, tmp string) error {
	e, err := newEnv(ctx, c, tmp)
	if err != nil {
		return err
	}
	if c.real {
		return realTraffic(ctx, c, e, tmp)
	}
	if c.only != "" {
		if workloads, err = filterWorkloads(workloads, c.only); err != nil {
			return err
		}
	}
	originProc, err := startOrigins(ctx, c, e, tmp)
	if err != nil {
		return err
	}
	targets, cgAdmin, err := startTargets(ctx, c, e, tmp, originProc)
	if err != nil {
		return err
	}
	if err := checkTargets(c, e, targets); err != nil {
		return err
	}
	logf("load generator: %s; origin: %s; %v per run after %v warm-up", e.gen.name(), e.originKind, c.duration, c.warmup)
	results, err := loadTargets(ctx, c, e, targets, cgAdmin)
	if err != nil {
		return err
	}
	for _, t := range targets[1:] {
		t.proc.stop()
	}

	var stream *streamResult
	var idle *idleResult
	var memErrs []string
	if c.memory {
		stream, idle, memErrs = memoryTests(ctx, c, e, tmp)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return writeReport(c, e, report(c, e, targets, results, stream, idle, memErrs))
}

// newEnv finds the tools and the load generator, raises the open-file
// limit (cutting -idle to fit it) and builds consentgate and the harness
// servers into tmp/bin.
func newEnv(ctx context.Context, c *config, tmp string) (*env, error) {
	e := &env{startedWall: time.Now(), loadBefore: loadAvg(), sizes: map[string]int{}}
	var err error
	if e.root, err = moduleRoot(); err != nil {
		return nil, err
	}
	if e.nginx, err = findTool(c.nginxBin, "nginx", "/usr/sbin/nginx"); err != nil && c.origin == "nginx" {
		return nil, err
	}
	if e.wrk, err = findTool(c.wrkBin, "wrk", "/usr/bin/wrk"); err != nil && c.loadgen == "wrk" {
		return nil, err
	}
	switch {
	case c.loadgen == "go" || (c.loadgen == "auto" && e.wrk == ""):
		e.gen = goLoad{conns: c.conns}
	case c.loadgen == "wrk" || c.loadgen == "auto":
		if e.gen, err = newWrk(e.wrk, tmp, c.threads, c.conns); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("-loadgen %q: want auto, wrk or go", c.loadgen)
	}
	if e.noFile, err = raiseNoFile(); err != nil {
		return nil, fmt.Errorf("raise the open-file limit: %w", err)
	}
	if need := uint64(c.idle + 512); c.memory && e.noFile < need {
		fmt.Fprintf(os.Stderr, "bench: open-file limit %d; idle connections cut from %d to %d\n", e.noFile, c.idle, e.noFile-512)
		c.idle = int(e.noFile - 512)
	}

	e.bin = filepath.Join(tmp, "bin")
	logf("building consentgate and the harness servers")
	pkgs := []string{"./bench/internal/upstream", "./bench/internal/bareproxy"}
	if c.cgSrc == "" {
		pkgs = append(pkgs, "./cmd/consentgate")
	}
	if err := goBuild(ctx, e.root, e.bin, pkgs...); err != nil {
		return nil, err
	}
	if c.cgSrc != "" {
		if err := goBuild(ctx, c.cgSrc, e.bin, "./cmd/consentgate"); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// filterWorkloads keeps the workloads whose name contains only.
func filterWorkloads(ws []workload, only string) ([]workload, error) {
	var keep []workload
	for _, w := range ws {
		if strings.Contains(w.name, only) {
			keep = append(keep, w)
		}
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("-only %q matches no workload", only)
	}
	return keep, nil
}

// startOrigins starts the Go origin (always: it generates the streamed
// page) and, unless -origin go or nginx is missing, an nginx origin
// serving the synthetic site. It sets e's origin and returns the process
// whose CPU the direct row counts.
func startOrigins(ctx context.Context, c *config, e *env, tmp string) (*proc, error) {
	var err error
	if e.goOrigin, err = freeAddr(); err != nil {
		return nil, err
	}
	goUp, err := start("origin", filepath.Join(tmp, "origin.log"), filepath.Join(e.bin, "upstream"), "-listen", e.goOrigin)
	if err != nil {
		return nil, err
	}
	if err := goUp.waitListen(ctx, e.goOrigin, 20*time.Second); err != nil {
		return nil, err
	}
	e.originKind, e.originAddr = "fasthttp (bench/internal/upstream)", e.goOrigin
	if e.nginx == "" || c.origin == "go" {
		return goUp, nil
	}
	dir := filepath.Join(tmp, "nginx-origin")
	mkt := page.Marketing(150 << 10)
	if err := writeSite(dir, map[string][]byte{
		"1k.html": page.Small(1024), "page.html": mkt, "asset.bin": page.Asset(2 << 20),
		"gz/page.html": mkt, "gz/page.html.gz": page.Gzip(mkt),
	}); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := startNginx(ctx, e.nginx, "nginx origin", dir, nginxOrigin, addr, "")
	if err != nil {
		return nil, err
	}
	e.originKind, e.originAddr = "nginx (static files, gzip_static)", addr
	return p, nil
}

// startTargets starts the proxies in front of e's origin: nginx
// proxy_pass (when installed), the bare fasthttp proxy, consentgate and,
// with -registry and -receipts, consentgate's variants. The first target
// is the origin itself. It returns the admin addresses of the consentgates
// a profile may be taken of, by target name.
func startTargets(ctx context.Context, c *config, e *env, tmp string, originProc *proc) ([]target, map[string]string, error) {
	targets := []target{{name: tDirect, addr: e.originAddr, proc: originProc}}
	if e.nginx != "" {
		t, err := startNginxProxy(ctx, e, tmp, e.originAddr)
		if err != nil {
			return nil, nil, err
		}
		targets = append(targets, t)
	}
	bare, err := startBareProxy(ctx, e, tmp, e.originAddr)
	if err != nil {
		return nil, nil, err
	}
	targets = append(targets, bare)
	cg, admin, err := startConsentgate(ctx, e, tmp, "consentgate", e.originAddr, c.profile != "")
	if err != nil {
		return nil, nil, err
	}
	cgAdmin := map[string]string{tCG: admin}
	targets = append(targets, target{name: tCG, addr: cg.addr, proc: cg.proc})
	if c.registry {
		t, admin, err := startRegistryTarget(ctx, e, tmp, c.profile != "")
		if err != nil {
			return nil, nil, err
		}
		targets = append(targets, t)
		cgAdmin[tCGReg] = admin
	}
	if c.receipts {
		// The same binary and flags, plus receipts on the temporary
		// directory's file system.
		cgr, _, err := startConsentgate(ctx, e, tmp, "consentgate-receipts", e.originAddr, false, "--receipts", filepath.Join(tmp, "receipts"))
		if err != nil {
			return nil, nil, err
		}
		targets = append(targets, target{name: tCGR, addr: cgr.addr, proc: cgr.proc})
	}
	if c.noCache {
		cold, _, err := startConsentgate(ctx, e, tmp, "consentgate-nocache", e.originAddr, false, "--response-cache", "0")
		if err != nil {
			return nil, nil, err
		}
		targets = append(targets, target{name: tCGCold, addr: cold.addr, proc: cold.proc})
	}
	return targets, cgAdmin, nil
}

// startNginxProxy starts nginx as a plain proxy_pass peer of upstream.
func startNginxProxy(ctx context.Context, e *env, tmp, upstream string) (target, error) {
	addr, err := freeAddr()
	if err != nil {
		return target{}, err
	}
	p, err := startNginx(ctx, e.nginx, "nginx proxy", filepath.Join(tmp, "nginx-proxy"), nginxProxy, addr, upstream)
	if err != nil {
		return target{}, err
	}
	return target{name: tNginx, addr: addr, proc: p}, nil
}

// startBareProxy starts the bare fasthttp HostClient proxy of upstream and
// waits until it listens.
func startBareProxy(ctx context.Context, e *env, tmp, upstream string) (target, error) {
	addr, err := freeAddr()
	if err != nil {
		return target{}, err
	}
	bare, err := start("bareproxy", filepath.Join(tmp, "bareproxy.log"), filepath.Join(e.bin, "bareproxy"), "-listen", addr, "-upstream", upstream)
	if err != nil {
		return target{}, err
	}
	if err := bare.waitListen(ctx, addr, 20*time.Second); err != nil {
		return target{}, err
	}
	return target{name: tBare, addr: addr, proc: bare}, nil
}

// checkTargets requests every workload from every target once, checking
// the answer, and records the bytes consentgate sent per workload.
func checkTargets(c *config, e *env, targets []target) error {
	for _, t := range targets {
		for _, w := range workloads {
			n, err := check(t, w, c.headers(t, w))
			if err != nil {
				return fmt.Errorf("%s, %s: %w", t.name, w.name, err)
			}
			if t.name == tCG {
				e.sizes[w.name] = n
			}
		}
	}
	return nil
}

// loadTargets measures every target under every workload, one after the
// other, profiling the consentgates with -profile. It returns the cells by
// workload, then target name.
func loadTargets(ctx context.Context, c *config, e *env, targets []target, cgAdmin map[string]string) (map[string]map[string]cell, error) {
	if err := mkProfileDir(c); err != nil {
		return nil, err
	}
	results := map[string]map[string]cell{}
	for _, w := range workloads {
		results[w.name] = map[string]cell{}
		rounds := map[string][]cell{}
		for r := range max(c.rounds, 1) {
			order := slices.Clone(targets)
			if r%2 == 1 {
				slices.Reverse(order)
			}
			for _, t := range order {
				prof := func() {}
				if r == 0 && c.profile != "" && (t.name == tCG || t.name == tCGReg) {
					prof = profile(ctx, cgAdmin[t.name], c.duration, filepath.Join(c.profile, slug(t.name)+"-"+slug(w.name)+".pprof"))
				}
				m := measure(ctx, e.gen, c, t, w)
				prof()
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				rounds[t.name] = append(rounds[t.name], m)
				if m.err != nil {
					logf("%-50s %-22s error: %v", w.name, t.name, m.err)
				} else {
					logf("%-50s %-22s %9.0f req/s  p99 %6.2f ms  %6.1f µs CPU/req  %d errors", w.name, t.name, m.rps(), m.p99/1000, m.cpuPerReq(), m.errors)
				}
			}
		}
		for name, cs := range rounds {
			results[w.name][name] = medianCell(cs)
		}
	}
	return results, nil
}

// mkProfileDir makes the -profile directory, if any.
func mkProfileDir(c *config) error {
	if c.profile == "" {
		return nil
	}
	return os.MkdirAll(c.profile, 0o755)
}

// profile starts a CPU profile of the consentgate at admin for d, written
// to path, and returns the function that waits for it; a failed profile is
// reported and the run goes on.
func profile(ctx context.Context, admin string, d time.Duration, path string) func() {
	wait := profileDuring(ctx, admin, d, path)
	return func() {
		if err := wait(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: profile:", err)
		}
	}
}

// writeReport prints rep, summarises the profiles of -profile and writes
// rep to -o.
func writeReport(c *config, e *env, rep string) error {
	fmt.Print(rep)
	if c.profile != "" {
		topProfiles(c.profile, filepath.Join(e.bin, "consentgate"))
	}
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(rep), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// goBuild builds pkgs of the module in dir into bin.
func goBuild(ctx context.Context, dir, bin string, pkgs ...string) error {
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", bin + string(filepath.Separator)}, pkgs...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %v\n%s", dir, err, out)
	}
	return nil
}

type cgProc struct {
	proc *proc
	addr string
}

func startConsentgate(ctx context.Context, e *env, tmp, name, upstream string, pprof bool, extra ...string) (cgProc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return cgProc{}, "", err
	}
	admin, err := freeAddr()
	if err != nil {
		return cgProc{}, "", err
	}
	args := []string{"serve", "--listen", addr, "--admin", admin, "--log-level", "warn"}
	if upstream != "" { // else the config passed in extra names it
		args = append(args, "--upstream", "http://"+upstream)
	}
	if pprof {
		args = append(args, "--pprof")
	}
	args = append(args, extra...)
	p, err := start(name, filepath.Join(tmp, name+".log"), filepath.Join(e.bin, "consentgate"), args...)
	if err != nil {
		return cgProc{}, "", err
	}
	if err := p.waitListen(ctx, addr, 20*time.Second); err != nil {
		return cgProc{}, "", err
	}
	return cgProc{proc: p, addr: addr}, admin, nil
}

// measure warms the target up, then runs the load generator for the
// duration and counts the CPU the target used meanwhile.
func measure(ctx context.Context, gen loadGen, c *config, t target, w workload) cell {
	url := "http://" + t.addr + w.path
	hdrs := c.headers(t, w)
	if c.warmup > 0 {
		goLoad{conns: c.conns}.run(ctx, url, hdrs, c.warmup) //nolint:errcheck // warm-up only
	}
	cpu0, err := treeCPU(t.proc.pid())
	if err != nil {
		return cell{err: err}
	}
	r, err := gen.run(ctx, url, hdrs, c.duration)
	if err != nil {
		return cell{err: err}
	}
	cpu1, err := treeCPU(t.proc.pid())
	if err != nil {
		return cell{err: err}
	}
	return cell{loadResult: r, cpu: cpu1 - cpu0}
}

// memoryTests runs each memory test on a fresh consentgate in front of the
// Go origin, which generates the streamed page.
func memoryTests(ctx context.Context, c *config, e *env, tmp string) (*streamResult, *idleResult, []string) {
	var errs []string
	var stream *streamResult
	var idle *idleResult
	if cg, _, err := startConsentgate(ctx, e, tmp, "consentgate-stream", e.goOrigin, false); err != nil {
		errs = append(errs, "stream: "+err.Error())
	} else {
		logf("memory: streaming a %d MB opted-out HTML page through consentgate", c.streamMB)
		r, err := streamPage(ctx, cg.addr, cg.proc.pid(), int64(c.streamMB)*1e6, 5*time.Minute)
		if err != nil {
			errs = append(errs, "stream: "+err.Error())
		}
		stream = &r
		cg.proc.stop()
	}
	if ctx.Err() != nil {
		return stream, idle, errs
	}
	if cg, _, err := startConsentgate(ctx, e, tmp, "consentgate-idle", e.goOrigin, false); err != nil {
		errs = append(errs, "idle: "+err.Error())
	} else {
		logf("memory: %d idle keep-alive connections to consentgate", c.idle)
		// One request first, so the base RSS includes a warm upstream pool.
		if conn, err := oneRequest(cg.addr, "/1k.html"); err == nil {
			conn.Close()
		}
		r, err := idleConns(ctx, cg.addr, cg.proc.pid(), c.idle, "/1k.html")
		if err != nil {
			errs = append(errs, "idle: "+err.Error())
		}
		idle = &r
		cg.proc.stop()
	}
	return stream, idle, errs
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// moduleRoot finds the directory of consentgate's go.mod from the working
// directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/consentgate/consentgate\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run the harness inside the consentgate module (go run ./bench)")
		}
		dir = parent
	}
}

// findTool returns the flag's binary, else name on PATH, else fallback.
func findTool(flagVal, name, fallback string) (string, error) {
	if flagVal != "" {
		return exec.LookPath(flagVal)
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if _, err := os.Stat(fallback); err == nil {
		return fallback, nil
	}
	return "", fmt.Errorf("%s is not installed", name)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func goVersion() string {
	out, err := exec.Command("go", "version").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// startRegistryTarget starts a redis-server without persistence and a
// consentgate using it, with the account cookie uid, and records the
// opt-out of the bench's opted-out account through the opt-out endpoint,
// as a visitor would.
func startRegistryTarget(ctx context.Context, e *env, tmp string, pprof bool) (target, string, error) {
	bin, err := findTool("", "redis-server", "/usr/bin/redis-server")
	if err != nil {
		return target{}, "", fmt.Errorf("-registry: %w (apt-get install -y redis-server)", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return target{}, "", err
	}
	_, port, _ := strings.Cut(addr, ":")
	dir := filepath.Join(tmp, "redis")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return target{}, "", err
	}
	rp, err := start("redis-server", filepath.Join(tmp, "redis.log"), bin, "--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	if err != nil {
		return target{}, "", err
	}
	if err := rp.waitListen(ctx, addr, 20*time.Second); err != nil {
		return target{}, "", err
	}
	os.Setenv("CONSENTGATE_ACCOUNT_SECRET", "bench-account-secret-0123456789") //nolint:errcheck
	cg, admin, err := startConsentgate(ctx, e, tmp, "consentgate-registry", e.originAddr, pprof,
		"--registry", "redis://"+addr, "--account-cookie", "uid")
	if err != nil {
		return target{}, "", err
	}
	t := target{name: tCGReg, addr: cg.addr, proc: cg.proc, registry: true}
	if _, err := check(t, workload{name: "opt-out", path: "/.consentgate/optout"}, []string{benchOptedOut}); err != nil && !strings.Contains(err.Error(), "status 303") {
		return target{}, "", fmt.Errorf("recording the bench account's opt-out: %w", err)
	}
	return t, admin, nil
}

// medianCell is the round of a target whose req/s is the median (the
// lower middle one of an even count); a failed round is reported first.
func medianCell(cs []cell) cell {
	for _, c := range cs {
		if c.err != nil {
			return c
		}
	}
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(a, b cell) int { return cmp.Compare(a.rps(), b.rps()) })
	return sorted[(len(sorted)-1)/2]
}
