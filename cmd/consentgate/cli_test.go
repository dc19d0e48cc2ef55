package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy/proxytest"
)

// TestCheckAcceptsWhatServeRuns: a config whose sites have no upstream
// runs under serve --upstream (or CONSENTGATE_UPSTREAM), so check accepts
// it given the same, and says what is missing without it.
func TestCheckAcceptsWhatServeRuns(t *testing.T) {
	cfg := writeFile(t, "c.yaml", "sites:\n  - name: www\n    hosts: [www.example.com]\n")
	code, _, stderr := runCmd(t, "", "check", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "--upstream") || !strings.Contains(stderr, "CONSENTGATE_UPSTREAM") {
		t.Errorf("check without an upstream: exit %d, %q; want 1 and a message naming --upstream and CONSENTGATE_UPSTREAM", code, stderr)
	}
	if code, out, stderr := runCmd(t, "", "check", "--config", cfg, "--upstream", "http://127.0.0.1:3000"); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("check --upstream: exit %d, %q %q; want ok", code, out, stderr)
	}
	t.Setenv("CONSENTGATE_UPSTREAM", "http://127.0.0.1:3000")
	if code, out, stderr := runCmd(t, "", "check", "--config", cfg); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("check with CONSENTGATE_UPSTREAM: exit %d, %q %q; want ok", code, out, stderr)
	}
	t.Setenv("CONSENTGATE_UPSTREAM", "127.0.0.1:3000")
	if code, _, stderr := runCmd(t, "", "check", "--config", cfg); code != 2 || !strings.Contains(stderr, "CONSENTGATE_UPSTREAM") {
		t.Errorf("check with a bad CONSENTGATE_UPSTREAM: exit %d, %q; want 2 naming the variable", code, stderr)
	}
}

// TestCheckReportsEveryProblem: unknown keys and wrong types no longer hide
// the problems compiling finds; one run lists them all.
func TestCheckReportsEveryProblem(t *testing.T) {
	path, err := filepath.Abs("../../rules/reload/testdata/bad/parse-and-compile.yaml")
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCmd(t, "", "check", "--config", path)
	for _, want := range []string{":4: upstream_timout", ":8: sites[0].deny[1]", ":9: sites[0].actions.social", ":10: sites[0].allow_vendors[0]",
		":11: sites[0].shadw", ":12: sites[1].name", ":14: sites[1].dnt"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("check: no %q problem in:\n%s", want, stderr)
		}
	}
	if code != 1 {
		t.Errorf("check: exit %d, want 1", code)
	}
}

// TestCheckListenAddresses: the listen and admin addresses of a config
// file are serve's to check, with their lines, in the same run as the
// rules' problems; a reload checks them too.
func TestCheckListenAddresses(t *testing.T) {
	want, err := os.ReadFile("testdata/listen-addresses.err")
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCmd(t, "", "check", "--config", "testdata/listen-addresses.yaml")
	if code != 1 || stderr != string(want) {
		t.Errorf("check: exit %d, stderr:\n%s\nwant exit 1 and:\n%s", code, stderr, want)
	}
}

// TestFlagErrorsNameTheFlag: a bad flag or variable is a usage error (exit
// 2) that names it, not a config problem of "(defaults)".
func TestFlagErrorsNameTheFlag(t *testing.T) {
	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"serve", "--upstream", "127.0.0.1:38001"}, "--upstream"},
		{nil, []string{"serve", "--upstream", "ftp://127.0.0.1/"}, "--upstream"},
		{[]string{"CONSENTGATE_UPSTREAM", "127.0.0.1:38001"}, []string{"serve"}, "CONSENTGATE_UPSTREAM"},
		{nil, []string{"serve", "--upstream", "http://127.0.0.1:1", "--trusted-proxies", "10.0.0.0/99"}, "--trusted-proxies"},
		{nil, []string{"serve", "--upstream", "http://127.0.0.1:1", "--log-level", "loud"}, "--log-level"},
		{[]string{"CONSENTGATE_LOG_FORMAT", "xml"}, []string{"serve", "--upstream", "http://127.0.0.1:1"}, "CONSENTGATE_LOG_FORMAT"},
		{nil, []string{"check", "--config", "x.yaml", "--upstream", "nope"}, "--upstream"},
	} {
		if c.env != nil {
			t.Setenv(c.env[0], c.env[1])
		}
		code, _, stderr := runCmd(t, "", c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "(defaults)") {
			t.Errorf("%v %s: exit %d, %q; want exit 2 naming %s", c.env, strings.Join(c.args, " "), code, stderr, c.want)
		}
		if c.env != nil {
			os.Unsetenv(c.env[0])
		}
	}
}

// TestSyntaxErrorLine: a YAML syntax error is reported on its line (yaml
// counts the line where the enclosing construct starts, from 0).
func TestSyntaxErrorLine(t *testing.T) {
	cfg := writeFile(t, "c.yaml", "upstream: http://127.0.0.1:3000\nsites:\n  - name: www\n    hosts: [www.example.com\n")
	if code, _, stderr := runCmd(t, "", "check", "--config", cfg); code != 1 || !strings.Contains(stderr, "c.yaml:4:") {
		t.Errorf("an unclosed [ on line 4: exit %d, %q; want it on line 4", code, stderr)
	}
}

// TestHelpVersionUsage: -h is asked for, so it goes to stdout with exit 0;
// --version works; rules -h is the rules usage.
func TestHelpVersionUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "-h"}, "-listen"},
		{[]string{"check", "--help"}, "-upstream"},
		{[]string{"explain", "-h"}, "-url"},
		{[]string{"demo", "-h"}, "-site"},
		{[]string{"rules", "-h"}, "rules match"},
		{[]string{"rules", "match", "-h"}, "-site"},
		{[]string{"--version"}, "consentgate "},
		{[]string{"version"}, "consentgate "},
		{[]string{"-h"}, "Usage:"},
	} {
		code, out, stderr := runCmd(t, "", c.args...)
		if code != 0 || !strings.Contains(out, c.want) || stderr != "" {
			t.Errorf("consentgate %s: exit %d, stdout %q, stderr %q; want exit 0 and %q on stdout only", strings.Join(c.args, " "), code, out, stderr, c.want)
		}
	}
	// A bad flag still goes to stderr with the usage, exit 2.
	if code, out, stderr := runCmd(t, "", "serve", "--bogus"); code != 2 || out != "" || !strings.Contains(stderr, "-bogus") || !strings.Contains(stderr, "-listen") {
		t.Errorf("serve --bogus: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

// TestConfigURLMessages: a failed fetch says so once; a served config URL
// shows in the start line.
func TestConfigURLMessages(t *testing.T) {
	code, _, stderr := runCmd(t, "", "serve", "--config-url", "http://127.0.0.1:1/consentgate.yaml", "--listen", freeAddr(t), "--admin", freeAddr(t))
	if code != 1 || strings.Count(stderr, "cannot fetch config") != 1 || !strings.Contains(stderr, "127.0.0.1:1/consentgate.yaml") {
		t.Errorf("unreachable --config-url: exit %d, %q; want one \"cannot fetch config\" naming the URL", code, stderr)
	}

	site := startDemoSite(t)
	cfgSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("upstream: " + site + "\n")) //nolint:errcheck
	}))
	defer cfgSrv.Close()
	url := cfgSrv.URL + "/consentgate.yaml"
	ctx, cancel := context.WithCancel(context.Background())
	var errb proxytest.Buffer
	adm := freeAddr(t)
	done := runAsync(ctx, &errb, "serve", "--config-url", url, "--listen", freeAddr(t), "--admin", adm)
	waitReady(t, adm)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	for _, l := range strings.Split(errb.String(), "\n") {
		var line struct{ Msg, Config string }
		if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "consentgate serving" {
			if line.Config != url {
				t.Errorf("start line config %q, want %q", line.Config, url)
			}
			return
		}
	}
	t.Errorf("no start line in:\n%s", errb.String())
}
