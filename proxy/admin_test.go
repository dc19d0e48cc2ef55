package proxy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/rules/reload"
	"github.com/prometheus/client_golang/prometheus"
)

// TestAdminWithoutRuleSet: before the first rule set loads, every admin
// endpoint answers (a holder made without a set is a valid state), /rules
// and /readyz with 503.
func TestAdminWithoutRuleSet(t *testing.T) {
	h := proxy.AdminHandler(proxy.AdminOptions{Rules: reload.NewHolder(nil), Gatherer: prometheus.NewRegistry()})
	for path, want := range map[string]int{"/rules": 503, "/readyz": 503, "/healthz": 200, "/metrics": 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("GET %s with no rule set: status %d, want %d (%s)", path, rec.Code, want, rec.Body)
		}
	}
}

// TestAdminRun: the admin server serves until its context ends, also when
// that happens before it has started accepting.
func TestAdminRun(t *testing.T) {
	set, err := rules.Compile(config.Default("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	for _, early := range []bool{true, false} {
		a := proxy.NewAdmin(proxy.AdminOptions{Rules: proxy.StaticRules{Set: set}, Gatherer: prometheus.NewRegistry()})
		ln := listen(t)
		ctx, cancel := context.WithCancel(context.Background())
		if early {
			cancel()
		}
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx, ln) }()
		if !early {
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := c.Get("http://" + ln.Addr().String() + "/rules")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), set.Version()) {
				t.Errorf("GET /rules: %d %s", resp.StatusCode, body)
			}
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("early=%v: Run: %v", early, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("early=%v: admin Run still running 10s after its context ended", early)
		}
	}
}
