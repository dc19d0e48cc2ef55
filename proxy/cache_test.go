package proxy_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// tool returns the path of an installed program, or skips the test on a
// developer machine without it; in CI (CI=true) a missing tool fails.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; .ci/run installs it", name)
		}
		t.Skipf("%s is not installed (apt-get install %s)", name, name)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitPort(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

// startNginxCache runs nginx as a shared cache (proxy_cache, honouring the
// response's Cache-Control and Vary as shipped) in front of backend.
func startNginxCache(t *testing.T, backend string) string {
	bin := tool(t, "nginx")
	dir := t.TempDir()
	port := freePort(t)
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  proxy_cache_path %[1]s/cache keys_zone=c:1m;
  server {
    listen 127.0.0.1:%[2]d;
    location / {
      proxy_pass http://%[3]s;
      proxy_set_header Host $http_host;
      proxy_http_version 1.1;
      proxy_cache c;
      add_header X-Cache $upstream_cache_status always;
    }
  }
}
`, dir, port, backend)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "nginx.conf"), "-p", dir, "-e", filepath.Join(dir, "error.log"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitPort(t, addr)
	return addr
}

// startVarnish runs varnishd with its built-in VCL in front of backend.
func startVarnish(t *testing.T, backend string) string {
	bin := tool(t, "varnishd")
	dir := t.TempDir()
	os.Chmod(dir, 0o755) //nolint:errcheck // varnishd's workers drop privileges
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "-F", "-a", addr, "-b", backend, "-n", dir, "-s", "malloc,16m",
		"-p", "default_ttl=60", "-p", "thread_pools=1", "-p", "thread_pool_min=5")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	waitPort(t, addr)
	return addr
}

// visitor is one kind of visitor the cache must keep apart.
type visitor struct {
	name    string
	headers []string
	tracker bool // whether the page keeps its tracker for this visitor
}

// TestSharedCacheKeepsVariantsApart: with a shared cache in front, no
// visitor ever gets another's variant of a page the proxy changes (or would
// change) for one of them. Every pair of visitors, in both orders, on every
// page; the control is that the cache does serve hits, or the test would
// prove nothing.
func TestSharedCacheKeepsVariantsApart(t *testing.T) {
	page := `<!DOCTYPE html><html><head><script src="https://www.googletagmanager.com/gtm.js?id=GTM-1"></script></head><body><p>hello</p></body></html>`
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "public, max-age=300")
		switch {
		case strings.HasPrefix(string(ctx.Path()), "/typed"):
			ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		case strings.HasPrefix(string(ctx.Path()), "/vary"):
			ctx.Response.Header.SetContentType("text/html")
			ctx.Response.Header.Set("Vary", "Accept-Encoding")
		}
		ctx.SetBodyString(page)
	})
	cfg := `sites:
  - name: www
    hosts: ['*']
    dnt: true
    region: {country_header: CF-IPCountry}
`
	g := startGate(t, "http://"+up.addr, cfg)
	backend := strings.TrimPrefix(g.url, "http://")
	visitors := []visitor{
		{"plain", nil, true},
		{"gpc", []string{"Sec-GPC: 1"}, false},
		{"optout cookie", []string{"Cookie: consentgate_optout=1"}, false},
		{"dnt", []string{"DNT: 1"}, false},
		{"opt-in region", []string{"CF-IPCountry: DE"}, false},
		{"usp cookie", []string{"Cookie: usprivacy=1YYN"}, false},
		{"cmp denies", []string{"Cookie: OptanonConsent=groups=C0001%3A1%2CC0002%3A0%2CC0004%3A0"}, false},
		{"region with consent", []string{"CF-IPCountry: DE", "Cookie: OptanonConsent=groups=C0001%3A1%2CC0002%3A1%2CC0003%3A1%2CC0004%3A1%2CC0005%3A1"}, true},
	}
	for _, cache := range []struct {
		name  string
		start func(*testing.T, string) string
	}{{"nginx", startNginxCache}, {"varnish", startVarnish}} {
		t.Run(cache.name, func(t *testing.T) {
			front := "http://" + cache.start(t, backend)
			hits, n := 0, 0
			for _, path := range []string{"/typed", "/untyped", "/vary"} {
				for i, a := range visitors {
					for j, b := range visitors {
						if i == j {
							continue
						}
						n++
						url := fmt.Sprintf("%s%s/%d-%d", front, path, i, j)
						for k, v := range []visitor{a, b, a} {
							resp, body := get(t, url, v.headers...)
							if resp.StatusCode != 200 {
								t.Fatalf("%s: status %d", url, resp.StatusCode)
							}
							if got := strings.Contains(string(body), "googletagmanager"); got != v.tracker {
								t.Errorf("%s %s: visitor %q (request %d, after %q) got tracker = %v, want %v (X-Cache %s, Vary %q, Cache-Control %q)",
									cache.name, url, v.name, k, a.name, got, v.tracker, resp.Header.Get("X-Cache")+resp.Header.Get("X-Varnish"),
									resp.Header.Get("Vary"), resp.Header.Get("Cache-Control"))
							}
							// nginx says HIT; Varnish names two transactions on a hit.
							if k == 2 && (resp.Header.Get("X-Cache") == "HIT" || strings.Contains(resp.Header.Get("X-Varnish"), " ")) {
								hits++
							}
						}
					}
				}
			}
			if hits == 0 {
				t.Errorf("%s served no hit in %d sequences: the test cannot tell a safe proxy from a cache that stores nothing", cache.name, n)
			}
			t.Logf("%s: %d sequences of 3 requests, %d repeat visits served from the cache", cache.name, n, hits)
		})
	}
}
