package config

import (
	"os"
	"reflect"
	"slices"
	"testing"
)

// TestValidate checks which problems Validate reports itself and which it
// leaves to rules.Compile (names of categories, actions, guard modes and
// vendor ids; the content of files).
func TestValidate(t *testing.T) {
	f := func(yaml string, want ...string) {
		t.Helper()
		cfg, err := Parse([]byte(yaml), "v.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range Validate(cfg) {
			got = append(got, p.Field)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Validate(%q) reports %q, want %q", yaml, got, want)
		}
	}
	f("upstream: http://127.0.0.1:1\n")
	f("upstream: ftp://127.0.0.1:1\n", "sites[0].upstream")
	f("upstream: http://127.0.0.1:1\nsites:\n  - name: a\n    hosts: [a.example]\n    deny: [nonsense]\n    actions: {advertising: explode}\n    guard: sideways\n    allow_vendors: [nobody]\n    declared_cookies: /nonexistent.csv\n")
	f("upstream: http://127.0.0.1:1\nsites:\n  - hosts: [\"a.*.example\", a.example]\n    prefix: x\n  - name: b\n    hosts: [b.example]\n    tcf_vendors: [0]\n",
		"sites[0].name", "sites[0].hosts[0]", "sites[0].prefix", "sites[1].tcf_vendors[0]")
	f("upstream: http://127.0.0.1:1\nvendors:\n  - id: x\n    category: nonsense\n    hosts: [co.uk]\nimports:\n  - {format: abp, path: missing.txt, licence: MIT, category: nonsense}\n",
		"vendors[0].hosts[0]")
	f("upstream: http://127.0.0.1:1\naccount: {cookie: uid, secret_file: /nonexistent}\nsites:\n  - name: a\n    hosts: [a.example]\n    account: {secret: x, secret_env: Y}\n",
		"sites[0].account.secret")
}

// TestValidateHasNoSideEffects validates a config with every key and
// compares it with a second parse of the same bytes.
func TestValidateHasNoSideEffects(t *testing.T) {
	data, err := os.ReadFile("../testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse(data, "full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Parse(data, "full.yaml")
	if probs := Validate(a); len(probs) > 0 {
		t.Fatalf("full.yaml: %+v", probs)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("Validate changed the config")
	}
}
