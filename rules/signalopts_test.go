package rules

import (
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules/config"
)

func TestPropagateAndMirrorOptions(t *testing.T) {
	s := compileYAML(t, `
upstream: http://127.0.0.1:8080
sites:
  - name: both
    hosts: [a.example]
    propagate: true
    mirror: true
  - name: neither
    hosts: ["*"]
`)
	both, neither := s.Sites()[0], s.Sites()[1]
	if !both.Propagate || !both.Mirror || neither.Propagate || neither.Mirror {
		t.Errorf("both %v %v, neither %v %v", both.Propagate, both.Mirror, neither.Propagate, neither.Mirror)
	}
	cfg, err := config.Parse([]byte(`
upstream: http://127.0.0.1:8080
sites:
  - name: clash
    hosts: ["*"]
    optout_cookie: {name: consentgate_mirror}
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(cfg); err == nil || !strings.Contains(err.Error(), "optout_cookie.name") || !strings.Contains(err.Error(), "consent mirror") {
		t.Errorf("an opt-out cookie named like the mirror's: %v", err)
	}
}
