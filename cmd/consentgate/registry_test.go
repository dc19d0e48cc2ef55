package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy/registry/registrytest"
)

// TestServeWithRegistry: serve --registry URL --account-cookie NAME with
// the secret in CONSENTGATE_ACCOUNT_SECRET. An opt-out on one device
// applies to the account's other device; with the registry down, requests
// are served, the opt-out is still enforced and /readyz stays ready.
func TestServeWithRegistry(t *testing.T) {
	srv := registrytest.Start(t)
	site := startDemoSite(t)
	t.Setenv("CONSENTGATE_ACCOUNT_SECRET", "serve-test-secret-0123456789")
	pub, adm := startServe(t, "--upstream", site, "--listen", freeAddr(t), "--admin", freeAddr(t),
		"--registry", srv.URL(), "--account-cookie", "uid")
	hasTrackers := func(hdr ...string) bool {
		t.Helper()
		code, body := httpGet(t, "http://"+pub+"/", hdr...)
		if code != 200 {
			t.Fatalf("GET /: %d", code)
		}
		return strings.Contains(body, "googletagmanager")
	}
	if !hasTrackers("Cookie: uid=alice") {
		t.Fatal("the demo page has no trackers before the opt-out")
	}
	if code, _ := httpGet(t, "http://"+pub+"/.consentgate/optout", "Cookie: uid=alice"); code >= 400 { // 303, followed
		t.Fatalf("opt-out: %d", code)
	}
	if n := srv.Keys(t); n != 1 {
		t.Fatalf("the registry holds %d keys after the opt-out, want 1", n)
	}
	if hasTrackers("Cookie: uid=alice") {
		t.Error("the account's other device still gets trackers")
	}
	_, body := httpGet(t, "http://"+pub+"/.consentgate/status", "Cookie: uid=alice")
	var e struct{ Sources []string }
	json.Unmarshal([]byte(body), &e) //nolint:errcheck
	if strings.Join(e.Sources, ",") != "registry" {
		t.Errorf("status sources %v, want [registry]", e.Sources)
	}
	if !hasTrackers("Cookie: uid=bob") {
		t.Error("another account lost its trackers")
	}
	_, m := httpGet(t, "http://"+adm+"/metrics")
	if !strings.Contains(m, "consentgate_registry_up 1") {
		t.Error("metrics lack consentgate_registry_up 1")
	}
	if !regexp.MustCompile(`(?m)^consentgate_optout_sources_total\{site="default",source="registry"\} [1-9]`).MatchString(m) {
		t.Error("consentgate_optout_sources_total{source=registry} did not move")
	}

	srv.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, m := httpGet(t, "http://"+adm+"/metrics")
		if strings.Contains(m, "consentgate_registry_up 0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("consentgate_registry_up did not fall to 0 with the registry down")
		}
		// Requests notice the outage too.
		httpGet(t, "http://"+pub+"/", "Cookie: uid=new-"+time.Now().String())
		time.Sleep(50 * time.Millisecond)
	}
	if hasTrackers("Cookie: uid=alice") {
		t.Error("registry down: the cached opt-out is not enforced")
	}
	if !hasTrackers("Cookie: uid=carol") {
		t.Error("registry down: an account without an opt-out lost its trackers")
	}
	if code, _ := httpGet(t, "http://"+adm+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d with the registry down, want 200", code)
	}
}

// TestRegistryFlags: a bad registry URL is a usage error; without a secret
// an account key is refused at start with the fix.
func TestRegistryFlags(t *testing.T) {
	site := startDemoSite(t)
	code, _, errOut := runCmd(t, "", "serve", "--upstream", site, "--listen", freeAddr(t), "--admin", freeAddr(t),
		"--registry", "http://127.0.0.1:6379")
	if code != 2 || !strings.Contains(errOut, "--registry") {
		t.Errorf("--registry http://…: exit %d, %q", code, errOut)
	}
	code, _, errOut = runCmd(t, "", "serve", "--upstream", site, "--listen", freeAddr(t), "--admin", freeAddr(t),
		"--account-cookie", "uid")
	if code != 1 || !strings.Contains(errOut, "CONSENTGATE_ACCOUNT_SECRET") {
		t.Errorf("--account-cookie without a secret: exit %d, %q", code, errOut)
	}
}
