// Package rulestest compiles rule sets for the tests of the packages that
// use them.
package rulestest

import (
	"testing"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
)

// Compile parses yaml as a config file named test.yaml and compiles it,
// ending the test on an error. The caller closes the set when it must.
func Compile(t testing.TB, yaml string) *rules.Set {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return set
}
