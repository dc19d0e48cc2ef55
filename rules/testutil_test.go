package rules

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/consentgate/consentgate/rules/config"
)

// testSet compiles the built-in catalogue with one site.
func testSet(t testing.TB) *Set {
	t.Helper()
	return compileYAML(t, `
upstream: http://127.0.0.1:8080
sites:
  - name: shop
    hosts: [shop.example, "*.shop.example"]
    first_party: [shop-cdn.example.net]
  - name: other
    hosts: ["*"]
`)
}

// compileYAML parses and compiles a config, or ends the test.
func compileYAML(t testing.TB, yaml string) *Set {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sharedData is the path of a file or folder of the data shared with the
// project's tests (shared/data beside the checkout, never copied into the
// repository), or the value of the environment variable env when it is
// set.
func sharedData(env, name string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	return filepath.Join("..", "..", "shared", "data", name)
}
