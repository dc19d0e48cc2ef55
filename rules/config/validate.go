package config

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/consentgate/consentgate/rules/urlhost"
)

// MirrorCookie is the consent mirror's cookie (signals.MirrorCookie): no
// site's opt-out cookie may take its name.
const MirrorCookie = "consentgate_mirror"

// The formats an import can name.
const (
	FormatABP        = "abp"                  // Adblock Plus host rules: ||host^ and ||host^$third-party
	FormatDisconnect = "disconnect"           // Disconnect tracking protection services.json
	FormatTDS        = "tds"                  // DuckDuckGo Tracker Radar blocklist tds.json
	FormatOCD        = "open-cookie-database" // Open Cookie Database CSV
)

// Formats are the import formats, in the order messages list them.
var Formats = []string{FormatABP, FormatDisconnect, FormatTDS, FormatOCD}

// defaultSite is the site of a config without sites: every host, the
// default policy and the top-level upstream.
func defaultSite() Site { return Site{Name: "default", Hosts: []string{"*"}} }

// SitesOrDefault returns the sites of c, or defaultSite when it has none.
func (c *Config) SitesOrDefault() []Site {
	if len(c.Sites) == 0 {
		return []Site{defaultSite()}
	}
	return c.Sites
}

// Validate reports every problem of c that the config alone shows, each
// with its line and field path, sorted by line; none for a valid config.
// It neither changes c nor reads a file. What needs more is left to
// rules.Compile, which reports it in the same *Error: the names of
// categories, actions and guard modes, vendor ids (which the catalogue
// defines), a host that two vendors claim or two sites serve, and what the
// files a config names hold (imports, account secrets, cookie tables).
func Validate(c *Config) []Problem {
	v := validator{c: c}
	for i, ve := range c.Vendors {
		field := fmt.Sprintf("vendors[%d]", i)
		if ve == nil {
			v.add(field, "empty vendor entry")
			continue
		}
		v.addAll(field, ve.Check())
	}
	for i, ic := range c.Imports {
		v.addAll(fmt.Sprintf("imports[%d]", i), ic.problems())
	}
	if c.Registry != nil {
		c.Registry.validate(v.add)
	}
	if c.Account != nil {
		v.addAll("account", c.Account.problems())
	}
	names := make(map[string]string)
	for i, sc := range c.SitesOrDefault() {
		field := fmt.Sprintf("sites[%d]", i)
		v.addAll(field, sc.problems(c))
		if prev, dup := names[sc.Name]; dup && sc.Name != "" {
			v.add(field+".name", "site name %q is already used by %s; names label metrics and must be unique", sc.Name, prev)
		}
		names[sc.Name] = field
	}
	if c.Receipts != nil {
		v.addAll("receipts", c.Receipts.problems())
	}
	sort.SliceStable(v.probs, func(i, j int) bool { return v.probs[i].Line < v.probs[j].Line })
	return v.probs
}

// validator collects problems with their lines.
type validator struct {
	c     *Config
	probs []Problem
}

func (v *validator) add(field, format string, args ...any) {
	v.probs = append(v.probs, Problem{Line: v.c.Line(field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// addAll adds problems whose fields are relative to field.
func (v *validator) addAll(field string, probs []Problem) {
	for _, p := range probs {
		v.add(field+p.Field, "%s", p.Msg)
	}
}

// problems collects problems with field paths relative to an entry.
type problems []Problem

func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// problems checks an import entry; its category is checked when it is
// compiled.
func (ic Import) problems() []Problem {
	var ps problems
	known := false
	for _, f := range Formats {
		known = known || ic.Format == f
	}
	if !known {
		ps.add(".format", "unknown format %q (want abp, disconnect, tds or open-cookie-database)", ic.Format)
	}
	if ic.Path == "" {
		ps.add(".path", "give the path of the file to import")
	}
	if strings.TrimSpace(ic.Licence) == "" {
		ps.add(".licence", "give the list's licence (for example \"CC BY-NC-SA 4.0\"); it is shown by consentgate rules list")
	}
	if ic.ID != "" && !validID.MatchString(ic.ID) {
		ps.add(".id", "%q is not a valid id: use lower-case letters, digits, dots, dashes and underscores", ic.ID)
	}
	return ps
}

// problems checks an account key as far as the config shows it: where the
// id is and that exactly one secret is given (rules.Compile reads the
// secret and checks its length). Fields are under ".account", trimmed by
// the caller of the top-level account.
func (a *Account) problems() []Problem {
	var ps problems
	if a.Cookie == "" && a.Header == "" {
		ps.add("", "name the cookie or the header that carries the account id (cookie: or header:)")
	}
	if a.Cookie != "" && !IsToken(a.Cookie) {
		ps.add(".cookie", "%q is not a valid cookie name", a.Cookie)
	}
	if a.Header != "" && !IsToken(a.Header) {
		ps.add(".header", "%q is not a header name", a.Header)
	}
	switch a.Secrets() {
	case 0:
		ps.add(".secret_file", "the account id needs a secret to be hashed with: give secret_file, secret_env or --account-secret-file (CONSENTGATE_ACCOUNT_SECRET)")
	case 1:
	default:
		ps.add(".secret", "give only one of secret, secret_file and secret_env")
	}
	return ps
}

// Secrets is how many of secret, secret_file and secret_env are given;
// a valid account key has one.
func (a *Account) Secrets() int {
	n := 0
	for _, s := range []string{a.Secret, a.SecretFile, a.SecretEnv} {
		if s != "" {
			n++
		}
	}
	return n
}

// problems checks a site, with fields relative to it.
func (sc Site) problems(c *Config) []Problem {
	var ps problems
	if sc.Name == "" {
		ps.add(".name", "every site needs a name (it labels metrics)")
	}
	if len(sc.Hosts) == 0 {
		ps.add(".hosts", "list at least one host (or \"*\" for every host)")
	}
	for j, h := range sc.Hosts {
		if _, err := SiteHost(h); err != nil {
			ps.add(fmt.Sprintf(".hosts[%d]", j), "%v", err)
		}
	}
	if err := CheckUpstream(sc.UpstreamOr(c.Upstream)); err != nil {
		ps.add(".upstream", "%v", err)
	}
	if oc := sc.OptOutCookie; oc != nil {
		if !IsToken(oc.Name) {
			ps.add(".optout_cookie.name", "%q is not a valid cookie name", oc.Name)
		}
		if strings.ContainsAny(oc.Value, "; ,\t\r\n\"\\") {
			ps.add(".optout_cookie.value", "%q is not a valid cookie value", oc.Value)
		}
		if oc.Name == MirrorCookie {
			ps.add(".optout_cookie.name", "%q is the consent mirror's cookie; choose another name", MirrorCookie)
		}
	}
	for j, h := range sc.FirstParty {
		if _, err := urlhost.Normalise(h); err != nil {
			ps.add(fmt.Sprintf(".first_party[%d]", j), "%v", err)
		}
	}
	if sc.Prefix != "" && (!strings.HasPrefix(sc.Prefix, "/") || strings.ContainsAny(sc.Prefix, "?# \t") || len(sc.Prefix) < 2) {
		ps.add(".prefix", "%q must be a path such as /.consentgate/", sc.Prefix)
	}
	if r := sc.Region; r != nil {
		ps = append(ps, r.problems()...)
	}
	ps = append(ps, sc.textProblems()...)
	for j, id := range sc.TCFVendors {
		if id <= 0 {
			ps.add(fmt.Sprintf(".tcf_vendors[%d]", j), "%d is not a TCF vendor id (a positive number)", id)
		}
	}
	ps = append(ps, keepScriptProblems(sc.KeepScripts)...)
	if sc.Account != nil {
		for _, p := range sc.Account.Merge(c.Account).problems() {
			ps.add(".account"+p.Field, "%s", p.Msg)
		}
	}
	if sc.Canary != nil {
		ps = append(ps, sc.Canary.problems(sc)...)
	}
	return ps
}

// SiteHost validates a host a site answers for: "*", a host name, or a
// "*." wildcard of one. It returns the host normalised (Normalise).
func SiteHost(h string) (string, error) {
	if h == "*" {
		return h, nil
	}
	rest, wild := strings.CutPrefix(h, "*.")
	n, err := urlhost.Normalise(rest)
	if strings.Contains(rest, "*") {
		err = fmt.Errorf("%q: a wildcard must be the whole first label, as in *.example.com", h)
	}
	if err != nil {
		return "", err
	}
	if wild {
		n = "*." + n
	}
	return n, nil
}

// UpstreamOr is the site's upstream, or def (the top-level one) when it
// names none.
func (sc Site) UpstreamOr(def string) string {
	if sc.Upstream == "" {
		return def
	}
	return sc.Upstream
}

// CheckUpstream reports whether u is an upstream URL a site can use: http
// or https with a host. The serve flag and variable are checked with it
// before any config is read.
func CheckUpstream(u string) error {
	if u == "" {
		return errors.New("no upstream: give upstream: http://HOST:PORT here or at the top of the file, or --upstream / CONSENTGATE_UPSTREAM to serve and check")
	}
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("upstream %q is not a URL: %v", u, err)
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return fmt.Errorf("upstream %q: scheme must be http or https", u)
	}
	if p.Host == "" {
		return fmt.Errorf("upstream %q has no host", u)
	}
	return nil
}

func (r *Region) problems() []Problem {
	var ps problems
	if r.CountryHeader != "" && !IsToken(r.CountryHeader) {
		ps.add(".region.country_header", "%q is not a header name", r.CountryHeader)
	}
	if r.StateHeader != "" && !IsToken(r.StateHeader) {
		ps.add(".region.state_header", "%q is not a header name", r.StateHeader)
	}
	for j, c := range r.OptInCountries {
		if len(c) != 2 || !isLetters(c) {
			ps.add(fmt.Sprintf(".region.optin_countries[%d]", j), "%q is not a two-letter country code", c)
		}
	}
	return ps
}

func isLetters(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// textProblems checks the texts a site shows visitors (checkText).
func (sc Site) textProblems() []Problem {
	var ps problems
	for _, t := range []struct {
		field, text string
		max         int
		fields      []string
	}{
		{".placeholder_text", sc.PlaceholderText, 600, []string{"name", "company", "kind"}},
		{".placeholder_button", sc.PlaceholderButton, 80, []string{"name", "kind"}},
		{".optout_text", sc.OptOutText, 2000, nil},
		{".gpc_notice_text", sc.GPCNoticeText, 200, nil},
	} {
		if err := checkText(t.text, t.max, t.fields); err != nil {
			ps.add(t.field, "%v", err)
		}
	}
	return ps
}

// problems checks a canary as far as the config shows it (its deny and
// allow_vendors are checked when it is compiled).
func (cc *Canary) problems(sc Site) []Problem {
	var ps problems
	if cc.Host == "" {
		if _, ok := sc.CanaryHost(); !ok {
			ps.add(".canary.host", "the site has no host without a wildcard: name the host the canary sends")
		}
	} else if _, err := urlhost.Normalise(cc.Host); err != nil {
		ps.add(".canary.host", "%v", err)
	}
	if len(cc.Paths) == 0 {
		ps.add(".canary.paths", "list at least one page to check, such as /")
	}
	for j, p := range cc.Paths {
		if !canaryPath(p) {
			ps.add(fmt.Sprintf(".canary.paths[%d]", j), "%q must be a local path such as /pricing", p)
		}
	}
	return ps
}

// CanaryHost is the Host header the site's canary sends: its canary.host,
// else the site's first host without a wildcard, normalised; false when
// there is none.
func (sc Site) CanaryHost() (string, bool) {
	if sc.Canary != nil && sc.Canary.Host != "" {
		n, err := urlhost.Normalise(sc.Canary.Host)
		return n, err == nil
	}
	for _, h := range sc.Hosts {
		if !strings.Contains(h, "*") {
			if n, err := urlhost.Normalise(h); err == nil {
				return n, true
			}
		}
	}
	return "", false
}

// canaryPath reports whether p is a page a canary may fetch: a local path.
func canaryPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, " \t\r\n#")
}

// keepScriptProblems checks keep_scripts; fields are relative to the site.
func keepScriptProblems(list []KeepScript) []Problem {
	var ps problems
	for i, e := range list {
		field := fmt.Sprintf(".keep_scripts[%d]", i)
		n := 0
		for _, v := range []string{e.ID, e.Class, e.SHA256} {
			if v != "" {
				n++
			}
		}
		switch {
		case n != 1:
			ps.add(field, "give exactly one of id, class or sha256 (consentgate explain-page prints them for each inline script)")
		case e.ID != "" && strings.ContainsAny(e.ID, " \t\n\r\f"):
			ps.add(field+".id", "%q: an id has no white space", e.ID)
		case e.Class != "" && strings.ContainsAny(e.Class, " \t\n\r\f"):
			ps.add(field+".class", "%q: give one class per entry", e.Class)
		case e.SHA256 != "":
			if _, ok := e.Hash(); !ok {
				ps.add(field+".sha256", "%q is not a SHA-256 in hex (64 hex digits, as consentgate explain-page prints it)", e.SHA256)
			}
		}
	}
	return ps
}

func (rc *Receipts) problems() []Problem {
	var ps problems
	if rc.MaxFileSize != 0 && rc.MaxFileSize < 4<<10 {
		ps.add(".max_file_size", "%d bytes is too small for a receipts file (at least 4KiB; default 64MiB)", rc.MaxFileSize)
	}
	return ps
}
