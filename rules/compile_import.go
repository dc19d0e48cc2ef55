package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/rules/lists"
)

// maxImportSize bounds an imported file; larger files are refused.
const maxImportSize = 64 << 20

// ImportStats says what one import contributed.
type ImportStats struct {
	Format string `json:"format"`
	Path   string `json:"path"`
	// What the list became (Vendors, Hosts, Cookies), what it held that
	// consentgate cannot express (Ignored) and the vendors dropped because
	// their id was taken (Duplicates).
	lists.Stats
	// Covered counts hosts of the list that a catalogue or config vendor
	// already covers (the host itself or a parent domain of it): they were
	// dropped from the list's vendors and keep the curated vendor and its
	// category. Hosts and Vendors do not count them.
	Covered int `json:"covered"`
	// Conflicts are the covered hosts the list gives another category than
	// the curated vendor does, in list order.
	Conflicts []ImportConflict `json:"conflicts,omitempty"`
}

// ImportConflict is a host an imported list names under a curated vendor's
// host with another category. The curated vendor keeps it.
type ImportConflict struct {
	Host string `json:"host"`
	// Listed is the category the list gives the host.
	Listed string `json:"listed"`
	// Vendor and Category are the curated vendor that keeps the host.
	Vendor   string `json:"vendor"`
	Category string `json:"category"`
	// Stricter is true when the list's category is denied in more
	// situations than the curated one (see Category.Stricter).
	Stricter bool `json:"stricter"`
}

// ReadImports reads every import file of cfg, by resolved path
// (config.Config.Path). Files that cannot be read are left out; Compile
// reports them.
func ReadImports(cfg *config.Config) map[string][]byte {
	m := make(map[string][]byte, len(cfg.Imports))
	for _, ic := range cfg.Imports {
		p := cfg.Path(ic.Path)
		if data, err := readLimited(p); err == nil {
			m[p] = data
		}
	}
	return m
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxImportSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxImportSize {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, maxImportSize>>20)
	}
	return data, nil
}

// loadImport runs the importer of one import entry: valid is whether
// config.Validate found the entry valid; its category is checked here.
// imported holds files already read (by resolved path); a missing entry is
// read now.
func (c *compiler) loadImport(ic config.Import, imported map[string][]byte, valid bool) ([]*Vendor, ImportStats, []config.Problem) {
	var probs []config.Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, config.Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	st := ImportStats{Format: ic.Format, Path: ic.Path}
	if ic.Category != "" {
		if _, err := ParseCategory(ic.Category); err != nil {
			bad(".category", "%v", err)
		}
	}
	if len(probs) > 0 || !valid {
		return nil, st, probs
	}
	p := c.cfg.Path(ic.Path)
	data, ok := imported[p]
	if !ok {
		var err error
		if data, err = readLimited(p); err != nil {
			bad(".path", "cannot read %s: %v", p, errors.Unwrap(err))
			return nil, st, probs
		}
	}
	cvs, ls, err := lists.Import(ic.Format, bytes.NewReader(data), lists.Options{ID: ic.ID, Category: ic.Category, Licence: ic.Licence, Source: ic.Path})
	st.Stats = ls
	if err != nil {
		bad(".path", "cannot import %s as %s: %v", p, ic.Format, err)
		return nil, st, probs
	}
	vs := make([]*Vendor, len(cvs))
	for i, cv := range cvs {
		c, _ := ParseCategory(cv.CategoryName) // one of lists' names
		vs[i] = &Vendor{Vendor: *cv, Category: c}
	}
	return vs, st, nil
}

// keepCurated removes from the imported vendors vs every host that a
// curated vendor (the catalogue and config vendors, in curated by host)
// covers: the host itself or a parent domain of it. Host matching takes the
// longest listed suffix, so without this a list naming "static.chartbeat.com"
// as functional would take that host from the catalogue's analytics vendor
// for chartbeat.com. A curated vendor's category is never changed by a list,
// in either direction: a weaker category un-blocks a tracker, and a stricter
// one breaks what the catalogue keeps on purpose (Disconnect rates
// stripe.network and intercom.io advertising); a site that wants a vendor
// denied says so with vendor_categories. Hosts that no curated vendor
// covers, cookies and the vendors themselves are kept; a vendor left with
// nothing to match is dropped. Each dropped host is counted in st, and those
// with another category are listed in st.Conflicts.
func keepCurated(vs []*Vendor, curated map[string]*Vendor, st *ImportStats) []*Vendor {
	out := vs[:0]
	for _, v := range vs {
		hosts := v.Hosts[:0]
		for _, h := range v.Hosts {
			cv := coveringVendor(curated, h)
			if cv == nil {
				hosts = append(hosts, h)
				continue
			}
			st.Covered++
			st.Hosts--
			if cv.Category != v.Category {
				st.Conflicts = append(st.Conflicts, ImportConflict{
					Host: h, Listed: v.Category.String(), Vendor: cv.ID, Category: cv.Category.String(),
					Stricter: v.Category.Stricter(cv.Category),
				})
			}
		}
		v.Hosts = hosts
		if len(v.Hosts) == 0 && len(v.Cookies) == 0 && len(v.CookiePrefixes) == 0 {
			st.Vendors--
			continue
		}
		out = append(out, v)
	}
	return out
}

// conflictWarning summarises st.Conflicts for check, or returns "".
func conflictWarning(st ImportStats) string {
	if len(st.Conflicts) == 0 {
		return ""
	}
	var weaker, stricter []string
	for _, c := range st.Conflicts {
		ex := fmt.Sprintf("%s %s (%s: %s)", c.Host, c.Listed, c.Vendor, c.Category)
		if c.Stricter {
			stricter = append(stricter, ex)
		} else {
			weaker = append(weaker, ex)
		}
	}
	some := func(l []string) string {
		const n = 3
		if len(l) <= n {
			return strings.Join(l, ", ")
		}
		return strings.Join(l[:n], ", ") + fmt.Sprintf(" and %d more", len(l)-n)
	}
	msg := fmt.Sprintf("%d hosts of the list lie under catalogue vendors' hosts and keep the catalogue's vendor and category", st.Covered)
	if len(weaker) > 0 {
		msg += fmt.Sprintf("; the list rates %d of them otherwise, not stricter: %s", len(weaker), some(weaker))
	}
	if len(stricter) > 0 {
		msg += fmt.Sprintf("; it rates %d stricter, ignored too: %s (to deny such a vendor on a site, set its category in the site's vendor_categories)", len(stricter), some(stricter))
	}
	return msg
}

// coveringVendor returns the vendor in byHost that lists h or a parent
// domain of h, the longest such entry first, or nil.
func coveringVendor(byHost map[string]*Vendor, h string) *Vendor {
	for p := h; ; {
		if v, ok := byHost[p]; ok {
			return v
		}
		i := strings.IndexByte(p, '.')
		if i < 0 {
			return nil
		}
		p = p[i+1:]
	}
}
