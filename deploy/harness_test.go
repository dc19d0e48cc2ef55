package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy/proxytest"
	"github.com/consentgate/consentgate/proxy/registry/registrytest"
)

// repoRoot is the module root, seen from this package's directory.
const repoRoot = ".."

// testVersion is stamped into the test binary the way the Dockerfile stamps
// a release, so the tests also prove the -X symbol exists.
const (
	versionSymbol = "github.com/consentgate/consentgate/proxy.Version"
	testVersion   = "v0.0.0-deploytest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// consentgateBin builds ./cmd/consentgate once per test run and returns its path.
func consentgateBin(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			binErr = fmt.Errorf("go not in PATH: %w", err)
			return
		}
		if binDir, binErr = os.MkdirTemp("", "consentgate-deploy-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "consentgate")
		// Same build settings as go test (no -trimpath, cgo as configured)
		// so the build cache is shared and only the link step runs; the
		// -X stamp is the Dockerfile's.
		build := func() ([]byte, error) {
			cmd := exec.Command(goTool, "build",
				"-ldflags", "-X "+versionSymbol+"="+testVersion,
				"-o", binPath, "./cmd/consentgate")
			cmd.Dir = repoRoot
			return cmd.CombinedOutput()
		}
		out, err := build()
		if err != nil {
			// A build cache shared with concurrent builds can fail once
			// transiently; a real compile error fails again.
			out, err = build()
		}
		if err != nil {
			binErr = fmt.Errorf("go build ./cmd/consentgate: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// needTool returns the path of an external tool. A missing tool skips the
// test, except in CI (CI=true), where every tool must be installed.
func needTool(t testing.TB, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s is not installed; %s", name, hint)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

const promHint = "install it with: apt-get install -y prometheus (.ci/run does)"

// trackerPage is the upstream's HTML: trackers from several catalogue
// vendors and categories, plus content that must survive.
const trackerPage = `<!doctype html>
<html><head><title>Northwind</title>
<link rel="preconnect" href="https://www.googletagmanager.com">
<script async src="https://www.googletagmanager.com/gtag/js?id=G-TEST"></script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());gtag('config','G-TEST');</script>
<script src="https://connect.facebook.net/en_US/fbevents.js"></script>
<script src="/app.js"></script>
</head><body><h1>Pricing</h1>
<img src="https://www.facebook.com/tr?id=1&ev=PageView" width="1" height="1">
<iframe src="https://www.youtube.com/embed/abc123"></iframe>
<script src="https://snap.licdn.com/li.lms-analytics/insight.min.js"></script>
<p>Content stays.</p>
</body></html>
`

// upstream starts the site behind the proxy: every path serves trackerPage
// with tracking and non-tracking cookies, except /odd, an HTML body in an
// encoding the proxy cannot read (the fail-closed case).
func upstream(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/odd" {
			w.Header().Set("Content-Encoding", "compress")
			w.Write([]byte("\x1f\x9d not really compressed")) //nolint:errcheck
			return
		}
		w.Header().Add("Set-Cookie", "_ga=GA1.1.123.456; Path=/; Max-Age=63072000")
		w.Header().Add("Set-Cookie", "session=s3cr3t; Path=/; HttpOnly")
		io.WriteString(w, trackerPage) //nolint:errcheck
	}))
	t.Cleanup(srv.Close)
	return srv
}

// closedPort returns a loopback address nothing listens on (a free port).
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// stackConfig is the config of the proxy under test: www and blog in front
// of the upstream, down in front of a closed port.
func stackConfig(upstreamURL, downAddr string) string {
	return fmt.Sprintf(`upstream: %s
upstream_timeout: 5s
sites:
  - name: www
    hosts: [www.example.test, example.test]
  - name: blog
    hosts: ["*.blog.example.test", blog.example.test]
    dnt: true
  - name: down
    hosts: [down.example.test]
    upstream: http://%s
  - name: shop
    hosts: [shop.example.test]
    canary:
      paths: [/]
`, upstreamURL, downAddr)
}

// stack is a running consentgate in front of an in-process upstream.
type stack struct {
	public, admin string // host:port on 127.0.0.1
	client        *http.Client
	log           *proxytest.Buffer
}

// startStack runs consentgate serve with stackConfig on loopback ports it
// picks itself, and waits until /readyz answers 200.
func startStack(t testing.TB) *stack {
	t.Helper()
	bin := consentgateBin(t)
	up := upstream(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "consentgate.yaml")
	if err := os.WriteFile(cfg, []byte(stackConfig(up.URL, closedPort(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	// The public port is picked by the kernel; serve refuses the same
	// --admin string as --listen, so the admin port is chosen here.
	// The shared opt-out registry, with the account cookie uid: the
	// dashboard charts its metrics too.
	reg := registrytest.Start(t)
	cmd := exec.Command(bin, "serve", "--config", cfg, "--receipts", filepath.Join(dir, "receipts"),
		"--listen", "127.0.0.1:0", "--admin", closedPort(t), "--log-format", "json", "--log-level", "info",
		"--registry", reg.URL(), "--account-cookie", "uid")
	cmd.Env = append(cleanEnv(), "CONSENTGATE_ACCOUNT_SECRET=deploy-test-secret-0123456789")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &stack{log: &proxytest.Buffer{Max: 1 << 20}} // the first MiB, for failure messages
	done := make(chan struct{})
	t.Cleanup(func() { stopProcess(t, cmd, done) })

	type serving struct {
		Msg    string `json:"msg"`
		Listen string `json:"listen"`
		Admin  string `json:"admin"`
	}
	addrs := make(chan serving, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Bytes()
			s.log.Write(append(append([]byte(nil), line...), '\n')) //nolint:errcheck
			var m serving
			if !sent && json.Unmarshal(line, &m) == nil && m.Msg == "consentgate serving" {
				addrs <- m
				sent = true
			}
		}
		io.Copy(io.Discard, stderr) //nolint:errcheck
	}()
	select {
	case m := <-addrs:
		s.public, s.admin = m.Listen, m.Admin
	case <-done:
		t.Fatalf("consentgate exited before serving:\n%s", s.log)
	case <-time.After(15 * time.Second):
		t.Fatalf("consentgate did not report its addresses within 15s:\n%s", s.log)
	}
	s.client = &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: 16, MaxIdleConnsPerHost: 16, DisableCompression: true,
			IdleConnTimeout: 30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(s.client.CloseIdleConnections)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := s.client.Get("http://" + s.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("consentgate /readyz not 200 within 10s (last error %v):\n%s", err, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The canary of shop checks its page once at start (then every 5
	// minutes); its series exist from then on.
	for !strings.Contains(s.scrape(t), `consentgate_canary_leaking{site="shop"} 0`) {
		if time.Now().After(deadline) {
			t.Fatalf("the canary of site shop did not pass within 10s:\n%s", s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// cleanEnv is the environment without CONSENTGATE_* variables, so the
// developer's settings do not leak into the process under test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONSENTGATE_") {
			env = append(env, kv)
		}
	}
	return env
}

// stopProcess sends SIGTERM, waits up to 10s, then kills.
func stopProcess(t testing.TB, cmd *exec.Cmd, outputDone <-chan struct{}) {
	if cmd.Process == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	exited := make(chan struct{})
	go func() {
		if outputDone != nil {
			<-outputDone // Wait closes the pipe; read it to the end first
		}
		cmd.Wait() //nolint:errcheck
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Logf("%s did not stop on SIGTERM within 10s; killing it", filepath.Base(cmd.Path))
		cmd.Process.Kill() //nolint:errcheck
		<-exited
	}
}

// get sends one request through the proxy with the given Host and headers
// and returns the status and body.
func (s *stack) get(t testing.TB, host, path string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+s.public+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", host, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s%s: reading body: %v", host, path, err)
	}
	return resp.StatusCode, string(body)
}

// exercise sends one request down every path that creates a metric series:
// opted out and not, every site, built-in paths, an unknown host, a refused
// upstream, an undecodable body, tracking cookies both ways.
func (s *stack) exercise(t testing.TB) {
	t.Helper()
	const www = "www.example.test"
	if code, body := s.get(t, www, "/", "Sec-GPC: 1", "Cookie: _ga=GA1.1.1.1; _fbp=fb.1.1.1; session=x"); code != 200 || strings.Contains(body, "googletagmanager.com/gtag") || !strings.Contains(body, "Content stays.") {
		t.Fatalf("opted-out page: status %d, trackers not removed or content lost:\n%s", code, body)
	}
	if code, body := s.get(t, www, "/"); code != 200 || !strings.Contains(body, "googletagmanager.com/gtag") {
		t.Fatalf("not-opted-out page: status %d, want the page unchanged:\n%s", code, body)
	}
	type check struct {
		host, path string
		hdr        []string
		want       int
	}
	checks := []check{
		{www, "/.consentgate/optout", []string{"Cookie: uid=deploy-alice"}, 200}, // the confirmation page
		{www, "/", []string{"Cookie: uid=deploy-alice"}, 200},                    // opted out by the registry
		{www, "/", []string{"Cookie: uid=deploy-bob"}, 200},
		{www, "/.well-known/gpc.json", nil, 200},
		{www, "/pricing", []string{"Cookie: usprivacy=not-a-usp-string"}, 200},
		{"news.blog.example.test", "/post", []string{"DNT: 1"}, 200},
		{"unknown.example.invalid", "/", nil, http.StatusMisdirectedRequest},
		{"down.example.test", "/", nil, http.StatusBadGateway},
	}
	// Per site: an opted-out visitor holding tracking cookies, and an
	// opted-out page the proxy cannot decode.
	for _, site := range []struct {
		host string
		code int
	}{{www, 200}, {"blog.example.test", 200}, {"down.example.test", http.StatusBadGateway}} {
		checks = append(checks,
			check{site.host, "/", []string{"Sec-GPC: 1", "Cookie: _ga=GA1.1.1.1; _fbp=fb.1.1.1; session=x"}, site.code},
			check{site.host, "/odd", []string{"Sec-GPC: 1"}, site.code})
	}
	for _, c := range checks {
		if code, _ := s.get(t, c.host, c.path, c.hdr...); code != c.want {
			t.Fatalf("GET %s%s: status %d, want %d\n%s", c.host, c.path, code, c.want, s.log)
		}
	}
}

// scrape returns the admin /metrics body in the Prometheus text format.
func (s *stack) scrape(t testing.TB) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.admin+"/metrics", nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return string(body)
}

// seriesOf returns the series (name and labels, without the value) of an
// exposition whose name starts with prefix.
func seriesOf(exposition, prefix string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(exposition, "\n") {
		if line == "" || strings.HasPrefix(line, "#") || !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		out[line[:i]] = true
	}
	return out
}

// metricNames returns every sample name in an exposition, plus the family
// name of each histogram and summary.
func metricNames(exposition string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(exposition, "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true
			if f[3] == "histogram" || f[3] == "summary" {
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					names[f[2]+suf] = true
				}
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}

// sortedKeys is for stable messages.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// runTool runs a tool with a deadline and returns its combined output.
func runTool(t testing.TB, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
