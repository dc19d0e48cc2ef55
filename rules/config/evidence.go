package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Receipts is the receipts: key: where and how compliance receipts
// are written (see package proxy/receipt). Flags of serve override it.
type Receipts struct {
	// Dir is the receipts directory (serve --receipts).
	Dir string `yaml:"dir"`
	// MaxFileSize starts a new file past this size, e.g. 64MiB (default).
	MaxFileSize ByteSize `yaml:"max_file_size"`
	// FlushInterval is how often receipts are written and synced (default
	// 1s): a crash loses at most this much.
	FlushInterval Duration `yaml:"flush_interval"`
}

// ByteSize is a size written as 64MiB, 512KiB, 1GB or a number of bytes.
type ByteSize int64

// UnmarshalYAML parses a size.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a size (write e.g. 64MiB, 512KiB or a number of bytes)", n.Line, n.Value)}}
	}
	*b = ByteSize(v)
	return nil
}

// ParseByteSize parses 64MiB, 512KiB, 1GiB, 10MB, 1kB or a plain number of
// bytes; it must be positive.
func ParseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive size", s)
	}
	mult := map[string]int64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "kB": 1000, "KB": 1000, "MB": 1e6, "GB": 1e9}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (want B, KiB, MiB, GiB, kB, MB or GB)", s, unit)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

// Canary is a site's canary: pages fetched through the proxy's own
// listener as an opted-out visitor (Sec-GPC: 1) and checked for anything a
// denied vendor could load.
type Canary struct {
	// Host is the Host header to send (default the site's first host that
	// is not a wildcard).
	Host string `yaml:"host"`
	// Paths are the pages to fetch, such as "/" and "/pricing".
	Paths []string `yaml:"paths"`
	// Interval between checks (default 5m).
	Interval Duration `yaml:"interval"`
	// Deny is what the canary expects to be gone, independent of the
	// site's own deny: (default advertising, analytics, social), so a
	// policy that narrows the site's deny shows up as a leak.
	Deny []string `yaml:"deny"`
	// AllowVendors are vendors the canary accepts on the pages although
	// their category is denied (ones the site allows on purpose).
	AllowVendors []string `yaml:"allow_vendors"`
}
