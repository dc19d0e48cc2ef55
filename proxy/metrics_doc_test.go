package proxy

import (
	"os"
	"strings"
	"testing"
)

// TestOperatorsNoSiteLabel: the metrics reference names the site label of
// requests no site answers as the proxy sets it.
func TestOperatorsNoSiteLabel(t *testing.T) {
	data, err := os.ReadFile("../docs/operators.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := "(`" + noSiteLabel + "` for requests no site answers)"; !strings.Contains(string(data), want) {
		t.Errorf("docs/operators.md does not say %s", want)
	}
}
