package main

import (
	"encoding/json"
	"testing"
)

// TestExplainStateLaw: with region.state_header, explain says which state
// law and which GPP section decided.
func TestExplainStateLaw(t *testing.T) {
	cfg := writeFile(t, "law.yaml", `upstream: http://127.0.0.1:3000
sites:
  - name: www
    hosts: [www.example.com]
    region:
      country_header: CF-IPCountry
      state_header: CF-Region-Code
`)
	// usca (id 8) opts out of sale, ustx (16) does not; a Texan is judged
	// by ustx.
	const gpp = "Cookie: __gpp=DBACBgw~BQYAAAAA~BEoAAAA.QA"
	var e struct {
		OptedOut bool           `json:"opted_out"`
		Law      map[string]any `json:"law"`
	}
	code, out, stderr := runCmd(t, "", "explain", "--config", cfg, "--url", "https://www.example.com/",
		"-H", "CF-IPCountry: US", "-H", "CF-Region-Code: TX", "-H", gpp)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if e.OptedOut || e.Law["state"] != "US-TX" || e.Law["name"] != "Texas Data Privacy and Security Act" ||
		e.Law["source"] == nil || e.Law["decided_by"] != "ustx" {
		t.Errorf("opted_out %v law %v, want not opted out, US-TX decided by ustx\n%s", e.OptedOut, e.Law, out)
	}
	// Without the option every section counts and no law is named.
	code, out, _ = runCmd(t, "", "explain", "--url", "https://www.example.com/", "-H", "CF-Region-Code: TX", "-H", gpp)
	e.Law = nil
	if err := json.Unmarshal([]byte(out), &e); code != 0 || err != nil || !e.OptedOut || e.Law != nil {
		t.Errorf("default site: exit %d opted_out %v law %v", code, e.OptedOut, e.Law)
	}
}
