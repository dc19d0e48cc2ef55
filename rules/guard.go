package rules

import (
	"fmt"
	"sort"
)

// GuardMode is how a site serves the runtime guard to opted-out visitors
// (see package proxy/guard).
type GuardMode uint8

const (
	// GuardExternal serves the guard as an immutable first-party script
	// (PREFIX guard/FINGERPRINT.js) named by a small tag. It is the default.
	GuardExternal GuardMode = iota
	// GuardInline writes the guard into every opted-out page, its hash added
	// to the page's CSP.
	GuardInline
	// GuardOff serves no guard: only the static rewriting applies.
	GuardOff
)

var guardModeNames = [...]string{"external", "inline", "off"}

// String returns the config name of the mode.
func (m GuardMode) String() string { return nameOf(guardModeNames[:], m, "guard") }

// ParseGuardMode parses "inline", "external" or "off" (any case).
func ParseGuardMode(s string) (GuardMode, error) {
	if m, ok := parseName[GuardMode](guardModeNames[:], s); ok {
		return m, nil
	}
	return 0, fmt.Errorf("unknown guard mode %q (want inline, external or off)", s)
}

// EachHost calls fn for every host suffix of the set's host table with the
// vendor that owns it, in no particular order. These are the entries
// VendorForHost and Classify match: a host matches the longest entry that
// is a suffix of it at a label boundary.
func (s *Set) EachHost(fn func(host string, v *Vendor)) {
	for h, v := range s.hosts {
		fn(h, v)
	}
}

// FirstParty returns the host suffixes that are never third parties on the
// site, sorted: its own hosts (a wildcard's base name) and its
// first_party list. Classify matches an entry against the whole host
// (a single label too) and against every suffix of it that has a dot.
func (site *Site) FirstParty() []string {
	out := make([]string, 0, len(site.firstParty))
	for h := range site.firstParty {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}
