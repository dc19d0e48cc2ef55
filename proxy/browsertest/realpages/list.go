package realpages

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// DefaultLists are EasyPrivacy and EasyList as Debian's
// webext-ublock-origin-chromium package installs them (licence: GPL-3+ or
// CC-BY-SA-3.0+, https://easylist.to/pages/licence.html). They are read at
// run time and never copied into the repository.
var DefaultLists = []string{
	"/usr/share/chromium/extensions/ublock-origin/assets/thirdparties/easylist/easyprivacy.txt",
	"/usr/share/chromium/extensions/ublock-origin/assets/thirdparties/easylist/easylist.txt",
}

// List is the host-anchored subset of Adblock Plus network filters: the
// rules "||host^" (also "||host^|" and "||host/"), blocking or "@@"
// exceptions, with the options that decide whether a rule applies to a
// request by its host, its page and its resource type:
//
//   - party: third-party, 3p, first-party, 1p and their negations, decided
//     by registrable domain (eTLD+1) against the page's saved host;
//   - domain= (and from=) with plain domains and ~negations, matched by
//     suffix against the page's saved host;
//   - resource types: script, image, stylesheet/css, xmlhttprequest/xhr,
//     subdocument/frame, document/doc, ping/beacon, media, font, websocket,
//     object, other, popup, and their negations;
//   - important (a blocking rule no exception lifts), match-case and all
//     (no effect on a host), badfilter (cancels the rule it names).
//
// Every other rule is skipped and counted by reason in Stats: rules with a
// path, a wildcard or no separator after the host; rules not anchored at a
// host; cosmetic filters; regular expressions; rules with any other option
// (redirect, removeparam, csp, header, denyallow, to, method, domain
// entities such as google.*, ...); and page-level exceptions ($document,
// $elemhide, $generichide, $genericblock): those whitelist a whole page for
// an ad blocker, which is not a judgement about the hosts it contacts.
//
// Skipping a blocking rule can only make the list see fewer trackers;
// skipping an exception could only make it see more, and the exceptions
// skipped here are page-level ones, which say nothing about a host.
type List struct {
	block map[string][]*netRule // by the rule's host
	allow map[string][]*netRule
	Stats ListStats
}

// ListStats counts what a List took from its files.
type ListStats struct {
	Files      []string       `json:"files"`
	Lines      int            `json:"lines"`
	Block      int            `json:"block"`      // host-anchored blocking rules taken
	Exceptions int            `json:"exceptions"` // host-anchored exceptions taken
	Skipped    map[string]int `json:"skipped"`    // rules skipped, by reason
}

// typeMask is a set of ABP resource types.
type typeMask uint16

const (
	tScript typeMask = 1 << iota
	tImage
	tStylesheet
	tXHR
	tSubdocument
	tDocument
	tPing
	tMedia
	tFont
	tWebSocket
	tObject
	tOther
	tPopup
	tAll typeMask = 1<<iota - 1
)

var typeNames = map[string]typeMask{
	"script": tScript, "image": tImage, "stylesheet": tStylesheet, "css": tStylesheet,
	"xmlhttprequest": tXHR, "xhr": tXHR, "subdocument": tSubdocument, "frame": tSubdocument,
	"document": tDocument, "doc": tDocument, "ping": tPing, "beacon": tPing, "media": tMedia,
	"font": tFont, "websocket": tWebSocket, "object": tObject, "object-subrequest": tObject,
	"other": tOther, "popup": tPopup,
}

// pageLevel are exception options that whitelist a page, not a host.
var pageLevel = map[string]bool{
	"document": true, "doc": true, "elemhide": true, "ehide": true, "generichide": true,
	"ghide": true, "genericblock": true, "specifichide": true, "shide": true, "content": true,
}

// netRule is one host-anchored rule.
type netRule struct {
	text       string
	host       string
	party      int8 // 0 any, 1 third-party only, -1 first-party only
	types      typeMask
	domains    []string
	notDomains []string
	important  bool
}

// ReadLists parses the files into one List. A missing or unreadable file is
// an error.
func ReadLists(files ...string) (*List, error) {
	l, bad := newList()
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("reading the tracker list: %w (Debian: apt-get install webext-ublock-origin-chromium)", err)
		}
		err = l.parse(fh, bad)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the tracker list %s: %w", f, err)
		}
		l.Stats.Files = append(l.Stats.Files, f)
	}
	l.finish(bad)
	return l, nil
}

// ParseList parses one list from r.
func ParseList(r io.Reader) (*List, error) {
	l, bad := newList()
	if err := l.parse(r, bad); err != nil {
		return nil, err
	}
	l.finish(bad)
	return l, nil
}

func newList() (*List, map[string]bool) {
	return &List{block: map[string][]*netRule{}, allow: map[string][]*netRule{}, Stats: ListStats{Skipped: map[string]int{}}}, map[string]bool{}
}

// finish drops the rules a $badfilter cancels and counts what is left.
func (l *List) finish(bad map[string]bool) {
	for _, m := range []map[string][]*netRule{l.block, l.allow} {
		for h, rs := range m {
			kept := slices.DeleteFunc(rs, func(r *netRule) bool { return bad[r.text] })
			if n := len(rs) - len(kept); n > 0 {
				l.Stats.Skipped["cancelled by $badfilter"] += n
			}
			if len(kept) == 0 {
				delete(m, h)
			} else {
				m[h] = kept
			}
		}
	}
	l.Stats.Block, l.Stats.Exceptions = count(l.block), count(l.allow)
}

func count(m map[string][]*netRule) int {
	n := 0
	for _, rs := range m {
		n += len(rs)
	}
	return n
}

func (l *List) parse(r io.Reader, bad map[string]bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		l.Stats.Lines++
		line := strings.TrimSpace(sc.Text())
		rule, cancels, reason := parseRule(line)
		switch {
		case reason == "comment":
		case reason != "":
			l.Stats.Skipped[reason]++
		case cancels:
			bad[rule.text] = true
		default:
			m := l.block
			if strings.HasPrefix(line, "@@") {
				m = l.allow
			}
			m[rule.host] = append(m[rule.host], rule)
		}
	}
	return sc.Err()
}

// parseRule parses one line. It returns the rule, whether it is a
// $badfilter (rule.text is then the text of the rule it cancels), or the
// reason it is skipped ("comment" for comments and blank lines).
func parseRule(line string) (r *netRule, badfilter bool, reason string) {
	switch {
	case line == "" || line[0] == '!' || line[0] == '[':
		return nil, false, "comment"
	case strings.Contains(line, "##") || strings.Contains(line, "#@#") || strings.Contains(line, "#?#") ||
		strings.Contains(line, "#$#") || strings.Contains(line, "#%#") || strings.Contains(line, "#+js"):
		return nil, false, "cosmetic filter"
	}
	exception := strings.HasPrefix(line, "@@")
	rest := strings.TrimPrefix(line, "@@")
	if strings.HasPrefix(rest, "/") {
		return nil, false, "regular expression or path"
	}
	pattern, opts, _ := strings.Cut(rest, "$")
	host, ok := strings.CutPrefix(pattern, "||")
	if !ok {
		return nil, false, "not anchored at a host"
	}
	i := strings.IndexAny(host, "^/")
	if i < 0 {
		return nil, false, "no separator after the host"
	}
	host, tail := strings.ToLower(host[:i]), host[i:]
	switch tail {
	case "^", "^|", "/", "^*":
	default:
		return nil, false, "path"
	}
	if !plainHost(host) {
		return nil, false, "wildcard or odd host"
	}
	r = &netRule{host: host, text: line}
	var kept []string
	for o := range strings.SplitSeq(opts, ",") {
		if o == "" {
			continue
		}
		name, value, hasValue := strings.Cut(strings.ToLower(strings.TrimSpace(o)), "=")
		neg := strings.HasPrefix(name, "~")
		name = strings.TrimPrefix(name, "~")
		switch {
		case name == "badfilter":
			badfilter = true
			continue
		case exception && pageLevel[name]:
			return nil, false, "page-level exception"
		case name == "third-party" || name == "3p":
			r.party = 1
			if neg {
				r.party = -1
			}
		case name == "first-party" || name == "1p":
			r.party = -1
			if neg {
				r.party = 1
			}
		case (name == "domain" || name == "from") && hasValue && !neg:
			for d := range strings.SplitSeq(value, "|") {
				nd := strings.HasPrefix(d, "~")
				d = strings.TrimPrefix(d, "~")
				if d == "" || strings.ContainsAny(d, "*/") {
					return nil, false, "domain entity or pattern"
				}
				if nd {
					r.notDomains = append(r.notDomains, d)
				} else {
					r.domains = append(r.domains, d)
				}
			}
		case typeNames[name] != 0 && !hasValue:
			if neg {
				if r.types == 0 {
					r.types = tAll
				}
				r.types &^= typeNames[name]
			} else {
				if r.types == tAll {
					r.types = 0
				}
				r.types |= typeNames[name]
			}
		case name == "important" && !neg:
			r.important = true
		case (name == "match-case" || name == "all") && !neg:
		default:
			return nil, false, "option " + strings.TrimPrefix(strings.SplitN(strings.TrimSpace(o), "=", 2)[0], "~")
		}
		kept = append(kept, o)
	}
	if badfilter {
		r.text = pattern
		if len(kept) > 0 {
			r.text += "$" + strings.Join(kept, ",")
		}
		if exception {
			r.text = "@@" + strings.TrimPrefix(r.text, "@@")
		}
		return r, true, ""
	}
	if r.types == 0 {
		r.types = tAll
	}
	return r, false, ""
}

// plainHost reports whether h is a host name of letters, digits, '-', '_'
// and inner dots (an IPv4 address included); wildcards, ports and IPv6
// literals are not.
func plainHost(h string) bool {
	if h == "" || h[0] == '.' || h[len(h)-1] == '.' || strings.Contains(h, "..") {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ListRequest is what the list judges: a request's host and type, and the
// page it was made on.
type ListRequest struct {
	Host     string // the request's host, lower case
	PageHost string // the page's saved host
	Type     string // Chromium's resource type (Request.Type)
	Frame    string // Request.Frame: main, frame or worker
}

// Match returns the blocking rule that applies to q, unless an exception
// lifts it (then exception is that exception's text and rule is ""). A
// request may match more than one rule; the first by host (most specific
// suffix first), then by file order, is returned.
func (l *List) Match(q ListRequest) (rule, exception string) {
	if q.Host == "" {
		return "", ""
	}
	t := resourceType(q.Type, q.Frame)
	third := registrable(q.Host) != registrable(q.PageHost)
	var hit *netRule
	for s := range suffixes(q.Host) {
		for _, r := range l.block[s] {
			if r.applies(t, third, q.PageHost) && (hit == nil || r.important && !hit.important) {
				hit = r
			}
		}
	}
	if hit == nil {
		return "", ""
	}
	if !hit.important {
		for s := range suffixes(q.Host) {
			for _, r := range l.allow[s] {
				if r.applies(t, third, q.PageHost) {
					return "", r.text
				}
			}
		}
	}
	return hit.text, ""
}

func (r *netRule) applies(t typeMask, third bool, page string) bool {
	if r.types&t == 0 {
		return false
	}
	if r.party == 1 && !third || r.party == -1 && third {
		return false
	}
	if len(r.domains) > 0 && !slices.ContainsFunc(r.domains, func(d string) bool { return underDomain(page, d) }) {
		return false
	}
	return !slices.ContainsFunc(r.notDomains, func(d string) bool { return underDomain(page, d) })
}

// suffixes yields host and each parent domain of it at a label boundary.
func suffixes(host string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for h := host; h != ""; {
			if !yield(h) {
				return
			}
			i := strings.IndexByte(h, '.')
			if i < 0 {
				return
			}
			h = h[i+1:]
		}
	}
}

// underDomain reports whether host is d or a subdomain of it.
func underDomain(host, d string) bool {
	return host == d || strings.HasSuffix(host, "."+d)
}

// registrable returns the registrable domain (eTLD+1) of host, or host
// itself where there is none (an IP address, a public suffix).
func registrable(host string) string {
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// resourceType maps Chromium's resource type to the list's.
func resourceType(t, frame string) typeMask {
	switch t {
	case "Document":
		if frame == "main" {
			return tDocument
		}
		return tSubdocument
	case "Script":
		return tScript
	case "Image":
		return tImage
	case "Stylesheet":
		return tStylesheet
	case "XHR", "Fetch":
		return tXHR
	case "Ping":
		return tPing
	case "Media":
		return tMedia
	case "Font":
		return tFont
	case "WebSocket":
		return tWebSocket
	}
	return tOther // EventSource, Prefetch, Manifest, CSPViolationReport, worker imports, ...
}

// SkippedReasons returns the skip reasons, most frequent first.
func (st ListStats) SkippedReasons() []string {
	keys := make([]string, 0, len(st.Skipped))
	for k := range st.Skipped {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if st.Skipped[keys[i]] != st.Skipped[keys[j]] {
			return st.Skipped[keys[i]] > st.Skipped[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
