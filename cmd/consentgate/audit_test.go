package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy/receipt"
)

// serveUntil runs serve with args and returns its public and admin
// addresses and a function that stops it (as SIGTERM would) and waits.
func serveUntil(t *testing.T, args ...string) (string, string, func()) {
	t.Helper()
	f, err := parseServe(args, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	type addrs struct{ pub, adm string }
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, f, io.Discard, serveHooks{ready: func(p, a string) { ready <- addrs{p, a} }})
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop within 30s of its context's end")
		}
	}
	t.Cleanup(stop)
	select {
	case a := <-ready:
		return a.pub, a.adm, stop
	case err := <-done:
		stopped = true
		t.Fatalf("serve failed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	return "", "", stop
}

// TestServeReceiptsThenAudit runs serve with --receipts and a canary in
// front of the demo site, sends opted-out and other traffic, stops it, and
// runs every audit command on what it wrote, then on a tampered copy.
func TestServeReceiptsThenAudit(t *testing.T) {
	site := startDemoSite(t)
	dir := t.TempDir()
	receipts := filepath.Join(dir, "receipts")
	declared := writeFile(t, "cookies.csv", "name,category,duration\nGoogle Analytics,Analytics,2 years\nnw_session,Essential,session\nMeta Pixel,Essential,90 days\n")
	cfg := writeFile(t, "c.yaml", fmt.Sprintf(`upstream: %s
receipts:
  flush_interval: 100ms
sites:
  - name: www
    hosts: [www.example.test, "*"]
    decision_header: true
    declared_cookies: %s
    canary:
      paths: [/, /pricing]
`, site, declared))
	pub, adm, stop := serveUntil(t, "--config", cfg, "--listen", freeAddr(t), "--admin", freeAddr(t), "--receipts", receipts)
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	get := func(path string, headers ...string) *http.Response {
		req, _ := http.NewRequest("GET", "http://"+pub+path, nil)
		req.Host = "www.example.test"
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Set(k, strings.TrimSpace(v))
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	const optedOut = 5
	for range optedOut {
		if r := get("/", "Sec-GPC: 1"); !strings.HasPrefix(r.Header.Get("Consentgate-Decision"), "opted_out=?1, sources=(gpc)") {
			t.Errorf("Consentgate-Decision = %q", r.Header.Get("Consentgate-Decision"))
		}
	}
	get("/pricing", "Cookie: consentgate_optout=1; _ga=GA1.1.1.1")
	get("/product")
	get("/assets/app.js")
	// The canary ran at start; wait until it is counted.
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, metrics := httpGet(t, "http://"+adm+"/metrics")
		if strings.Contains(metrics, `consentgate_canary_checks_total{result="pass",site="www"} 2`) {
			if !strings.Contains(metrics, "consentgate_receipts_written_total") {
				t.Error("no consentgate_receipts_written_total on /metrics")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the canary did not pass both pages within 10s:\n%s", grepLines(metrics, "consentgate_canary"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()

	code, out, stderr := runCmd(t, "", "audit", "verify", receipts)
	if code != 0 || !strings.Contains(out, "chain intact") || !strings.Contains(out, "from the first record") {
		t.Fatalf("audit verify: exit %d\n%s%s", code, out, stderr)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	code, out, stderr = runCmd(t, "", "audit", "report", "--from", today, "--to", today, "--format", "json", receipts)
	if code != 0 {
		t.Fatalf("audit report: exit %d: %s", code, stderr)
	}
	var rep struct {
		Chain struct{ OK bool }
		Sites []struct {
			Site  string
			Total struct {
				Responses, Pages int
				BySource         map[string]int `json:"by_source"`
				Canary           map[string]int
				Requests         receipt.TallyCounts
			}
		}
		Delivered []any
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("audit report --format json: %v\n%s", err, out)
	}
	if len(rep.Sites) != 1 || !rep.Chain.OK || len(rep.Delivered) != 0 {
		t.Fatalf("report: %+v", rep)
	}
	tot := rep.Sites[0].Total
	// The canary's own requests are not visitors: 5 GPC pages, 1 cookie page.
	if tot.Pages != optedOut+1 || tot.Responses != optedOut+1 || tot.BySource["gpc"] != optedOut || tot.BySource["optout_cookie"] != 1 ||
		tot.Canary["pass"] != 2 || tot.Requests.OptedOut < optedOut+1 || tot.Requests.NotOptedOut < 2 {
		t.Errorf("report totals %+v", tot)
	}
	html := filepath.Join(dir, "report.html")
	if code, _, stderr := runCmd(t, "", "audit", "report", "--from", today, "--to", today, "--format", "html", "-o", html, receipts); code != 0 {
		t.Errorf("audit report --format html: exit %d: %s", code, stderr)
	} else if b, _ := os.ReadFile(html); !strings.Contains(string(b), "<svg") {
		t.Error("the HTML report has no chart")
	}
	code, out, stderr = runCmd(t, "", "audit", "policy", "--config", cfg, "--receipts", receipts)
	_, seen, _ := strings.Cut(out, "## Cookies the upstream set")
	// _ga is Google Analytics', _fbp the Meta pixel's, both declared;
	// nw_session is declared by name.
	if code != 0 || !strings.Contains(out, "| Meta Pixel | Essential (necessary) | meta-pixel | advertising |") ||
		!strings.Contains(seen, "| _gcl_au | ") || !strings.Contains(seen, "| nw_cart | ") ||
		strings.Contains(seen, "| _fbp |") || strings.Contains(seen, "| _ga |") || strings.Contains(seen, "| nw_session |") {
		t.Errorf("audit policy: exit %d\n%s%s", code, out, stderr)
	}

	// Tamper: delete the third record.
	files, _ := receipt.Files(receipts)
	data, _ := os.ReadFile(files[0])
	lines := strings.SplitAfter(string(data), "\n")
	os.WriteFile(files[0], []byte(strings.Join(append(lines[:2:2], lines[3:]...), "")), 0o640)
	code, out, _ = runCmd(t, "", append([]string{"audit", "verify"}, files...)...)
	if code != 1 || !strings.Contains(out, filepath.Base(files[0])+":3: deleted: record 3 is missing") || !strings.Contains(out, "BROKEN") {
		t.Errorf("audit verify of a chain with a deleted record: exit %d\n%s", code, out)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestAuditUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"audit"}, 2},
		{[]string{"audit", "frob"}, 2},
		{[]string{"audit", "verify"}, 2},
		{[]string{"audit", "verify", "/nonexistent/receipts"}, 1},
		{[]string{"audit", "report", "--from", "2026-03-01", "x"}, 2},
		{[]string{"audit", "report", "--from", "March", "--to", "2026-03-01", "x"}, 2},
		{[]string{"audit", "report", "--from", "2026-03-01", "--to", "2026-03-01", "--format", "pdf", "x"}, 2},
		{[]string{"audit", "policy"}, 2},
		{[]string{"audit", "policy", "--declared", "/nonexistent.csv"}, 1},
		{[]string{"serve", "--receipts-max-size", "12 parsecs", "--receipts", "/tmp/x", "--upstream", "http://127.0.0.1:1"}, 2},
	} {
		if code, _, stderr := runCmd(t, "", c.args...); code != c.code {
			t.Errorf("consentgate %s: exit %d, want %d (stderr %q)", strings.Join(c.args, " "), code, c.code, stderr)
		}
	}
}
