package deploy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/signals"
	"go.yaml.in/yaml/v3"
)

// requiredFamilies are the metric families the dashboard must chart: what
// ops look at first.
var requiredFamilies = []string{
	"consentgate_requests_total",
	"consentgate_optout_sources_total",
	"consentgate_rewrite_elements_total",
	"consentgate_cookies_dropped_total",
	"consentgate_rewrite_duration_seconds_bucket",
	"consentgate_upstream_duration_seconds_bucket",
	"consentgate_upstream_errors_total",
	"consentgate_rules_reloads_total",
	"consentgate_rules_loaded_timestamp_seconds",
	"consentgate_cache_hits_total",
	"consentgate_cache_misses_total",
	"consentgate_inflight_requests",
	"consentgate_signals_parse_errors_total",
	"consentgate_fail_closed_total",
	"consentgate_rules_info",
	"consentgate_registry_lookups_total",
	"consentgate_registry_requests_total",
	"consentgate_registry_up",
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

// dashboard is the part of the Grafana JSON model the tests read.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Definition string          `json:"definition"`
			Query      json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // collapsed rows
}

func loadDashboard(t testing.TB) (dashboard, []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("grafana", "consentgate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("grafana/consentgate.json is not valid JSON: %v", err)
	}
	var exprs []string
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			exprs = append(exprs, a.Expr)
		}
	}
	return d, exprs
}

// alertExprs returns alert name → expression of prometheus/alerts.yaml.
func alertExprs(t testing.TB) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert, Record, Expr string
			}
		}
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out[r.Alert+r.Record] = r.Expr
		}
	}
	return out
}

func TestDashboardModel(t *testing.T) {
	d, exprs := loadDashboard(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 30 {
		t.Errorf("dashboard uid %q, title %q, schemaVersion %d: want all set (schema ≥ 30)", d.UID, d.Title, d.SchemaVersion)
	}
	ids := map[int]string{}
	var check func([]panel)
	check = func(ps []panel) {
		for _, p := range ps {
			if prev, dup := ids[p.ID]; dup || p.ID == 0 {
				t.Errorf("panel %q: id %d missing or also used by %q", p.Title, p.ID, prev)
			}
			ids[p.ID] = p.Title
			if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q: bad gridPos %+v", p.Title, p.GridPos)
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" {
					t.Errorf("panel %q: a target without expr or refId", p.Title)
				}
			}
			check(p.Panels)
		}
	}
	check(d.Panels)
	used := map[string]bool{}
	for _, e := range exprs {
		for _, n := range promqlMetricNames(e) {
			used[n] = true
		}
	}
	for _, f := range requiredFamilies {
		if !used[f] {
			t.Errorf("no dashboard panel charts %s", f)
		}
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	for _, e := range exprs {
		for _, v := range grafanaVar.FindAllString(e, -1) {
			name := strings.Trim(v, "${}")
			if !vars[name] && !strings.HasPrefix(name, "__") {
				t.Errorf("expression uses undefined variable %s: %s", v, e)
			}
		}
	}
}

// TestScrapedMetrics runs consentgate, drives a request down every path, and
// checks what it exposes against the dashboard, the alert rules and
// promtool's linter.
func TestScrapedMetrics(t *testing.T) {
	s := startStack(t)
	s.exercise(t)
	exp := s.scrape(t)
	names := metricNames(exp)
	names["up"] = true // written by Prometheus for every target

	t.Run("dashboard", func(t *testing.T) {
		d, exprs := loadDashboard(t)
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			// label_values(SELECTOR, label): only the selector is PromQL.
			m := labelValues.FindStringSubmatch(v.Definition)
			if m == nil {
				t.Errorf("variable %s: %q is not label_values(selector, label)", v.Name, v.Definition)
				continue
			}
			exprs = append(exprs, m[1])
		}
		for _, e := range exprs {
			for _, n := range promqlMetricNames(e) {
				if !names[n] {
					t.Errorf("dashboard query names %s, which consentgate does not expose:\n  %s", n, e)
				}
			}
		}
	})
	t.Run("alerts", func(t *testing.T) {
		for alert, e := range alertExprs(t) {
			for _, n := range promqlMetricNames(e) {
				if !names[n] {
					t.Errorf("alert %s names %s, which consentgate does not expose", alert, n)
				}
			}
		}
	})
	t.Run("build_info", func(t *testing.T) {
		want := fmt.Sprintf(`version=%q`, testVersion)
		for line := range strings.SplitSeq(exp, "\n") {
			if strings.HasPrefix(line, "consentgate_build_info{") && strings.Contains(line, want) {
				return
			}
		}
		t.Errorf("consentgate_build_info has no %s: the -X %s stamp of the Dockerfile does not reach the metric", want, versionSymbol)
	})
	t.Run("promtool_check_metrics", func(t *testing.T) {
		promtool := needTool(t, "promtool", promHint)
		out, err := runTool(t, exp, promtool, "check", "metrics")
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})
}

func TestPromtoolRules(t *testing.T) {
	t.Parallel() // CPU-bound in promtool while the other tests wait on the network
	promtool := needTool(t, "promtool", promHint)
	out, err := runTool(t, "", promtool, "check", "rules", filepath.Join("prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	out, err = runTool(t, "", promtool, "test", "rules", filepath.Join("prometheus", "alerts_test.yaml"))
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	// Every alert must appear in the unit tests, firing at least once.
	tests, err := os.ReadFile(filepath.Join("prometheus", "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tf struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		}
	}
	if err := yaml.Unmarshal(tests, &tf); err != nil {
		t.Fatal(err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for alert := range alertExprs(t) {
		if !fires[alert] || !quiet[alert] {
			t.Errorf("alert %s: alerts_test.yaml must show it firing (%v) and not firing (%v)", alert, fires[alert], quiet[alert])
		}
	}
}

// randomRequests returns n requests to public with random hosts, paths,
// cookies and signals, drawn from a fixed seed, and every random token
// they carry.
func randomRequests(public string, n int) ([]*http.Request, map[string]bool) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := map[string]bool{} // every random token sent
	word := func() string {
		const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
		b := make([]byte, 3+rng.IntN(10))
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		random[string(b)] = true
		return string(b)
	}
	reqs := make([]*http.Request, n)
	for i := range reqs {
		var host string
		switch r := rng.IntN(100); {
		case r < 35:
			host = word() + ".blog.example.test"
		case r < 65:
			host = "www.example.test"
		case r < 95:
			host = word() + "." + word() + ".invalid"
		default:
			host = "down.example.test"
		}
		path := "/" + word() + "/" + word()
		switch rng.IntN(20) {
		case 0:
			path = "/.well-known/gpc.json"
		case 1:
			path = "/.consentgate/status"
		case 2:
			path = "/.consentgate/optout?return=/" + word()
		case 3:
			path = "/odd"
		case 4:
			path += "?utm_source=" + word()
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+public+path, nil)
		req.Host = host
		var cookies []string
		for range rng.IntN(4) {
			cookies = append(cookies, word()+"="+word())
		}
		switch rng.IntN(5) {
		case 0:
			cookies = append(cookies, "_ga=GA1.1."+word())
		case 1:
			cookies = append(cookies, "usprivacy="+word())
		case 2:
			cookies = append(cookies, "consentgate_optout=1")
		}
		if len(cookies) > 0 {
			req.Header.Set("Cookie", strings.Join(cookies, "; "))
		}
		switch rng.IntN(4) {
		case 0:
			req.Header.Set("Sec-GPC", "1")
		case 1:
			req.Header.Set("Sec-GPC", word())
		}
		if rng.IntN(5) == 0 {
			req.Header.Set("DNT", "1")
		}
		req.Header.Set("User-Agent", "cardinality/"+word())
		reqs[i] = req
	}
	return reqs, random
}

// sendAll sends reqs to s from workers goroutines, counting the status
// codes in codes, and ends the test if any fails.
func sendAll(t *testing.T, s *stack, reqs []*http.Request, workers int, codes map[int]int) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  int
		first error
		next  = make(chan *http.Request)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 32<<10)
			for req := range next {
				resp, err := s.client.Do(req)
				if err != nil {
					mu.Lock()
					if errs++; first == nil {
						first = err
					}
					mu.Unlock()
					continue
				}
				for {
					if _, err := resp.Body.Read(b); err != nil {
						break
					}
				}
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	for _, r := range reqs {
		next <- r
	}
	close(next)
	wg.Wait()
	if errs > 0 {
		t.Fatalf("%d of %d requests failed, first: %v\n%s", errs, len(reqs), first, s.log)
	}
}

// TestMetricsCardinality sends 10 000 requests with random hosts, paths,
// cookies and signals in two halves. Labels come from closed sets, so the
// first half may add a few series for combinations the warm-up missed but
// the second half adds none, and no label value ever carries anything taken
// from a request.
func TestMetricsCardinality(t *testing.T) {
	if testing.Short() {
		t.Skip("10 000 requests; skipped with -short")
	}
	s := startStack(t)
	s.exercise(t)
	before := seriesOf(s.scrape(t), "consentgate_")

	const total, workers = 10000, 4
	reqs, random := randomRequests(s.public, total)
	codes := map[int]int{}
	send := func(reqs []*http.Request) { sendAll(t, s, reqs, workers, codes) }
	start := time.Now()
	send(reqs[:total/2])
	mid := seriesOf(s.scrape(t), "consentgate_")
	send(reqs[total/2:])
	elapsed := time.Since(start)
	after := seriesOf(s.scrape(t), "consentgate_")
	t.Logf("%d requests in %v (%.0f/s), status codes %v; consentgate_ series: %d after the warm-up, %d after 5 000 random requests, %d after 10 000",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), codes, len(before), len(mid), len(after))
	for _, k := range sortedKeys(mid) {
		if !before[k] {
			t.Logf("new series in the first half (a closed-set combination the warm-up missed): %s", k)
		}
	}
	for _, k := range sortedKeys(after) {
		if !mid[k] {
			t.Errorf("new series in the second half: labels are not bounded: %s", k)
		}
	}
	for _, k := range sortedKeys(mid) {
		if !after[k] {
			t.Errorf("series vanished: %s", k)
		}
	}
	if len(after) > len(before)+len(before)/4 {
		t.Errorf("random traffic grew the consentgate_ series from %d to %d", len(before), len(after))
	}
	checkLabels(t, after, random)
}

var (
	seriesLabel = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
	codeLike    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
)

// checkLabels fails for any consentgate_ series with a label value taken
// from a request (containing one of the random tokens sent), a site, category,
// vendor or signal outside its closed set, or any other label value that is
// not a short code such as "opted_out" or "refused".
func checkLabels(t *testing.T, series, random map[string]bool) {
	t.Helper()
	set := func(vs ...string) map[string]bool {
		m := map[string]bool{}
		for _, v := range vs {
			m[v] = true
		}
		return m
	}
	vendors, err := rules.Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	vendorIDs := set()
	for _, v := range vendors {
		vendorIDs[v.ID] = true
	}
	categories := set()
	for c := rules.Category(0); c < rules.NumCategories; c++ {
		categories[c.String()] = true
	}
	closed := map[string]map[string]bool{
		"site":     set("www", "blog", "down", "shop", "_none"), // "_none" is decision="no_site"
		"source":   set(signals.SourceNames()...),
		"signal":   set(signals.SourceNames()...),
		"category": categories,
		"vendor":   vendorIDs,
	}
	// One series each, whatever their labels say.
	single := set("consentgate_build_info", "consentgate_rules_info")
	perName := map[string]int{}
	for k := range series {
		name, _, _ := strings.Cut(k, "{")
		perName[name]++
		for _, m := range seriesLabel.FindAllStringSubmatch(k, -1) {
			label, value := m[1], m[2]
			for tok := range random {
				// Shorter tokens may equal a code ("tcf") by chance.
				if len(tok) >= 6 && strings.Contains(value, tok) {
					t.Errorf("%s: %s=%q carries %q from a request", k, label, value, tok)
				}
			}
			switch {
			case label == "le" || single[name]:
			case closed[label] != nil:
				if !closed[label][value] {
					t.Errorf("%s: %s=%q is not in the closed set", k, label, value)
				}
			case !codeLike.MatchString(value):
				t.Errorf("%s: %s=%q is not a reason code", k, label, value)
			}
		}
	}
	for name := range single {
		if perName[name] != 1 {
			t.Errorf("%s: %d series, want 1", name, perName[name])
		}
	}
}
