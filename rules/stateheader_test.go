package rules

import (
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules/config"
)

func TestRegionStateHeader(t *testing.T) {
	s := compileYAML(t, `upstream: http://127.0.0.1:3000
sites:
  - name: www
    hosts: [www.example.com]
    region: {country_header: CF-IPCountry, state_header: CF-Region-Code}
`)
	if got := s.Site([]byte("www.example.com")).StateHeader; got != "CF-Region-Code" {
		t.Errorf("StateHeader = %q", got)
	}
	cfg, err := config.Parse([]byte(`upstream: http://127.0.0.1:3000
sites:
  - name: www
    hosts: [www.example.com]
    region:
      state_header: "X Region"
`), "bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(cfg)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:6: sites[0].region.state_header") {
		t.Errorf("error %v, want one at bad.yaml:6 naming sites[0].region.state_header", err)
	}
}
