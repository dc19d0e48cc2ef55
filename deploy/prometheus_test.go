package deploy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy/proxytest"
)

// TestPrometheusServer runs a real Prometheus on loopback that scrapes
// consentgate every second and loads the alert rules, sends requests
// through the proxy, and waits until Prometheus reports the counts those
// requests must produce. It then runs every dashboard query against it.
func TestPrometheusServer(t *testing.T) {
	prom := needTool(t, "prometheus", promHint)
	s := startStack(t)
	p := startPrometheus(t, prom, s.admin)

	// Traffic: 7 opted out by GPC and 5 not on www, 3 opted out by DNT on blog.
	const gpc, plain, dnt = 7, 5, 3
	for range gpc {
		s.get(t, "www.example.test", "/", "Sec-GPC: 1")
	}
	for range plain {
		s.get(t, "www.example.test", "/")
	}
	for range dnt {
		s.get(t, "blog.example.test", "/", "DNT: 1")
	}

	want := map[string]float64{
		`up{job="consentgate"}`: 1,
		`sum(consentgate_requests_total{job="consentgate",site="www",decision="opted_out"})`:     gpc,
		`sum(consentgate_requests_total{job="consentgate",site="www",decision="not_opted_out"})`: plain,
		`sum(consentgate_optout_sources_total{site="www",source="gpc"})`:                         gpc,
		`sum(consentgate_optout_sources_total{site="blog",source="dnt"})`:                        dnt,
		`sum(consentgate_requests_total{site="blog",decision="opted_out"})`:                      dnt,
		// Every opted-out page lost its Google Tag Manager script.
		`sum(consentgate_rewrite_elements_total{site="www",vendor="google-tag-manager"}) >= 7`: 0,
		`sum(consentgate_rewrite_duration_seconds_count{site="www"})`:                          gpc,
		fmt.Sprintf(`consentgate_build_info{version=%q}`, testVersion):                         1,
	}
	deadline := time.Now().Add(30 * time.Second)
	p.waitForValues(t, want, deadline, s.log)
	// The alert rules load and evaluate without error in a real server.
	p.waitForRules(t, len(alertExprs(t)), deadline)

	// Every dashboard query is valid PromQL for this server.
	_, exprs := loadDashboard(t)
	vars := strings.NewReplacer("$__rate_interval", "1m", "$job", "consentgate", "$instance", ".*", "$site", ".*")
	for _, e := range exprs {
		if _, _, err := p.query(vars.Replace(e)); err != nil {
			t.Errorf("dashboard query rejected by Prometheus: %v\n  %s", err, e)
		}
	}
}

// promServer is a Prometheus started for a test.
type promServer struct {
	base   string // http://host:port
	client *http.Client
	log    *proxytest.Buffer
}

// startPrometheus runs prom on loopback, scraping admin every second and
// loading the alert rules, until the test ends.
func startPrometheus(t *testing.T, prom, admin string) *promServer {
	t.Helper()
	dir := t.TempDir()
	rulesPath, err := filepath.Abs(filepath.Join("prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: consentgate
    static_configs:
      - targets: [%q]
`, rulesPath, admin)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := closedPort(t)
	cmd := exec.Command(prom, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	log := &proxytest.Buffer{Max: 1 << 20}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopProcess(t, cmd, nil) })
	return &promServer{base: "http://" + addr, client: &http.Client{Timeout: 5 * time.Second}, log: log}
}

// query runs an instant query and returns the values of its result.
func (p *promServer) query(q string) (status string, values []float64, err error) {
	resp, err := p.client.Get(p.base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return "", nil, err
	}
	if r.Status != "success" {
		return r.Status, nil, fmt.Errorf("%s", r.Error)
	}
	for _, v := range r.Data.Result {
		s, _ := v.Value[1].(string)
		f, _ := strconv.ParseFloat(s, 64)
		values = append(values, f)
	}
	return r.Status, values, nil
}

// waitForValues polls until every query in want has one value, equal to
// the wanted one where that is not 0 (0: any value, for a comparison
// query), and fails with both logs at deadline.
func (p *promServer) waitForValues(t *testing.T, want map[string]float64, deadline time.Time, cgLog fmt.Stringer) {
	t.Helper()
	var pending []string
	for {
		pending = pending[:0]
		for q, v := range want {
			_, got, err := p.query(q)
			if err != nil || len(got) != 1 || (v != 0 && got[0] != v) {
				pending = append(pending, fmt.Sprintf("%s = %v (err %v), want %v", q, got, err, v))
			}
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not report within 30s:\n  %s\nprometheus log:\n%s\nconsentgate log:\n%s",
				strings.Join(pending, "\n  "), p.log, cgLog)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitForRules polls until n alert rules are loaded, each healthy, and
// fails at deadline.
func (p *promServer) waitForRules(t *testing.T, n int, deadline time.Time) {
	t.Helper()
	for {
		resp, err := p.client.Get(p.base + "/api/v1/rules")
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name, Health, LastError string
					}
				}
			}
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var loaded int
		var bad []string
		for _, g := range r.Data.Groups {
			for _, rule := range g.Rules {
				loaded++
				if rule.Health != "ok" {
					bad = append(bad, fmt.Sprintf("%s: %s %s", rule.Name, rule.Health, rule.LastError))
				}
			}
		}
		if loaded == n && len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert rules: %d loaded, want %d; not healthy: %v", loaded, n, bad)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
