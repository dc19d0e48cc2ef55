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
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
)

// serveFlags are the settings of serve and demo. Each comes from, in order
// of precedence: the flag, the environment variable, the config file, the
// default.
type serveFlags struct {
	listen, admin, upstream, config string
	upstreamTimeout                 time.Duration
	shutdownDelay, shutdownTimeout  time.Duration
	logFormat, logLevel             string
	pprof, trustForwarded           bool
	accessLogEvery                  uint64
	// explicit are the flags set by command line or environment.
	explicit map[string]bool
}

// envNames maps flags to the environment variables that may set them.
var envNames = map[string]string{
	"listen":           "CONSENTGATE_LISTEN",
	"admin":            "CONSENTGATE_ADMIN",
	"upstream":         "CONSENTGATE_UPSTREAM",
	"config":           "CONSENTGATE_CONFIG",
	"upstream-timeout": "CONSENTGATE_UPSTREAM_TIMEOUT",
	"log-format":       "CONSENTGATE_LOG_FORMAT",
	"log-level":        "CONSENTGATE_LOG_LEVEL",
}

func (f *serveFlags) register(fs *flag.FlagSet, defListen, defAdmin string) {
	fs.StringVar(&f.listen, "listen", defListen, "public address to listen on (env CONSENTGATE_LISTEN, config listen)")
	fs.StringVar(&f.admin, "admin", defAdmin, "admin address for /metrics, /healthz, /readyz, /rules; keep it private (env CONSENTGATE_ADMIN, config admin)")
	fs.StringVar(&f.upstream, "upstream", "", "URL of the site behind the proxy, for every site without its own (env CONSENTGATE_UPSTREAM, config upstream)")
	fs.StringVar(&f.config, "config", "", "config file; reloaded on SIGHUP (env CONSENTGATE_CONFIG)")
	fs.DurationVar(&f.upstreamTimeout, "upstream-timeout", 0, "wait at most this long for the upstream's response headers, then answer 504 (default 30s; env CONSENTGATE_UPSTREAM_TIMEOUT, config upstream_timeout)")
	fs.DurationVar(&f.shutdownDelay, "shutdown-delay", 0, "on SIGTERM, fail /readyz for this long before closing listeners, so load balancers stop sending traffic")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 15*time.Second, "on SIGTERM, wait at most this long for in-flight requests")
	fs.StringVar(&f.logFormat, "log-format", "json", "log format: json or text (env CONSENTGATE_LOG_FORMAT)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error (env CONSENTGATE_LOG_LEVEL)")
	fs.Uint64Var(&f.accessLogEvery, "access-log-every", 0, "log one request in N (0: no access log); lines never carry cookie values, consent strings or client addresses")
	fs.BoolVar(&f.pprof, "pprof", false, "serve /debug/pprof/ on the admin address")
	fs.BoolVar(&f.trustForwarded, "trust-forwarded", false, "keep X-Forwarded-* from the client (only behind a trusted load balancer)")
}

// applyEnv sets every flag not given on the command line from its
// environment variable, and records which flags are now set.
func (f *serveFlags) applyEnv(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, env := range envNames {
		if set[name] || fs.Lookup(name) == nil {
			continue
		}
		if v, ok := os.LookupEnv(env); ok && v != "" {
			if err := fs.Set(name, v); err != nil {
				return &usageError{fmt.Sprintf("%s=%q: %v", env, v, err)}
			}
			set[name] = true
		}
	}
	f.explicit = set
	return nil
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{0} // -h printed the flags
		}
		return &usageError{}
	}
	return nil
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("consentgate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, f, stderr, nil)
}

// parseServe reads the flags of serve, then the environment.
func parseServe(args []string, stderr io.Writer) (serveFlags, error) {
	fs := newFlagSet("serve", stderr)
	var f serveFlags
	f.register(fs, "127.0.0.1:8080", "127.0.0.1:9090")
	if err := parseFlags(fs, args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, &usageError{fmt.Sprintf("serve takes no arguments, got %q", fs.Args())}
	}
	return f, f.applyEnv(fs)
}

// ruleHolder holds the rule set in use and reloads it from the config file.
type ruleHolder struct {
	p        atomic.Pointer[rules.Set]
	path     string
	upstream string // from flag or env; overrides the config's upstream
	last     []byte
	metrics  *proxy.Metrics
	log      *slog.Logger
	geo      *signals.Reader // reopens the GeoIP database a new config names
}

// openGeoIP opens the GeoIP database the set's sites name (one per
// process: the first site that names one).
func openGeoIP(r *signals.Reader, set *rules.Set) error {
	for _, s := range set.Sites() {
		if s.GeoIPDatabase != "" {
			if err := r.OpenGeoIP(s.GeoIPDatabase); err != nil {
				return fmt.Errorf("site %q: cannot open the GeoIP database: %w", s.Name, err)
			}
			return nil
		}
	}
	return nil
}

func (h *ruleHolder) Load() *rules.Set { return h.p.Load() }

// load reads and compiles the config; with no file, the defaults.
func (h *ruleHolder) compile() (*rules.Set, []byte, error) {
	var cfg *rules.Config
	var data []byte
	if h.path == "" {
		cfg = rules.DefaultConfig(h.upstream)
	} else {
		var err error
		if data, err = os.ReadFile(h.path); err != nil {
			return nil, nil, fmt.Errorf("cannot read config: %w", err)
		}
		if cfg, err = rules.ParseConfig(data, h.path); err != nil {
			return nil, nil, err
		}
		if h.upstream != "" {
			cfg.Upstream = h.upstream
		}
	}
	set, err := rules.Compile(cfg)
	return set, data, err
}

// reload swaps in the config file's new rule set; on any error the last good
// set stays in use.
func (h *ruleHolder) reload() {
	if h.path == "" {
		return
	}
	data, err := os.ReadFile(h.path)
	if err == nil && string(data) == string(h.last) {
		h.metrics.Reloads.WithLabelValues("unchanged").Inc()
		return
	}
	set, data, err := h.compile()
	if err == nil && h.geo != nil {
		err = openGeoIP(h.geo, set)
	}
	if err != nil {
		h.metrics.Reloads.WithLabelValues("failure").Inc()
		h.log.Error("config reload failed; keeping the last good rules", "config", h.path, "version", h.Load().Version(), "err", err)
		return
	}
	old := h.p.Swap(set)
	h.last = data
	h.metrics.Reloads.WithLabelValues("success").Inc()
	h.log.Info("rules reloaded", "config", h.path, "version", set.Version(), "sites", len(set.Sites()), "vendors", len(set.Vendors()))
	if old != nil {
		// Requests that loaded the old set may still use it; its caches are
		// closed after they are done (lookups on a closed set still answer).
		time.AfterFunc(time.Minute, old.Close)
	}
}

func newLogger(f serveFlags, stderr io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, &usageError{fmt.Sprintf("--log-level %q: want debug, info, warn or error", f.logLevel)}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch f.logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(stderr, opts)), nil
	}
	return nil, &usageError{fmt.Sprintf("--log-format %q: want json or text", f.logFormat)}
}

// serve runs the proxy and the admin listener until ctx is done. ready, when
// set, is called with the bound addresses once both listen.
func serve(ctx context.Context, f serveFlags, stderr io.Writer, ready func(public, admin string)) error {
	log, err := newLogger(f, stderr)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	metrics := proxy.NewMetrics(reg)
	h := &ruleHolder{path: f.config, upstream: f.upstream, metrics: metrics, log: log}
	set, data, err := h.compile()
	if err != nil {
		return err
	}
	h.p.Store(set)
	h.last = data
	if cfg := set.Config(); cfg != nil {
		// The config file's settings apply where no flag or variable did.
		if !f.explicit["listen"] && cfg.Listen != "" {
			f.listen = cfg.Listen
		}
		if !f.explicit["admin"] && cfg.Admin != "" {
			f.admin = cfg.Admin
		}
		if !f.explicit["upstream-timeout"] && cfg.UpstreamTimeout > 0 {
			f.upstreamTimeout = time.Duration(cfg.UpstreamTimeout)
		}
	}
	reader := signals.NewReader()
	defer reader.Close()
	if err := openGeoIP(reader, set); err != nil {
		return err
	}
	h.geo = reader
	metrics.RegisterCaches(reg, h, reader)
	srv, err := proxy.New(proxy.Options{
		Rules: h, Signals: reader, Metrics: metrics, Logger: log,
		UpstreamTimeout: f.upstreamTimeout, TrustForwarded: f.trustForwarded,
		AccessLogEvery: f.accessLogEvery,
	})
	if err != nil {
		return err
	}
	if f.admin == f.listen && !strings.HasSuffix(f.listen, ":0") {
		return &usageError{"--admin must differ from --listen: the admin endpoints are never public"}
	}
	pub, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (choose another with --listen): %w", f.listen, err)
	}
	adm, err := net.Listen("tcp", f.admin)
	if err != nil {
		pub.Close()
		return fmt.Errorf("cannot listen on admin address %s (choose another with --admin): %w", f.admin, err)
	}
	var draining atomic.Bool
	adminSrv := &http.Server{
		Handler:           proxy.AdminHandler(proxy.AdminOptions{Rules: h, Gatherer: reg, Pprof: f.pprof, Draining: &draining}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(pub) }()
	go func() {
		if err := adminSrv.Serve(adm); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	log.Info("consentgate serving", "listen", pub.Addr().String(), "admin", adm.Addr().String(),
		"config", f.config, "rules", set.Version(), "sites", len(set.Sites()), "vendors", len(set.Vendors()))
	if ready != nil {
		ready(pub.Addr().String(), adm.Addr().String())
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			h.reload()
			continue
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		break
	}
	// Lame duck: fail readiness, wait for the load balancer to notice, then
	// stop accepting and let in-flight requests finish.
	draining.Store(true)
	log.Info("shutting down", "delay", f.shutdownDelay.String())
	time.Sleep(f.shutdownDelay)
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	adminSrv.Shutdown(sctx) //nolint:errcheck
	return err
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
