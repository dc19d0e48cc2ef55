package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/consentgate/consentgate/rules"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminOptions configure the admin listener.
type AdminOptions struct {
	Rules    Rules
	Gatherer prometheus.Gatherer
	// Pprof serves /debug/pprof/ when true.
	Pprof bool
	// Draining makes /readyz fail while the server shuts down (lame duck).
	Draining *atomic.Bool
	// ShutdownTimeout bounds Admin.Run's wait for running requests once its
	// context is done (default DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
}

// Admin is the admin listener's server.
type Admin struct {
	srv     *http.Server
	timeout time.Duration
}

// NewAdmin returns the admin server of o; see AdminHandler for what it
// serves.
func NewAdmin(o AdminOptions) *Admin {
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	return &Admin{
		srv:     &http.Server{Handler: AdminHandler(o), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 90 * time.Second},
		timeout: o.ShutdownTimeout,
	}
}

// Run serves ln until ctx is done, then shuts down within the shutdown
// timeout, as Server.Run does. A context done before Serve starts is no
// exception: net/http's Serve refuses once Shutdown has begun.
func (a *Admin) Run(ctx context.Context, ln net.Listener) error {
	serveErr, err := serveUntil(ctx, a.timeout, func() error { return a.srv.Serve(ln) }, func(ctx context.Context) error {
		err := a.srv.Shutdown(ctx)
		if err != nil {
			a.srv.Close() //nolint:errcheck // the bound is reached: cut what is left
			err = fmt.Errorf("admin requests still running after %v: %w", a.timeout, err)
		}
		return err
	})
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return err
}

// AdminHandler serves the admin listener, which must never share the public
// address: /metrics, /healthz (the process is up), /readyz (a rule set is
// loaded and the server is not draining), /rules (the loaded set as JSON)
// and, when enabled, /debug/pprof/.
func AdminHandler(o AdminOptions) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n")) //nolint:errcheck
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		switch {
		case o.Draining != nil && o.Draining.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("draining\n")) //nolint:errcheck
		case o.Rules == nil || o.Rules.Load() == nil:
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("no rule set loaded\n")) //nolint:errcheck
		default:
			w.Write([]byte("ready\n")) //nolint:errcheck
		}
	})
	mux.HandleFunc("/rules", func(w http.ResponseWriter, r *http.Request) {
		var set *rules.Set
		if o.Rules != nil {
			set = o.Rules.Load()
		}
		if set == nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("no rule set loaded\n")) //nolint:errcheck
			return
		}
		type site struct {
			Name     string   `json:"name"`
			Hosts    []string `json:"hosts"`
			Upstream string   `json:"upstream"`
			Deny     []string `json:"deny"`
			Shadow   bool     `json:"shadow"`
		}
		out := struct {
			Version    string         `json:"version"`
			LoadedAt   string         `json:"loaded_at"`
			Vendors    int            `json:"vendors"`
			ByCategory map[string]int `json:"vendors_by_category"`
			Sites      []site         `json:"sites"`
		}{Version: set.Version(), LoadedAt: set.LoadedAt().UTC().Format("2006-01-02T15:04:05Z"), Vendors: len(set.Vendors()), ByCategory: map[string]int{}}
		for _, v := range set.Vendors() {
			out.ByCategory[v.Category.String()]++
		}
		for _, s := range set.Sites() {
			out.Sites = append(out.Sites, site{s.Name, s.Hosts, s.Upstream.String(), s.Deny.Names(), s.Shadow})
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(out) //nolint:errcheck
	})
	if o.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}
