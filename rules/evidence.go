package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/consentgate/consentgate/rules/urlhost"
	"go.yaml.in/yaml/v3"
)

// ReceiptsConfig is the receipts: key: where and how compliance receipts
// are written (see package proxy/receipt). Flags of serve override it.
type ReceiptsConfig struct {
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

func compileReceipts(rc *ReceiptsConfig) []Problem {
	if rc == nil {
		return nil
	}
	var probs []Problem
	if rc.MaxFileSize != 0 && rc.MaxFileSize < 4<<10 {
		probs = append(probs, Problem{Field: ".max_file_size", Msg: fmt.Sprintf("%d bytes is too small for a receipts file (at least 4KiB; default 64MiB)", rc.MaxFileSize)})
	}
	return probs
}

// CanaryConfig is a site's canary: pages fetched through the proxy's own
// listener as an opted-out visitor (Sec-GPC: 1) and checked for anything a
// denied vendor could load.
type CanaryConfig struct {
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

// Canary is a site's compiled canary.
type Canary struct {
	Host     string
	Paths    []string
	Interval time.Duration
	Deny     Categories
	allow    map[*Vendor]bool
}

// DefaultCanaryInterval is how often a canary checks its pages by default.
const DefaultCanaryInterval = 5 * time.Minute

// Expects reports whether the canary expects v gone from an opted-out page.
func (c *Canary) Expects(v *Vendor) bool {
	return v != nil && c.Deny.Has(v.Category) && !c.allow[v]
}

// compileEvidence compiles the keys of a site that serve compliance
// evidence: decision_header, canary and declared_cookies. site is nil when
// the rest of the site did not compile; the keys are still checked.
func compileEvidence(cfg *Config, sc SiteConfig, site *Site, byID map[string]*Vendor) []Problem {
	var probs []Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	var can *Canary
	if cc := sc.Canary; cc != nil {
		can = &Canary{Host: cc.Host, Interval: time.Duration(cc.Interval), Deny: DefaultDeny, allow: map[*Vendor]bool{}}
		if can.Interval == 0 {
			can.Interval = DefaultCanaryInterval
		}
		if can.Host == "" {
			for _, h := range sc.Hosts {
				if !strings.Contains(h, "*") {
					if n, err := urlhost.Normalise(h); err == nil {
						can.Host = n
						break
					}
				}
			}
			if can.Host == "" {
				bad(".canary.host", "the site has no host without a wildcard: name the host the canary sends")
			}
		} else if n, err := urlhost.Normalise(cc.Host); err != nil {
			bad(".canary.host", "%v", err)
		} else {
			can.Host = n
		}
		if len(cc.Paths) == 0 {
			bad(".canary.paths", "list at least one page to check, such as /")
		}
		for j, p := range cc.Paths {
			if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, " \t\r\n#") {
				bad(fmt.Sprintf(".canary.paths[%d]", j), "%q must be a local path such as /pricing", p)
				continue
			}
			can.Paths = append(can.Paths, p)
		}
		if cc.Deny != nil {
			can.Deny = 0
			for j, d := range cc.Deny {
				c, err := ParseCategory(d)
				if err != nil {
					bad(fmt.Sprintf(".canary.deny[%d]", j), "%v", err)
					continue
				}
				can.Deny |= Of(c)
			}
		}
		for j, id := range cc.AllowVendors {
			v, ok := byID[id]
			if !ok {
				hint := "see consentgate rules list"
				if c := closest(id, sortedKeys(byID)); c != "" {
					hint = fmt.Sprintf("did you mean %q?", c)
				}
				bad(fmt.Sprintf(".canary.allow_vendors[%d]", j), "no vendor with id %q (%s)", id, hint)
				continue
			}
			can.allow[v] = true
		}
	}
	var decl *Declaration
	if sc.DeclaredCookies != "" {
		d, err := ReadDeclaration(cfg.importPath(sc.DeclaredCookies))
		if err != nil {
			bad(".declared_cookies", "%v", err)
		} else {
			decl = d
		}
	}
	if site != nil && len(probs) == 0 {
		site.DecisionHeader = sc.DecisionHeader
		site.Canary = can
		site.Declared = decl
	}
	return probs
}
