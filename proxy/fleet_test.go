package proxy_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/proxy/registry"
	"github.com/consentgate/consentgate/proxy/registry/registrytest"
	"github.com/consentgate/consentgate/rules"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// needNginx returns the nginx binary; missing, it skips on a developer's
// machine and fails in CI, where .ci/run installs it.
func needNginx(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "nginx is not installed; apt-get install -y nginx (.ci/run does)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// startBalancer runs nginx on loopback as a round-robin load balancer in
// front of the backends, one request per upstream connection so each
// request is balanced on its own.
func startBalancer(t testing.TB, backends []string) string {
	t.Helper()
	bin := needNginx(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755) //nolint:errcheck // nginx workers run unprivileged when started as root
	for _, d := range []string{"tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var servers strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&servers, "    server %s;\n", strings.TrimPrefix(b, "http://"))
	}
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp/body;
  proxy_temp_path %[1]s/tmp/proxy;
  fastcgi_temp_path %[1]s/tmp/fastcgi;
  uwsgi_temp_path %[1]s/tmp/uwsgi;
  scgi_temp_path %[1]s/tmp/scgi;
  upstream consentgate {
%[2]s  }
  server {
    listen %[3]s;
    location / {
      proxy_pass http://consentgate;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_next_upstream off;
    }
  }
}
`, dir, servers.String(), addr)
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", file)
	// Its own process group: the worker is killed with the master.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck
		cmd.Wait()                                      //nolint:errcheck
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not listen on %s:\n%s", addr, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replica is one consentgate of the fleet with its own registry client.
type replica struct {
	g   *gate
	r   *registry.Registry
	reg *prometheus.Registry
}

func (rp replica) served() float64 {
	n := 0.0
	for _, d := range []string{"opted_out", "not_opted_out", "builtin"} {
		n += testutil.ToFloat64(rp.g.metrics.Requests.WithLabelValues("default", d))
	}
	return n
}

func (rp replica) invalidations() float64 {
	return rp.gathered("consentgate_registry_invalidations_total", "")
}

// sets is how many opt-outs this replica wrote to the registry.
func (rp replica) sets() float64 {
	return rp.gathered("consentgate_registry_requests_total", "set")
}

// gathered is the sum of the series of name whose op label is op (every
// series when op is "").
func (rp replica) gathered(name, op string) float64 {
	mfs, _ := rp.reg.Gather()
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if op == "" || slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == "op" && l.GetValue() == op }) {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// TestFleetAgrees runs three replicas behind one nginx round-robin balancer,
// sharing one redis-server, and checks that every replica decides the same
// for one account: before its opt-out, right after it was made through one
// replica, and after the opt-in.
//
// The propagation bound: a replica enforces an opt-out made through another
// on every request it reads after the registry's invalidation message for
// the account reached it (consentgate_registry_invalidations_total moves;
// on loopback, before the visitor's next request arrives). Were the message
// lost, registry.negative_ttl bounds it; here that is an hour, so only the
// message can explain a replica that changes its mind.
func TestFleetAgrees(t *testing.T) {
	srv := registrytest.Start(t)
	up := demoUpstream(t)
	var fleet []replica
	var backends []string
	for i := 0; i < 3; i++ {
		r, reg := startRegistry(t, srv, func(o *registry.Options) { o.NegativeTTL = time.Hour })
		g := startGate(t, "http://"+up.addr, accountConfig, func(o *proxy.Options) { o.Registry = r })
		fleet = append(fleet, replica{g, r, reg})
		backends = append(backends, g.url)
	}
	lb := startBalancer(t, backends)

	// decide sends n requests for the account through the balancer and
	// returns how many were enforced.
	decide := func(n int, hdr ...string) (enforced int) {
		t.Helper()
		for i := 0; i < n; i++ {
			resp, body := get(t, lb+"/", hdr...)
			if resp.StatusCode != 200 {
				t.Fatalf("through the balancer: status %d", resp.StatusCode)
			}
			if len(leaks(fleet[0].g.set, rules.DefaultDeny, resp, body)) == 0 {
				enforced++
			}
		}
		return enforced
	}
	before := make([]float64, len(fleet))
	for i, rp := range fleet {
		before[i] = rp.served()
	}
	// Every replica caches "no opt-out" for alice.
	if n := decide(9, "Cookie: uid=alice"); n != 0 {
		t.Fatalf("before the opt-out, %d of 9 requests for alice were enforced", n)
	}
	for i, rp := range fleet {
		if rp.served()-before[i] != 3 {
			t.Fatalf("replica %d served %v of 9 requests: the balancer is not round robin", i, rp.served()-before[i])
		}
	}

	inv := make([]float64, len(fleet))
	sets := make([]float64, len(fleet))
	for i, rp := range fleet {
		inv[i], sets[i] = rp.invalidations(), rp.sets()
	}
	resp, _ := get(t, lb+"/.consentgate/optout", "Cookie: uid=alice")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("opt-out through the balancer: %d", resp.StatusCode)
	}
	start := time.Now()
	for i, rp := range fleet {
		if rp.sets() != sets[i] {
			continue // the replica that wrote it: the server does not echo its own writes (NOLOOP)
		}
		for rp.invalidations() == inv[i] {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("replica %d never heard of the opt-out", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	t.Logf("every replica heard of the opt-out %v after its response", time.Since(start))
	// Device B, through whichever replicas the balancer picks.
	if n := decide(12, "Cookie: uid=alice"); n != 12 {
		t.Errorf("right after the opt-out, %d of 12 requests for alice were enforced, want all", n)
	}
	if n := decide(6, "Cookie: uid=bob"); n != 0 {
		t.Errorf("%d of 6 requests for bob were enforced", n)
	}

	// The opt-in: a replica believes it once the registry confirms it,
	// which it asks on the first request after the invalidation.
	req, _ := http.NewRequest(http.MethodPost, lb+"/.consentgate/optin", nil)
	req.Header.Set("Cookie", "uid=alice")
	req.Header.Set("Origin", lb)
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("opt-in: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for decide(3, "Cookie: uid=alice") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the opt-in did not reach every replica within 10s")
		}
	}
	if n := decide(9, "Cookie: uid=alice"); n != 0 {
		t.Errorf("after the opt-in settled, %d of 9 requests for alice were enforced", n)
	}
}
