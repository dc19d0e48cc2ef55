package signals

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.yaml.in/yaml/v3"
)

// Law is the policy pack of one US state privacy law that has a GPP
// section: which opt-outs it grants, whether it requires honouring a
// universal opt-out mechanism such as Global Privacy Control, and where it
// is written. The packs are in laws.yaml, embedded; Laws lists them.
type Law struct {
	// State is the ISO 3166-2 code, "US-TX".
	State string `yaml:"state" json:"state"`
	// Section and SectionID are the GPP section that carries the state's
	// signals ("ustx", 16).
	Section   string `yaml:"section" json:"section"`
	SectionID int    `yaml:"section_id" json:"section_id"`
	// Name is the law's short title, Citation where it is codified, Source
	// the statute or bill text.
	Name     string `yaml:"name" json:"name"`
	Citation string `yaml:"citation" json:"citation"`
	Source   string `yaml:"source" json:"source"`
	// Effective is the date the law took effect, YYYY-MM-DD.
	Effective string `yaml:"effective" json:"effective"`
	// OptOuts are the rights it grants: sale, sharing,
	// targeted_advertising, profiling, sensitive_data.
	OptOuts []string `yaml:"opt_outs" json:"opt_outs"`
	// SensitiveData is how it treats sensitive data: consent, opt_out,
	// limit or strictly_necessary.
	SensitiveData string `yaml:"sensitive_data" json:"sensitive_data"`
	// UniversalOptOut says whether it requires honouring a universal
	// opt-out mechanism (GPC), from UniversalOptOutFrom (YYYY-MM-DD), under
	// UniversalOptOutSource when that is not Source.
	UniversalOptOut       bool   `yaml:"universal_opt_out" json:"universal_opt_out"`
	UniversalOptOutFrom   string `yaml:"universal_opt_out_from" json:"universal_opt_out_from,omitempty"`
	UniversalOptOutSource string `yaml:"universal_opt_out_source" json:"universal_opt_out_source,omitempty"`
	Note                  string `yaml:"note" json:"note,omitempty"`
}

// RequiresGPC reports whether the law requires honouring a universal
// opt-out mechanism on day t.
func (l *Law) RequiresGPC(t time.Time) bool {
	if !l.UniversalOptOut {
		return false
	}
	from, err := time.Parse(time.DateOnly, l.UniversalOptOutFrom)
	return err == nil && !t.Before(from)
}

//go:embed laws.yaml
var lawsYAML []byte

// laws are the packs, in file order; lawByCode maps a state's two letters
// (A-Z each, 26×26) to 1 + its index in laws, 0 for a state without one.
var laws, lawByCode = func() ([]Law, [26 * 26]uint8) {
	l, err := parseLaws(lawsYAML)
	if err != nil {
		panic("signals: laws.yaml: " + err.Error()) // TestLaws keeps this from happening
	}
	var idx [26 * 26]uint8
	for i := range l {
		idx[stateIndex(l[i].State[3], l[i].State[4])] = uint8(i + 1)
	}
	return l, idx
}()

// Laws returns the policy packs, ordered by GPP section id. The slice is
// a copy; the Laws' OptOuts must not be modified.
func Laws() []Law { return append([]Law(nil), laws...) }

// LawFor returns the pack of a state, "US-TX" (any case); ok is false for a
// state without one.
func LawFor(state string) (Law, bool) {
	if len(state) != 5 || upper(state[0]) != 'U' || upper(state[1]) != 'S' || state[2] != '-' {
		return Law{}, false
	}
	a, b := upper(state[3]), upper(state[4])
	if !isLetter(a) || !isLetter(b) {
		return Law{}, false
	}
	if i := lawByCode[stateIndex(a, b)]; i != 0 {
		return laws[i-1], true
	}
	return Law{}, false
}

func stateIndex(a, b byte) int { return int(a-'A')*26 + int(b-'A') }

var (
	lawOptOuts   = map[string]bool{"sale": true, "sharing": true, "targeted_advertising": true, "profiling": true, "sensitive_data": true}
	lawSensitive = map[string]bool{"consent": true, "opt_out": true, "limit": true, "strictly_necessary": true}
)

// parseLaws decodes and checks a laws file: unknown keys are errors, and
// every pack must name a known GPP state section, a law, an https source,
// its dates and its opt-outs. It reports every problem at once.
func parseLaws(b []byte) ([]Law, error) {
	var file struct {
		Laws []Law `yaml:"laws"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("cannot parse: %w", err)
	}
	var errs []error
	bad := func(i int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("laws[%d]: "+format, append([]any{i}, args...)...))
	}
	seen := map[string]bool{}
	for i := range file.Laws {
		l := &file.Laws[i]
		if len(l.State) != 5 || l.State[:3] != "US-" || !isLetter(l.State[3]) || !isLetter(l.State[4]) {
			bad(i, "state %q is not a US state code such as US-TX", l.State)
			continue
		}
		if seen[l.State] {
			bad(i, "state %s listed twice", l.State)
		}
		seen[l.State] = true
		if sec, _ := usSectionFor(l.SectionID, 1); sec == nil || sec.name != l.Section || l.SectionID < 8 {
			bad(i, "%s: section %q (id %d) is not a GPP US state section", l.State, l.Section, l.SectionID)
		}
		if l.Name == "" || l.Citation == "" {
			bad(i, "%s: name and citation are required", l.State)
		}
		if !httpsURL(l.Source) {
			bad(i, "%s: source %q is not an https URL", l.State, l.Source)
		}
		if l.UniversalOptOutSource != "" && !httpsURL(l.UniversalOptOutSource) {
			bad(i, "%s: universal_opt_out_source %q is not an https URL", l.State, l.UniversalOptOutSource)
		}
		if _, err := time.Parse(time.DateOnly, l.Effective); err != nil {
			bad(i, "%s: effective %q is not a date (YYYY-MM-DD)", l.State, l.Effective)
		}
		if l.UniversalOptOut {
			if _, err := time.Parse(time.DateOnly, l.UniversalOptOutFrom); err != nil {
				bad(i, "%s: universal_opt_out_from %q is not a date (YYYY-MM-DD)", l.State, l.UniversalOptOutFrom)
			}
		} else if l.UniversalOptOutFrom != "" {
			bad(i, "%s: universal_opt_out_from without universal_opt_out", l.State)
		}
		if len(l.OptOuts) == 0 {
			bad(i, "%s: opt_outs is empty", l.State)
		}
		dup := map[string]bool{}
		for _, o := range l.OptOuts {
			if !lawOptOuts[o] || dup[o] {
				bad(i, "%s: opt-out %q is unknown or repeated", l.State, o)
			}
			dup[o] = true
		}
		if !lawSensitive[l.SensitiveData] {
			bad(i, "%s: sensitive_data %q is not consent, opt_out, limit or strictly_necessary", l.State, l.SensitiveData)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return file.Laws, nil
}

func httpsURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}
