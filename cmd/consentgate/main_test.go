package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy/demo"
	"github.com/valyala/fasthttp"
)

// runCmd runs the program with args and returns its exit status and output.
func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(t.Context(), args, strings.NewReader(stdin), &out, &errb)
	return exitCode(err, &errb), out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"--no-such-flag"}, 2},
		{[]string{"nonsense"}, 2},
		{[]string{"serve", "--no-such-flag"}, 2},
		{[]string{"serve", "extra-arg"}, 2},
		{[]string{"explain", "-H", "no colon"}, 2},
		{[]string{"explain", "--url", "not a url"}, 2},
		{[]string{"rewrite", "--deny", "nonsense"}, 2},
		{[]string{"rules"}, 2},
		{[]string{"rules", "frob"}, 2},
		{[]string{"rules", "match"}, 2},
		{[]string{"check"}, 2},
		{[]string{"check", "--config", "/nonexistent/consentgate.yaml"}, 1},
		{[]string{"explain", "-h"}, 0},
		{[]string{"version"}, 0},
		{[]string{"help"}, 0},
	} {
		if code, _, stderr := runCmd(t, "", c.args...); code != c.code {
			t.Errorf("consentgate %s: exit %d, want %d (stderr %q)", strings.Join(c.args, " "), code, c.code, stderr)
		}
	}
}

func TestExplain(t *testing.T) {
	type explanation struct {
		OptedOut bool            `json:"opted_out"`
		Denied   []string        `json:"denied"`
		Sources  []string        `json:"sources"`
		Errors   []string        `json:"errors"`
		Signals  map[string]any  `json:"signals"`
		Rest     json.RawMessage `json:"-"`
	}
	f := func(wantOut bool, wantSources string, args ...string) {
		t.Helper()
		code, out, stderr := runCmd(t, "", append([]string{"explain"}, args...)...)
		if code != 0 {
			t.Fatalf("explain %v: exit %d: %s", args, code, stderr)
		}
		var e explanation
		if err := json.Unmarshal([]byte(out), &e); err != nil {
			t.Fatalf("explain %v: not JSON: %v\n%s", args, err, out)
		}
		if e.OptedOut != wantOut || strings.Join(e.Sources, ",") != wantSources {
			t.Errorf("explain %v: opted_out=%v sources=%v, want %v %q", args, e.OptedOut, e.Sources, wantOut, wantSources)
		}
		if wantOut && strings.Join(e.Denied, ",") != "advertising,analytics,social" {
			t.Errorf("explain %v: denied=%v", args, e.Denied)
		}
	}
	f(false, "")
	f(true, "gpc", "-H", "Sec-GPC: 1")
	f(true, "gpc", "-H", "sec-gpc: 1")
	f(false, "", "-H", "Sec-GPC: 0")
	f(true, "gpc", "-H", "Sec-GPC: 0", "-H", "Sec-GPC: 1")
	f(true, "optout_cookie", "-H", "Cookie: a=b; consentgate_optout=1")
	f(true, "usp", "-H", "Cookie: usprivacy=1YYN")
	f(false, "", "-H", "Cookie: usprivacy=1YNN")
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	good := writeFile(t, "good.yaml", "upstream: http://127.0.0.1:3000\nsites:\n  - name: www\n    hosts: [www.example.com]\n")
	if code, out, stderr := runCmd(t, "", "check", "--config", good); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("check good config: exit %d, %q %q", code, out, stderr)
	}
	// A site declaring an advertising vendor necessary is valid, with a
	// warning naming the vendor and both categories.
	declared := writeFile(t, "declared.yaml", "upstream: http://127.0.0.1:3000\nsites:\n  - name: www\n    hosts: [www.example.com]\n    vendor_categories: {x-ads: necessary, pendo: advertising}\n")
	if code, out, stderr := runCmd(t, "", "check", "--config", declared); code != 0 || !strings.Contains(out, "ok") ||
		!strings.Contains(stderr, "declared.yaml:5: sites[0].vendor_categories.x-ads: warning:") || !strings.Contains(stderr, "advertising in the catalogue") ||
		strings.Count(stderr, "warning") != 1 {
		t.Errorf("check declared config: exit %d, %q %q; want ok and one warning about x-ads on line 5", code, out, stderr)
	}
	if code, out, _ := runCmd(t, "", "rules", "match", "--config", declared, "--site", "www.example.com", "https://static.ads-twitter.com/uwt.js"); code != 0 ||
		strings.TrimSpace(out) != `{"input":"https://static.ads-twitter.com/uwt.js","vendor":"x-ads","category":"necessary"}` {
		t.Errorf("rules match --site: exit %d, %s; want x-ads as the site declares it, necessary", code, out)
	}
	bad := writeFile(t, "bad.yaml", "upstream: http://127.0.0.1:3000\nsites:\n  - name: www\n    hosts: [www.example.com]\n    colour: blue\n")
	code, _, stderr := runCmd(t, "", "check", "--config", bad)
	if code != 1 || !strings.Contains(stderr, "bad.yaml:5") || !strings.Contains(stderr, "colour") {
		t.Errorf("check bad config: exit %d, stderr %q; want exit 1 naming line 5 and the key", code, stderr)
	}
}

func TestRulesMatchAndRewrite(t *testing.T) {
	code, out, _ := runCmd(t, "", "rules", "match", "https://www.google-analytics.com/g/collect", "//connect.facebook.net/en_US/fbevents.js", "code.jquery.com", "example.org")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 {
		t.Fatalf("rules match: exit %d, %q", code, out)
	}
	want := []string{
		`{"input":"https://www.google-analytics.com/g/collect","vendor":"google-analytics","category":"analytics"}`,
		`{"input":"//connect.facebook.net/en_US/fbevents.js","vendor":"meta-pixel","category":"advertising"}`,
		`{"input":"code.jquery.com","vendor":"","category":""}`,
		`{"input":"example.org","vendor":"","category":""}`,
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("rules match line %d = %s, want %s", i, lines[i], want[i])
		}
	}
	page := `<html><head><script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></head><body><p>hi</p><img src="//px.ads.linkedin.com/collect?pid=1"></body></html>`
	code, out, _ = runCmd(t, page, "rewrite", "--deny", "advertising,analytics,social")
	if code != 0 || strings.Contains(out, "googletagmanager") || strings.Contains(out, "px.ads.linkedin.com") || !strings.Contains(out, "<p>hi</p>") || !strings.Contains(out, "gtag") {
		t.Errorf("rewrite: exit %d:\n%s", code, out)
	}
	code, out, _ = runCmd(t, page, "rewrite", "--guard", "--deny", "advertising,analytics,social")
	if code != 0 || strings.Contains(out, "googletagmanager") || !strings.Contains(out, "<p>hi</p>") ||
		!strings.Contains(out, `<html><head><script src="/.consentgate/guard/`) {
		t.Errorf("rewrite --guard: exit %d:\n%s", code, out)
	}
	code, out, _ = runCmd(t, page, "rewrite", "--deny", "")
	if code != 0 || out != page {
		t.Errorf("rewrite with nothing denied changed the page: exit %d:\n%s", code, out)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs serve with the given flags until the test ends and
// returns the bound public and admin addresses.
func startServe(t *testing.T, args ...string) (string, string) {
	t.Helper()
	pub, adm, _ := serveUntil(t, args...)
	return pub, adm
}

func startDemoSite(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: demo.Handler}
	go s.Serve(ln)                                 //nolint:errcheck
	t.Cleanup(func() { s.Shutdown(); ln.Close() }) //nolint:errcheck // ln: Serve may not have taken it yet
	return "http://" + ln.Addr().String()
}

func httpGet(t *testing.T, url string, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSettingsPrecedence: a flag wins over the environment, which wins over
// the config file, which wins over the default.
func TestSettingsPrecedence(t *testing.T) {
	site := startDemoSite(t)
	fileListen, envListen, flagListen := freeAddr(t), freeAddr(t), freeAddr(t)
	fileAdmin := freeAddr(t)
	cfg := writeFile(t, "c.yaml", fmt.Sprintf("listen: %s\nadmin: %s\nupstream: %s\n", fileListen, fileAdmin, site))

	pub, adm := startServe(t, "--config", cfg)
	if pub != fileListen || adm != fileAdmin {
		t.Errorf("config file: listening on %s/%s, want %s/%s", pub, adm, fileListen, fileAdmin)
	}
	t.Setenv("CONSENTGATE_LISTEN", envListen)
	t.Setenv("CONSENTGATE_ADMIN", freeAddr(t))
	pub, _ = startServe(t, "--config", cfg)
	if pub != envListen {
		t.Errorf("environment: listening on %s, want %s", pub, envListen)
	}
	pub, _ = startServe(t, "--config", cfg, "--listen", flagListen, "--admin", freeAddr(t))
	if pub != flagListen {
		t.Errorf("flag: listening on %s, want %s", pub, flagListen)
	}
	// The environment can give the upstream too, with no config file.
	t.Setenv("CONSENTGATE_UPSTREAM", site)
	t.Setenv("CONSENTGATE_LISTEN", freeAddr(t))
	t.Setenv("CONSENTGATE_ADMIN", freeAddr(t))
	pub, _ = startServe(t)
	if code, body := httpGet(t, "http://"+pub+"/pricing"); code != 200 || !strings.Contains(body, "Pricing") {
		t.Errorf("serve with CONSENTGATE_UPSTREAM: %d", code)
	}
}

// TestReloadOnSIGHUP: a changed config is swapped in on SIGHUP; a broken one
// is refused, the last good rules stay in use and readiness holds.
func TestReloadOnSIGHUP(t *testing.T) {
	site := startDemoSite(t)
	cfgPath := filepath.Join(t.TempDir(), "c.yaml")
	write := func(s string) {
		if err := os.WriteFile(cfgPath, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("upstream: " + site + "\nsites:\n  - name: www\n    hosts: ['*']\n    deny: [advertising]\n")
	pub, adm := startServe(t, "--config", cfgPath, "--listen", freeAddr(t), "--admin", freeAddr(t))
	version := func() string {
		_, b := httpGet(t, "http://"+adm+"/rules")
		var r struct{ Version string }
		json.Unmarshal([]byte(b), &r) //nolint:errcheck
		return r.Version
	}
	hasHotjar := func() bool {
		_, body := httpGet(t, "http://"+pub+"/", "Sec-GPC: 1")
		return strings.Contains(body, "hotjar")
	}
	v1 := version()
	if !hasHotjar() {
		t.Fatal("with deny: [advertising], analytics (Hotjar) must stay")
	}
	sighupUntil := func(cond func() bool) bool {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			syscall.Kill(os.Getpid(), syscall.SIGHUP) //nolint:errcheck
			time.Sleep(50 * time.Millisecond)
			if cond() {
				return true
			}
		}
		return false
	}
	write("upstream: " + site + "\nsites:\n  - name: www\n    hosts: ['*']\n    deny: [advertising, analytics]\n")
	if !sighupUntil(func() bool { return version() != v1 }) {
		t.Fatal("SIGHUP did not reload the changed config")
	}
	if hasHotjar() {
		t.Error("after reload with analytics denied, Hotjar is still served")
	}
	v2 := version()
	write("upstream: " + site + "\nsites:\n  - name: www\n    hosts: ['*']\n    deny: [nonsense]\n")
	_, metricsBefore := httpGet(t, "http://"+adm+"/metrics")
	if !sighupUntil(func() bool {
		_, m := httpGet(t, "http://"+adm+"/metrics")
		return m != metricsBefore && strings.Contains(m, `consentgate_rules_reloads_total{result="failure"} `) &&
			!strings.Contains(m, `consentgate_rules_reloads_total{result="failure"} 0`)
	}) {
		t.Fatal("a bad config was not counted as a failed reload")
	}
	if v := version(); v != v2 {
		t.Errorf("bad config replaced the rules: version %s, want %s", v, v2)
	}
	if code, _ := httpGet(t, "http://"+adm+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d after a bad reload, want 200", code)
	}
	if hasHotjar() {
		t.Error("after a bad reload the last good rules are not enforced")
	}
}

// TestReloadByWatchAndURL: a watched file and a polled URL (with ETag) are
// reloaded without a signal.
func TestReloadByWatchAndURL(t *testing.T) {
	site := startDemoSite(t)
	cfg := func(deny string) string {
		return "upstream: " + site + "\nsites:\n  - name: www\n    hosts: ['*']\n    deny: [" + deny + "]\n"
	}
	versionOf := func(adm string) string {
		_, b := httpGet(t, "http://"+adm+"/rules")
		var r struct{ Version string }
		json.Unmarshal([]byte(b), &r) //nolint:errcheck
		return r.Version
	}
	waitChange := func(adm, old string) bool {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if v := versionOf(adm); v != "" && v != old {
				return true
			}
		}
		return false
	}

	path := writeFile(t, "c.yaml", cfg("advertising"))
	_, adm := startServe(t, "--config", path, "--watch", "50ms", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	v1 := versionOf(adm)
	if err := os.WriteFile(path, []byte(cfg("advertising, analytics")), 0o644); err != nil {
		t.Fatal(err)
	}
	if !waitChange(adm, v1) {
		t.Error("--watch did not reload the changed file")
	}

	var body atomicString
	body.Store(cfg("advertising"))
	var conditional int
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := body.Load()
		etag := fmt.Sprintf(`"%x"`, len(b))
		if r.Header.Get("If-None-Match") == etag {
			conditional++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		io.WriteString(w, b) //nolint:errcheck
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })
	_, adm = startServe(t, "--config-url", "http://"+ln.Addr().String()+"/consentgate.yaml", "--watch", "50ms", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	v1 = versionOf(adm)
	body.Store(cfg("advertising, analytics, social"))
	if !waitChange(adm, v1) {
		t.Error("--config-url did not reload the changed document")
	}
}

type atomicString struct{ v atomic.Value }

func (a *atomicString) Store(s string) { a.v.Store(s) }
func (a *atomicString) Load() string   { return a.v.Load().(string) }

func TestRulesList(t *testing.T) {
	code, out, _ := runCmd(t, "", "rules", "list", "--json")
	var vendors []struct {
		ID, Category, Source string
		Hosts                []string
	}
	if err := json.Unmarshal([]byte(out), &vendors); code != 0 || err != nil {
		t.Fatalf("rules list --json: exit %d, %v", code, err)
	}
	if len(vendors) < 150 {
		t.Errorf("catalogue has %d vendors, want at least 150", len(vendors))
	}
	for _, v := range vendors {
		if v.ID == "" || v.Category == "" || v.Source == "" {
			t.Errorf("vendor %+v lacks id, category or source", v)
		}
	}
}

// TestRulesMatchAdStackHosts: hosts of real news pages' ad stacks that the
// catalogue learned from docs/catalogue-coverage.md.
func TestRulesMatchAdStackHosts(t *testing.T) {
	code, out, stderr := runCmd(t, "", "rules", "match", "https://cdn.krxd.net/controltag/x.js", "//beacon.krxd.net/pixel.gif", "cdn.bizible.com", "https://s0.2mdn.net/ads/x.js", "s.skimresources.com", "cdnssl.clicktale.net", "players.brightcove.net")
	want := `{"input":"https://cdn.krxd.net/controltag/x.js","vendor":"salesforce-dmp","category":"advertising"}
{"input":"//beacon.krxd.net/pixel.gif","vendor":"salesforce-dmp","category":"advertising"}
{"input":"cdn.bizible.com","vendor":"marketo-measure","category":"advertising"}
{"input":"https://s0.2mdn.net/ads/x.js","vendor":"google-ads","category":"advertising"}
{"input":"s.skimresources.com","vendor":"skimlinks","category":"advertising"}
{"input":"cdnssl.clicktale.net","vendor":"contentsquare","category":"analytics"}
{"input":"players.brightcove.net","vendor":"brightcove","category":"functional"}
`
	if code != 0 || out != want {
		t.Errorf("rules match: exit %d, stderr %q\n got:\n%s\nwant:\n%s", code, stderr, out, want)
	}
}
