package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"64MiB": 64 << 20, "512KiB": 512 << 10, "1GiB": 1 << 30, "10MB": 10e6, "4096": 4096, " 2 MiB ": 2 << 20} {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "0", "12 parsecs", "1.5MiB", "99999999999GiB"} {
		if got, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestRegistryConfig(t *testing.T) {
	cfg, err := Parse([]byte(`upstream: http://127.0.0.1:8000
registry:
  url: rediss://user:pa55word@redis.example:6380/2
  budget: 5ms
  negative_ttl: 2s
  refresh: 30s
  cache_entries: 1000
`), "registry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if probs := Validate(cfg); len(probs) > 0 {
		t.Fatalf("Validate: %+v", probs)
	}
	rc := cfg.Registry
	if rc == nil || rc.URL != "rediss://user:pa55word@redis.example:6380/2" || time.Duration(rc.Budget) != 5*time.Millisecond || rc.CacheEntries != 1000 {
		t.Fatalf("registry config %+v", rc)
	}
	if r := RedactURL(rc.URL); strings.Contains(r, "pa55word") || !strings.Contains(r, "redis.example:6380") {
		t.Errorf("RedactURL = %q", r)
	}
	for _, bad := range []string{"http://x:1", "redis://", "unix://", "::"} {
		if err := CheckRegistryURL(bad); err == nil {
			t.Errorf("CheckRegistryURL(%q) accepted", bad)
		}
	}
	if err := CheckRegistryURL("redis://:secret@127.0.0.1:1"); err != nil {
		t.Error(err)
	}
}
