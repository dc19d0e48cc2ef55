package lists

import (
	"bufio"
	"io"
	"strings"

	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/rules/urlhost"
)

// ABP reads Adblock Plus style host rules and returns one vendor with
// every host. Only "||host^" rules, optionally with the "$third-party" (or
// "$3p") option, are taken; comments are skipped, and every other rule
// (paths, wildcards, exceptions, cosmetic filters, other options) is counted
// in Stats.Ignored. The vendor id is opt.ID (default "abp"); the
// category defaults to advertising.
func ABP(r io.Reader, opt Options) ([]*config.Vendor, Stats, error) {
	var st Stats
	id := opt.ID
	if id == "" {
		id = "abp"
	}
	v := newVendor(id, id, overrideCategory(opt, advertising), opt)
	seen := make(map[string]bool)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '!' || line[0] == '[' || line[0] == '#' {
			continue
		}
		host, ok := abpHost(line)
		if !ok {
			st.Ignored++
			continue
		}
		n, err := urlhost.NormaliseEntry(host)
		if err != nil {
			st.Ignored++
			continue
		}
		if !seen[n] {
			seen[n] = true
			v.Hosts = append(v.Hosts, n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, st, err
	}
	st.Hosts = len(v.Hosts)
	if len(v.Hosts) == 0 {
		return nil, st, nil
	}
	st.Vendors = 1
	return []*config.Vendor{v}, st, nil
}

// abpHost returns the host of a "||host^" or "||host^$third-party" rule.
func abpHost(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "||")
	if !ok {
		return "", false
	}
	host, opts, ok := strings.Cut(rest, "^")
	if !ok || host == "" || strings.ContainsAny(host, "/*|:") {
		return "", false
	}
	switch opts {
	case "", "|", "$third-party", "$3p":
		return host, true
	}
	return "", false
}
