package rules

import "testing"

// testSet compiles the built-in catalogue with one site.
func testSet(t testing.TB) *Set {
	t.Helper()
	cfg, err := ParseConfig([]byte(`
upstream: http://127.0.0.1:8080
sites:
  - name: shop
    hosts: [shop.example, "*.shop.example"]
    first_party: [shop-cdn.example.net]
  - name: other
    hosts: ["*"]
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
