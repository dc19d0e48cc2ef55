package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/proxy/canary"
	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/proxy/registry"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/rules/reload"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"golang.org/x/sync/errgroup"
)

// serveFlags are the settings of serve and demo. Each comes from, in order
// of precedence: the flag, the environment variable, the config file, the
// default.
type serveFlags struct {
	listen, admin, upstream, config string
	upstreamTimeout, upstreamIdle   time.Duration
	writeIdle                       time.Duration
	shutdownDelay, shutdownTimeout  time.Duration
	logFormat, logLevel             string
	pprof, trustForwarded           bool
	configURL, trustedProxies       string
	watch                           time.Duration
	accessLogEvery                  uint64
	registry                        string
	registryBudget                  time.Duration
	accountCookie, accountHeader    string
	accountSecretFile               string
	receipts                        string
	receiptsMaxSize                 string
	responseCache                   string
	receiptsFlush                   time.Duration
	// explicit are the flags set by command line or environment; fromEnv
	// those set by the environment.
	explicit, fromEnv map[string]bool
	// builtinConfig is the config used when neither --config nor
	// --config-url is given (the demo's); nil: the defaults.
	builtinConfig []byte
}

// envNames maps flags to the environment variables that may set them.
var envNames = map[string]string{
	"listen":                "CONSENTGATE_LISTEN",
	"admin":                 "CONSENTGATE_ADMIN",
	"upstream":              "CONSENTGATE_UPSTREAM",
	"config":                "CONSENTGATE_CONFIG",
	"config-url":            "CONSENTGATE_CONFIG_URL",
	"watch":                 "CONSENTGATE_WATCH",
	"upstream-timeout":      "CONSENTGATE_UPSTREAM_TIMEOUT",
	"upstream-idle-timeout": "CONSENTGATE_UPSTREAM_IDLE_TIMEOUT",
	"write-idle-timeout":    "CONSENTGATE_WRITE_IDLE_TIMEOUT",
	"log-format":            "CONSENTGATE_LOG_FORMAT",
	"log-level":             "CONSENTGATE_LOG_LEVEL",
	"trusted-proxies":       "CONSENTGATE_TRUSTED_PROXIES",
	"registry":              "CONSENTGATE_REGISTRY",
	"registry-budget":       "CONSENTGATE_REGISTRY_BUDGET",
	"account-cookie":        "CONSENTGATE_ACCOUNT_COOKIE",
	"account-header":        "CONSENTGATE_ACCOUNT_HEADER",
	"account-secret-file":   "CONSENTGATE_ACCOUNT_SECRET_FILE",
	"receipts":              "CONSENTGATE_RECEIPTS",
}

// accountSecretEnv holds the account secret itself (there is no flag for
// it: a flag's value shows in the process list).
const accountSecretEnv = "CONSENTGATE_ACCOUNT_SECRET"

func (f *serveFlags) register(fs *flag.FlagSet, defListen, defAdmin string) {
	fs.StringVar(&f.listen, "listen", defListen, "public address to listen on (env CONSENTGATE_LISTEN, config listen)")
	fs.StringVar(&f.admin, "admin", defAdmin, "admin address for /metrics, /healthz, /readyz, /rules; keep it private (env CONSENTGATE_ADMIN, config admin)")
	fs.StringVar(&f.upstream, "upstream", "", "URL of the site behind the proxy, for every site without its own (env CONSENTGATE_UPSTREAM, config upstream)")
	fs.StringVar(&f.config, "config", "", "config file; reloaded on SIGHUP (env CONSENTGATE_CONFIG)")
	fs.StringVar(&f.configURL, "config-url", "", "fetch the config from this URL and poll it with If-None-Match every --watch (env CONSENTGATE_CONFIG_URL)")
	fs.DurationVar(&f.watch, "watch", 0, "poll the config file (or URL) for changes this often, e.g. 10s; 0 reloads only on SIGHUP (URL default 30s)")
	fs.DurationVar(&f.upstreamTimeout, "upstream-timeout", 0, "wait at most this long for the upstream's response headers, then answer 504 (default 30s; env CONSENTGATE_UPSTREAM_TIMEOUT, config upstream_timeout)")
	fs.DurationVar(&f.upstreamIdle, "upstream-idle-timeout", 0, "once the headers are in, wait at most this long for each further part of the body, then cut it visibly; a body that keeps coming is never cut (default 30s; env CONSENTGATE_UPSTREAM_IDLE_TIMEOUT)")
	fs.DurationVar(&f.writeIdle, "write-idle-timeout", 0, "wait at most this long for a visitor to take each further 64 KiB of a response, then close the connection; a visitor that keeps reading is never cut (default 30s; env CONSENTGATE_WRITE_IDLE_TIMEOUT)")
	fs.DurationVar(&f.shutdownDelay, "shutdown-delay", 0, "on SIGTERM, fail /readyz for this long before closing listeners, so load balancers stop sending traffic")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 15*time.Second, "on SIGTERM, wait at most this long for in-flight requests")
	fs.StringVar(&f.logFormat, "log-format", "json", "log format: json or text (env CONSENTGATE_LOG_FORMAT)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error (env CONSENTGATE_LOG_LEVEL)")
	fs.Uint64Var(&f.accessLogEvery, "access-log-every", 0, "log one request in N (0: no access log); lines never carry cookie values, consent strings or client addresses")
	fs.BoolVar(&f.pprof, "pprof", false, "serve /debug/pprof/ on the admin address")
	fs.StringVar(&f.trustedProxies, "trusted-proxies", "", "addresses and CIDR prefixes of load balancers whose X-Forwarded-* are kept and whose X-Forwarded-For gives the visitor's address for GeoIP, e.g. 10.0.0.0/8,fd00::/8 (env CONSENTGATE_TRUSTED_PROXIES)")
	fs.StringVar(&f.registry, "registry", "", "shared opt-out registry, redis://[USER:PASSWORD@]HOST:PORT[/DB] or rediss:// (TLS): an account's opt-out applies on all its devices (env CONSENTGATE_REGISTRY, config registry.url)")
	fs.DurationVar(&f.registryBudget, "registry-budget", 0, "the longest a request waits for the registry (default 3ms; env CONSENTGATE_REGISTRY_BUDGET, config registry.budget)")
	fs.StringVar(&f.accountCookie, "account-cookie", "", "first-party cookie carrying a stable account id, for every site without its own account key (env CONSENTGATE_ACCOUNT_COOKIE, config account.cookie)")
	fs.StringVar(&f.accountHeader, "account-header", "", "request header carrying the account id, set by a trusted proxy (env CONSENTGATE_ACCOUNT_HEADER, config account.header)")
	fs.StringVar(&f.accountSecretFile, "account-secret-file", "", "file holding the secret the account id is hashed with (HMAC-SHA256); or the secret itself in env CONSENTGATE_ACCOUNT_SECRET (env CONSENTGATE_ACCOUNT_SECRET_FILE, config account.secret_file)")
	fs.StringVar(&f.receipts, "receipts", "", "write a compliance receipt of every enforced response to this directory (env CONSENTGATE_RECEIPTS, config receipts.dir); see docs/compliance.md")
	fs.StringVar(&f.responseCache, "response-cache", "64MiB", "memory for rewritten pages served again to opted-out visitors, e.g. 64MiB; 0 turns the cache off (config response_cache)")
	fs.StringVar(&f.receiptsMaxSize, "receipts-max-size", "", "start a new receipts file past this size, e.g. 64MiB (default; config receipts.max_file_size)")
	fs.DurationVar(&f.receiptsFlush, "receipts-flush", 0, "write and fsync receipts this often; a crash loses at most this much (default 1s; config receipts.flush_interval)")
	fs.BoolVar(&f.trustForwarded, "trust-forwarded", false, "trust every peer's X-Forwarded-* (only when nothing but a trusted load balancer reaches --listen; prefer --trusted-proxies)")
}

// applyEnv sets every flag not given on the command line from its
// environment variable, and records which flags are now set and which of
// them came from the environment.
func (f *serveFlags) applyEnv(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	f.fromEnv = map[string]bool{}
	for name, env := range envNames {
		if set[name] || fs.Lookup(name) == nil {
			continue
		}
		if v, ok := os.LookupEnv(env); ok && v != "" {
			if err := fs.Set(name, v); err != nil {
				return &usageError{fmt.Sprintf("%s=%q: %v", env, v, err)}
			}
			set[name] = true
			f.fromEnv[name] = true
		}
	}
	f.explicit = set
	return nil
}

// origin names where a setting came from, for messages: the flag or its
// environment variable.
func (f *serveFlags) origin(name string) string {
	if f.fromEnv[name] {
		return envNames[name]
	}
	return "--" + name
}

// check validates the settings that need no config file, so a bad flag or
// variable is named as such (exit status 2) rather than blamed on a config.
func (f *serveFlags) check() error {
	if f.upstream != "" {
		if err := config.CheckUpstream(f.upstream); err != nil {
			return &usageError{fmt.Sprintf("%s: %v", f.origin("upstream"), err)}
		}
	}
	if f.config != "" && f.configURL != "" {
		return &usageError{"give --config or --config-url, not both"}
	}
	if _, err := proxy.ParseTrustedProxies(f.trustedProxies); err != nil {
		return &usageError{f.origin("trusted-proxies") + ": " + err.Error()}
	}
	return nil
}

// checkServe is check and the settings only serve and demo have.
func (f *serveFlags) checkServe() error {
	if err := f.check(); err != nil {
		return err
	}
	_, err := newLogger(*f, io.Discard)
	return err
}

// flagSet is a command's flags. -h prints its usage to stdout (it was
// asked for) and exits 0; a bad flag prints the error and the usage to
// stderr and exits 2.
type flagSet struct {
	*flag.FlagSet
	name           string
	stdout, stderr io.Writer
}

func newFlagSet(name string, stdout, stderr io.Writer) *flagSet {
	fs := flag.NewFlagSet("consentgate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parseFlags prints it, to the right stream
	return &flagSet{FlagSet: fs, name: name, stdout: stdout, stderr: stderr}
}

func (fs *flagSet) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage of consentgate %s:\n", fs.name)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(fs.stderr)
}

func parseFlags(fs *flagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.usage(fs.stdout)
		return &exitError{0}
	case err != nil:
		fs.usage(fs.stderr) // after the error the flag package printed
		return &usageError{}
	}
	return nil
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseServe(args, stdout, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, f, stderr, serveHooks{})
}

// parseServe reads the flags of serve, then the environment, and checks
// them.
func parseServe(args []string, stdout, stderr io.Writer) (serveFlags, error) {
	fs := newFlagSet("serve", stdout, stderr)
	var f serveFlags
	f.register(fs.FlagSet, "127.0.0.1:8080", "127.0.0.1:9090")
	if err := parseFlags(fs, args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, &usageError{fmt.Sprintf("serve takes no arguments, got %q", fs.Args())}
	}
	if err := f.applyEnv(fs.FlagSet); err != nil {
		return f, err
	}
	return f, f.checkServe()
}

// openGeoIP opens the GeoIP databases the set's sites name, so a bad path
// is refused when the rules load rather than on the first request.
func openGeoIP(r *signals.Reader, set *rules.Set) error {
	for _, s := range set.Sites() {
		if s.GeoIPDatabase != "" {
			if err := r.OpenGeoIP(s.GeoIPDatabase); err != nil {
				return fmt.Errorf("site %q: cannot open the GeoIP database: %w", s.Name, err)
			}
		}
	}
	return nil
}

// geoIPPaths lists the GeoIP databases the set's sites name.
func geoIPPaths(set *rules.Set) []string {
	var out []string
	for _, s := range set.Sites() {
		if s.GeoIPDatabase != "" {
			out = append(out, s.GeoIPDatabase)
		}
	}
	return out
}

// loadRules makes the first rule set: from the config file or URL, or the
// defaults with the upstream from the command line.
func loadRules(ctx context.Context, f serveFlags, h *reload.Holder) error {
	switch {
	case f.configURL != "":
		data, _, err := reload.Fetch(ctx, http.DefaultClient, f.configURL, "")
		if err != nil {
			return err // names the URL; the URL watcher fetches again with its own ETag
		}
		_, err = h.ReloadData(data, f.configURL)
		return err
	case f.config != "":
		return h.Reload(f.config)
	case f.builtinConfig != nil:
		_, err := h.ReloadData(f.builtinConfig, "(built-in)")
		return err
	}
	cfg := config.Default(f.upstream)
	if h.Override != nil {
		h.Override(cfg)
	}
	set, err := rules.Compile(cfg)
	if err != nil {
		return err
	}
	h.Swap(set)
	return nil
}

func newLogger(f serveFlags, stderr io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, &usageError{fmt.Sprintf("%s %q: want debug, info, warn or error", f.origin("log-level"), f.logLevel)}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch f.logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(stderr, opts)), nil
	}
	return nil, &usageError{fmt.Sprintf("%s %q: want json or text", f.origin("log-format"), f.logFormat)}
}

// serveHooks let tests watch and steer serve; the zero value is what the
// command uses.
type serveHooks struct {
	// ready, when set, is called with the bound addresses once both listen.
	ready func(public, admin string)
	// listen replaces net.Listen.
	listen func(network, addr string) (net.Listener, error)
}

// serve runs the proxy and the admin listener until ctx is done or one of
// them fails. Once the logger exists every error is a log line (JSON in a
// JSON log), and serve returns only the exit status.
func serve(ctx context.Context, f serveFlags, stderr io.Writer, hooks serveHooks) error {
	log, err := newLogger(f, stderr)
	if err != nil {
		return err
	}
	if hooks.listen == nil {
		hooks.listen = net.Listen
	}
	err = runServe(ctx, f, log, hooks)
	if err == nil {
		return nil
	}
	code := 1
	var ue *usageError
	if errors.As(err, &ue) {
		code = 2
	}
	log.Error("consentgate stopped", "err", err.Error())
	return &exitError{code}
}

// runServe is serve with its logger.
func runServe(ctx context.Context, f serveFlags, log *slog.Logger, hooks serveHooks) error {
	reg := prometheus.NewRegistry()
	metrics := proxy.NewMetrics(reg)
	reader := signals.NewReader()
	defer reader.Close()
	h := reload.NewHolder(nil)
	defer h.Close()
	// A GeoIP database a new set no longer names is closed once the old
	// set is done.
	h.Hooks = f.hooks(reader)
	defer h.OnSwap(func(s *rules.Set) { reader.RetainGeoIP(geoIPPaths(s), h.Grace) })()
	if err := loadRules(ctx, f, h); err != nil {
		return err
	}
	set := h.Load()
	f.fromConfig(set.Config())
	if f.admin == f.listen && !strings.HasSuffix(f.listen, ":0") {
		return &usageError{"--admin must differ from --listen: the admin endpoints are never public"}
	}
	trustedProxies, _ := proxy.ParseTrustedProxies(f.trustedProxies) // checked by parseServe
	metrics.RegisterCaches(reg, h, reader)
	acctReg, err := openRegistry(f, set, reg, log)
	if err != nil {
		return err
	}
	if acctReg != nil {
		defer acctReg.Close()
	}
	var server atomic.Pointer[proxy.Server] // for the receipt log's tallies and the guard hook, once it exists
	receipts, err := openReceipts(f, reg, log, &server)
	if err != nil {
		return err
	}
	if receipts != nil {
		// Deferred, so closed once g.Wait has returned: after the servers,
		// when in-flight responses have sent their receipts.
		defer receipts.Close()
	}
	cacheBytes, err := responseCacheBytes(f.responseCache)
	if err != nil {
		return err
	}
	canaryToken := canary.NewToken()
	opts := proxy.Options{
		Rules: h, Signals: reader, Metrics: metrics, Logger: log,
		UpstreamTimeout: f.upstreamTimeout, UpstreamIdleTimeout: f.upstreamIdle, WriteIdleTimeout: f.writeIdle,
		TrustForwarded: f.trustForwarded, TrustedProxies: trustedProxies,
		AccessLogEvery: f.accessLogEvery, Registry: acctReg, CanaryToken: canaryToken, ShutdownTimeout: f.shutdownTimeout,
		ResponseCacheBytes: cacheBytes,
	}
	withReceipts(&opts, receipts, &server)
	srv, err := proxy.New(opts)
	if err != nil {
		return err
	}
	server.Store(srv)
	if c := srv.ResponseCache(); c != nil {
		reg.MustRegister(c)
	}
	var draining atomic.Bool
	admin := proxy.NewAdmin(proxy.AdminOptions{Rules: h, Gatherer: reg, Pprof: f.pprof, Draining: &draining, ShutdownTimeout: f.shutdownTimeout})
	pub, err := hooks.listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (choose another with --listen): %w", f.listen, err)
	}
	adm, err := hooks.listen("tcp", f.admin)
	if err != nil {
		pub.Close()
		return fmt.Errorf("cannot listen on admin address %s (choose another with --admin): %w", f.admin, err)
	}
	can, err := canary.New(canary.Options{Rules: h, Addr: pub.Addr().String(), Token: canaryToken,
		Receipts: opts.Receipts, Registerer: reg, Logger: log})
	if err != nil {
		pub.Close()
		adm.Close()
		return err
	}
	onReload := reloadLogger(h, metrics, log)
	source := f.config
	if f.configURL != "" {
		source = config.RedactURL(f.configURL)
	}
	log.Info("consentgate serving", "listen", pub.Addr().String(), "admin", adm.Addr().String(),
		"config", source, "rules", set.Version(), "sites", len(set.Sites()), "vendors", len(set.Vendors()), "receipts", f.receipts)
	if hooks.ready != nil {
		hooks.ready(pub.Addr().String(), adm.Addr().String())
	}

	// Every goroutine serve starts is in g and joined before it returns;
	// the first to fail cancels gctx, which stops the others.
	g, gctx := errgroup.WithContext(ctx)
	// The servers outlive gctx by the lame-duck delay: stop cancels them.
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	g.Go(func() error { return srv.Run(sctx, pub) })
	g.Go(func() error { return admin.Run(sctx, adm) })
	g.Go(func() error {
		<-gctx.Done()
		drain(ctx, &draining, f.shutdownDelay, log)
		stop()
		return nil
	})
	switch {
	case f.config != "" && f.watch > 0:
		w := &reload.FileWatcher{Holder: h, Path: f.config, Interval: f.watch, OnReload: onReload}
		w.Start()
		g.Go(func() error { return w.Run(gctx) })
	case f.configURL != "":
		w := &reload.URLWatcher{Holder: h, URL: f.configURL, Interval: f.watch, OnReload: onReload}
		g.Go(func() error { return w.Run(gctx) })
	}
	g.Go(func() error { return reloadOnHUP(gctx, f.config, h, onReload) })
	// The canary fetches through the proxy: it stops when shutting down
	// starts, before the servers do.
	g.Go(func() error { return can.Run(gctx) })
	return g.Wait()
}

// withReceipts sets the receipts log of the proxy's options, when there is
// one, and turns the runtime guard's reports into guard receipts of the
// server, once it exists.
func withReceipts(opts *proxy.Options, receipts *receipt.Log, server *atomic.Pointer[proxy.Server]) {
	if receipts == nil {
		return
	}
	opts.Receipts = receipts
	opts.OnRuntimeBlocked = func(ctx *fasthttp.RequestCtx, site *rules.Site, blocks []guard.Block) {
		if s := server.Load(); s != nil {
			s.RecordGuard(ctx, site, blocks)
		}
	}
}

// fromConfig applies the config file's settings where no flag or variable
// did.
func (f *serveFlags) fromConfig(cfg *config.Config) {
	if cfg == nil {
		return
	}
	if !f.explicit["listen"] && cfg.Listen != "" {
		f.listen = cfg.Listen
	}
	if !f.explicit["admin"] && cfg.Admin != "" {
		f.admin = cfg.Admin
	}
	if !f.explicit["response-cache"] && cfg.ResponseCache > 0 {
		f.responseCache = strconv.FormatInt(int64(cfg.ResponseCache), 10)
	}
	if !f.explicit["upstream-timeout"] && cfg.UpstreamTimeout > 0 {
		f.upstreamTimeout = time.Duration(cfg.UpstreamTimeout)
	}
	if rc := cfg.Receipts; rc != nil {
		if !f.explicit["receipts"] && rc.Dir != "" {
			f.receipts = rc.Dir
		}
		if !f.explicit["receipts-max-size"] && rc.MaxFileSize > 0 {
			f.receiptsMaxSize = strconv.FormatInt(int64(rc.MaxFileSize), 10)
		}
		if !f.explicit["receipts-flush"] && rc.FlushInterval > 0 {
			f.receiptsFlush = time.Duration(rc.FlushInterval)
		}
	}
}

// drain is the lame duck: readiness fails, and the load balancers get the
// delay to notice before the listeners close. It is cut short when ctx is
// not done (a server failed: there is nothing to drain for).
func drain(ctx context.Context, draining *atomic.Bool, delay time.Duration, log *slog.Logger) {
	draining.Store(true)
	if ctx.Err() == nil {
		return
	}
	log.Info("shutting down; a second interrupt stops at once", "delay", delay.String())
	time.Sleep(delay)
}

// reloadLogger returns the function that counts and logs every reload,
// whatever triggered it.
func reloadLogger(h *reload.Holder, metrics *proxy.Metrics, log *slog.Logger) func(changed bool, err error) {
	return func(changed bool, err error) {
		switch {
		case err != nil:
			metrics.Reloads.WithLabelValues("failure").Inc()
			log.Error("config reload failed; keeping the last good rules", "version", h.Load().Version(), "err", err)
		case changed:
			cur := h.Load()
			metrics.Reloads.WithLabelValues("success").Inc()
			log.Info("rules reloaded", "version", cur.Version(), "sites", len(cur.Sites()), "vendors", len(cur.Vendors()))
		default:
			metrics.Reloads.WithLabelValues("unchanged").Inc()
		}
	}
}

// reloadOnHUP reloads the config file on every SIGHUP until ctx is done.
func reloadOnHUP(ctx context.Context, path string, h *reload.Holder, onReload func(bool, error)) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			if path != "" {
				onReload(reloadChanged(h, path))
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// openReceipts opens the receipts log when --receipts (or receipts.dir)
// names a directory; nil otherwise. tally gives the server whose request
// counts tally records carry, once it exists.
func openReceipts(f serveFlags, reg prometheus.Registerer, log *slog.Logger, tally *atomic.Pointer[proxy.Server]) (*receipt.Log, error) {
	if f.receipts == "" {
		return nil, nil
	}
	var maxSize int64
	if f.receiptsMaxSize != "" {
		var err error
		if maxSize, err = config.ParseByteSize(f.receiptsMaxSize); err != nil {
			return nil, &usageError{"--receipts-max-size: " + err.Error()}
		}
		if maxSize < 4<<10 {
			return nil, &usageError{"--receipts-max-size: at least 4KiB"}
		}
	}
	if f.receiptsFlush < 0 {
		return nil, &usageError{"--receipts-flush must be positive"}
	}
	return receipt.Open(receipt.Options{
		Dir: f.receipts, MaxFileSize: maxSize, FlushInterval: f.receiptsFlush,
		Version: proxy.Version, Registerer: reg, Logger: log,
		Tally: func(dst []receipt.Tally) []receipt.Tally {
			if s := tally.Load(); s != nil {
				return s.Tally(dst)
			}
			return dst
		},
	})
}

// hostPort returns a URL for an address bound to a wildcard as loopback.
func hostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port
}

// reloadChanged reloads from path and reports whether the set changed.
func reloadChanged(h *reload.Holder, path string) (bool, error) {
	before := h.Load()
	err := h.Reload(path)
	return h.Load() != before, err
}

// hooks are what serve and check add to every reload: the settings of
// flags and variables win over the file's, and a set whose GeoIP
// database cannot open is refused like a bad config.
func (f *serveFlags) hooks(r *signals.Reader) reload.Hooks {
	return reload.Hooks{
		Override: func(c *config.Config) {
			if f.upstream != "" {
				c.Upstream = f.upstream // the flag or variable wins over the file
			}
			f.overrideAccount(c)
		},
		Validate: listenProblems,
		Verify:   func(s *rules.Set) error { return openGeoIP(r, s) },
	}
}

// listenProblems reports the problems of the listen and admin addresses a
// config file gives serve: each must be host:port, and they must differ.
func listenProblems(c *config.Config) []config.Problem {
	var probs []config.Problem
	for _, f := range []struct{ name, addr string }{{"listen", c.Listen}, {"admin", c.Admin}} {
		if f.addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(f.addr); err != nil || port == "" {
			probs = append(probs, config.Problem{Field: f.name, Msg: fmt.Sprintf("%q is not a listen address: write host:port such as 127.0.0.1:8080 or :8080", f.addr)})
		}
	}
	if c.Listen != "" && c.Listen == c.Admin {
		probs = append(probs, config.Problem{Field: "admin", Msg: fmt.Sprintf("%q is also the listen address; the admin endpoints need their own port", c.Admin)})
	}
	return probs
}

// overrideAccount applies the account flags and variables to a parsed
// config: each one given wins over the file's top-level account.
func (f *serveFlags) overrideAccount(c *config.Config) {
	_, envSecret := os.LookupEnv(accountSecretEnv)
	if f.accountCookie == "" && f.accountHeader == "" && f.accountSecretFile == "" && !envSecret {
		return
	}
	a := c.Account
	if a == nil {
		a = &config.Account{}
		// A secret alone names no account key; the sites' own keys may
		// use it below.
		if f.accountCookie != "" || f.accountHeader != "" {
			c.Account = a
		}
	}
	if f.accountCookie != "" {
		a.Cookie = f.accountCookie
	}
	if f.accountHeader != "" {
		a.Header = f.accountHeader
	}
	switch {
	case f.accountSecretFile != "":
		a.Secret, a.SecretFile, a.SecretEnv = "", f.accountSecretFile, ""
	case envSecret && a.Secret == "" && a.SecretFile == "" && a.SecretEnv == "":
		a.SecretEnv = accountSecretEnv
	}
	// Sites with their own account key but no secret of their own take
	// the one given on the command line or in the environment.
	for i := range c.Sites {
		if sa := c.Sites[i].Account; sa != nil && sa.Secret == "" && sa.SecretFile == "" && sa.SecretEnv == "" {
			sa.SecretFile, sa.SecretEnv = a.SecretFile, a.SecretEnv
			if sa.SecretFile == "" && sa.SecretEnv == "" {
				sa.Secret = a.Secret
			}
		}
	}
}

// openRegistry connects to the shared opt-out registry named by the flag,
// the environment or the config file; nil without one. An unreachable
// registry is no error (requests fall back to the other signals).
func openRegistry(f serveFlags, set *rules.Set, reg prometheus.Registerer, log *slog.Logger) (*registry.Registry, error) {
	var rc config.Registry
	if c := set.Config(); c != nil && c.Registry != nil {
		rc = *c.Registry
	}
	if f.registry != "" {
		rc.URL = f.registry
	}
	if f.registryBudget > 0 {
		rc.Budget = config.Duration(f.registryBudget)
	}
	accounts := 0
	for _, s := range set.Sites() {
		if s.Account != nil {
			accounts++
		}
	}
	if rc.URL == "" {
		if accounts > 0 {
			log.Warn("sites have an account key but there is no registry (--registry); account keys are not used", "sites", accounts)
		}
		return nil, nil
	}
	if err := config.CheckRegistryURL(rc.URL); err != nil {
		return nil, &usageError{"--registry: " + err.Error()}
	}
	if rc.Budget > config.Duration(time.Second) {
		return nil, &usageError{fmt.Sprintf("--registry-budget %v: a request should wait a few milliseconds at most", time.Duration(rc.Budget))}
	}
	r, err := registry.New(registry.Options{
		URL: rc.URL, Budget: time.Duration(rc.Budget), NegativeTTL: time.Duration(rc.NegativeTTL),
		Refresh: time.Duration(rc.Refresh), CacheEntries: rc.CacheEntries, Registerer: reg, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	if accounts == 0 {
		log.Warn("a registry is configured but no site has an account key (--account-cookie, account:); it is not asked")
	}
	log.Info("registry", "url", config.RedactURL(rc.URL), "budget", r.Budget().String(), "sites_with_account_key", accounts)
	return r, nil
}

// responseCacheBytes reads --response-cache: a size of at least 1MiB, or 0
// for no cache (proxy.Options.ResponseCacheBytes -1).
func responseCacheBytes(v string) (int64, error) {
	if v == "0" {
		return -1, nil
	}
	n, err := config.ParseByteSize(v)
	if err != nil {
		return 0, &usageError{"--response-cache: " + err.Error()}
	}
	if n < 1<<20 {
		return 0, &usageError{"--response-cache: at least 1MiB, or 0 for no cache"}
	}
	return n, nil
}
