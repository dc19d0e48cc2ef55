package reload

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestBadConfigs reads every testdata/bad/*.yaml and compares the message a
// user of "consentgate check" sees with the golden .err file beside it
// (regenerate with go test ./rules/reload -run TestBadConfigs -update).
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("%d bad configs, want at least 20", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			_, err := Check(f, Hooks{})
			if err == nil {
				t.Fatalf("%s: accepted, want an error", f)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Errorf("%s: error is %T, want *config.Error", f, err)
			}
			for _, p := range ce.Problems {
				if p.Line == 0 {
					t.Errorf("%s: problem %+v has no line", f, p)
				}
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s:\ngot:\n%s\nwant:\n%s", f, got, want)
			}
		})
	}
}
