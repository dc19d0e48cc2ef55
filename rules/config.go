package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is a consentgate configuration file as written, before validation.
// Parse fills it; Compile turns it into an immutable *Set.
type Config struct {
	// Listen, Admin and Upstream are the serve defaults; command-line flags
	// and environment variables override them.
	Listen   string `yaml:"listen"`
	Admin    string `yaml:"admin"`
	Upstream string `yaml:"upstream"`
	// UpstreamTimeout bounds one upstream round trip (default 30s); past it
	// the visitor gets a 504.
	UpstreamTimeout Duration `yaml:"upstream_timeout"`
	// Registry is the shared opt-out registry (optional; read at start).
	Registry *RegistryConfig `yaml:"registry"`
	// Account is the account key of every site that does not name its own.
	Account *AccountConfig `yaml:"account"`
	// Vendors are added to the built-in catalogue (or replace an entry with
	// the same id).
	Vendors []*Vendor `yaml:"vendors"`
	// Sites are matched by host, first match wins. With no sites, every host
	// gets the default policy and the default upstream.
	Sites []SiteConfig `yaml:"sites"`
	// Imports are public lists (ABP host rules, Disconnect, DuckDuckGo
	// Tracker Radar, Open Cookie Database) compiled in after the catalogue
	// and Vendors.
	Imports []ImportConfig `yaml:"imports"`
	// Receipts are the serve defaults of --receipts and its settings.
	Receipts *ReceiptsConfig `yaml:"receipts"`

	file  string
	dir   string    // directory of file; relative import paths start here
	raw   []byte    // the bytes parsed, for Set.Version and reload checks
	lines lineIndex // field path → line, for problems
}

// ImportConfig names one list to import.
type ImportConfig struct {
	// Format is abp, disconnect, tds or open-cookie-database.
	Format string `yaml:"format"`
	// Path of the file, relative to the config file's directory.
	Path string `yaml:"path"`
	// ID of the vendor an abp list becomes (default "abp-" and the file
	// name); for the other formats a prefix of the vendor ids (default the
	// format's short name).
	ID string `yaml:"id"`
	// Category overrides the list's own categories; abp lists default to
	// advertising.
	Category string `yaml:"category"`
	// Licence of the list, shown by consentgate rules list; required.
	Licence string `yaml:"licence"`
}

// SiteConfig is the policy of one site as written in the config file.
type SiteConfig struct {
	Name string `yaml:"name"`
	// Hosts the site answers for: exact names or "*.example.com" wildcards;
	// "*" matches every host.
	Hosts    []string `yaml:"hosts"`
	Upstream string   `yaml:"upstream"`
	// OptOutCookie is the site's own "Do Not Sell or Share" cookie
	// (default consentgate_optout=1).
	OptOutCookie *CookieConfig `yaml:"optout_cookie"`
	// Deny lists the categories an opt-out denies (default advertising,
	// analytics, social).
	Deny []string `yaml:"deny"`
	// Actions maps a category to remove or neutralise (default remove).
	Actions map[string]string `yaml:"actions"`
	// AllowVendors are catalogue vendor ids never enforced on this site.
	AllowVendors []string `yaml:"allow_vendors"`
	// FirstParty hosts (suffixes) are never third parties on this site.
	FirstParty []string `yaml:"first_party"`
	// DNT makes "DNT: 1" count as an opt-out (default off).
	DNT bool `yaml:"dnt"`
	// Region selects opt-in or opt-out mode by the visitor's country.
	Region *RegionConfig `yaml:"region"`
	// Shadow computes and counts every decision but changes nothing.
	Shadow bool `yaml:"shadow"`
	// Prefix of the built-in paths (default /.consentgate/).
	Prefix string `yaml:"prefix"`
	// OneTrustGroups maps OneTrust group ids to categories (default C0001
	// necessary, C0002 analytics, C0003 functional, C0004 advertising, C0005
	// social).
	OneTrustGroups map[string]string `yaml:"onetrust_groups"`
	// TCFVendors are IAB TCF vendor ids whose consent the site checks.
	TCFVendors []int `yaml:"tcf_vendors"`
	// VendorCategories maps a vendor id to the category this site gives
	// it, replacing the catalogue's category on this site only (the site's
	// cookie policy may call a vendor "essential" that the catalogue calls
	// advertising).
	VendorCategories map[string]string `yaml:"vendor_categories"`
	// Account is where the site's account id is and the secret that
	// hashes it (default: the top-level account).
	Account *AccountConfig `yaml:"account"`
	// KeepScripts are inline scripts the rewriter always keeps.
	KeepScripts []KeepScriptConfig `yaml:"keep_scripts"`
	// Guard is how the runtime guard is served to opted-out visitors:
	// external (default), inline or off.
	Guard string `yaml:"guard"`
	// DecisionHeader adds Consentgate-Decision to every proxied response.
	DecisionHeader bool `yaml:"decision_header"`
	// Propagate tells the vendors that stay on an opted-out visitor's page
	// about the opt-out in their own terms (usprivacy, __gpp cookies and
	// the __uspapi and __gpp APIs).
	Propagate bool `yaml:"propagate"`
	// Mirror serves the consent mirror on every HTML page of the site.
	Mirror bool `yaml:"mirror"`
	// Canary fetches pages through the proxy as an opted-out visitor.
	Canary *CanaryConfig `yaml:"canary"`
	// DeclaredCookies is the site's published cookie table (CSV), for
	// consentgate audit policy.
	DeclaredCookies string `yaml:"declared_cookies"`
	// Placeholders makes a removed embed (a video, map, social post or
	// audio player of a catalogue vendor with an embed) leave a
	// first-party placeholder of its size that says why it is not loaded,
	// with a button that loads it for this page view (default off).
	Placeholders bool `yaml:"placeholders"`
	// PlaceholderText replaces the placeholder's sentence about the embed
	// ({name}, {company}, {kind}).
	PlaceholderText string `yaml:"placeholder_text"`
	// PlaceholderButton replaces the button's label ({name}, {kind}).
	PlaceholderButton string `yaml:"placeholder_button"`
	// OptOutConfirmation: the opt-out endpoint answers with a page that
	// confirms what was recorded (default true); false sends the visitor
	// straight back (303), as ?redirect=1 does.
	OptOutConfirmation *bool `yaml:"optout_confirmation"`
	// OptOutText replaces the confirmation page's first paragraph.
	OptOutText string `yaml:"optout_text"`
	// GPCNotice shows visitors whose opt-out came from Global Privacy
	// Control a small, dismissible "Opt-out preference signal honored"
	// notice (default off).
	GPCNotice bool `yaml:"gpc_notice"`
	// GPCNoticeText replaces the notice's text.
	GPCNoticeText string `yaml:"gpc_notice_text"`
}

// CookieConfig names a cookie and the value that means "opted out".
type CookieConfig struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// RegionConfig says how the visitor's country is known.
type RegionConfig struct {
	// CountryHeader is a request header set by a trusted front end
	// (e.g. CF-IPCountry); empty means not used.
	CountryHeader string `yaml:"country_header"`
	// GeoIPDatabase is the path of a MaxMind country database; empty means not used.
	GeoIPDatabase string `yaml:"geoip_database"`
	// OptInCountries overrides the default opt-in list (EU/EEA, UK, CH).
	OptInCountries []string `yaml:"optin_countries"`
	// StateHeader is a request header set by a trusted front end with the
	// visitor's US state ("US-TX", or "TX" when the country is US); when
	// set, a visitor is judged by the GPP section of their state's law
	// (see signals.Law). Empty means not used.
	StateHeader string `yaml:"state_header"`
}

// Duration is a time.Duration written as "30s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	// A *yaml.TypeError lets the decoder go on and report every problem.
	v, err := time.ParseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (write e.g. 30s or 1m)", n.Line, n.Value)}}
	}
	if v <= 0 {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: duration %q must be positive", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// ConfigError lists every problem found in a config, each with file and line.
type ConfigError struct {
	File     string
	Problems []Problem
}

// Problem is one config error: where it is, which field, and what is wrong.
type Problem struct {
	Line  int
	Field string
	Msg   string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if p.Line > 0 {
			fmt.Fprintf(&b, "%s:%d: ", e.File, p.Line)
		} else {
			fmt.Fprintf(&b, "%s: ", e.File)
		}
		if p.Field != "" {
			fmt.Fprintf(&b, "%s: ", p.Field)
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// merge adds the problems of compiling a partly parsed config to e, the
// problems of parsing it, and returns e. A compile problem of a field that
// failed to parse, of a part of it or of the entry holding it (a vendor
// that "matches nothing" because its hosts key was misspelt) is a
// consequence and dropped.
func (e *ConfigError) merge(compileErr error) *ConfigError {
	var ce *ConfigError
	if !errors.As(compileErr, &ce) {
		if compileErr != nil {
			e.Problems = append(e.Problems, Problem{Msg: compileErr.Error()})
		}
		return e
	}
	parsed := len(e.Problems)
	for _, p := range ce.Problems {
		consequence := false
		for _, q := range e.Problems[:parsed] {
			if q.Field != "" && p.Field != "" && (within(p.Field, q.Field) || within(q.Field, p.Field)) {
				consequence = true
				break
			}
		}
		if !consequence {
			e.Problems = append(e.Problems, p)
		}
	}
	sort.SliceStable(e.Problems, func(i, j int) bool { return e.Problems[i].Line < e.Problems[j].Line })
	return e
}

// within reports whether field path f is p or a part of it.
func within(f, p string) bool {
	return f == p || strings.HasPrefix(f, p+".") || strings.HasPrefix(f, p+"[")
}

// ReadConfig reads and parses the config file at path.
func ReadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %w", err)
	}
	return ParseConfig(data, path)
}

// ParseConfig parses a YAML config. Unknown keys and values of the wrong type
// are errors; all of them are reported at once in a *ConfigError, each with
// its line and field path. name is used in messages and to resolve the
// relative paths of imports.
func ParseConfig(data []byte, name string) (*Config, error) {
	cfg, ce := parsePartial(data, name)
	if ce != nil {
		return nil, ce
	}
	return cfg, nil
}

// parsePartial is ParseConfig that also returns what it could decode when a
// key is unknown or a value of the wrong type, so that compiling it can
// report the rest of the file's problems in the same run. The config is nil
// when nothing could be decoded (a syntax error).
func parsePartial(data []byte, name string) (*Config, *ConfigError) {
	cfg := &Config{file: name, dir: filepath.Dir(name), raw: data, lines: lineIndex{}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		probs := yamlProblems(err, nil)
		if len(probs) == 1 {
			probs[0].Line = syntaxLine(data, probs[0].Line)
		}
		return nil, &ConfigError{File: name, Problems: probs}
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		if top := root.Content[0]; top.Kind != yaml.MappingNode && !(top.Kind == yaml.ScalarNode && top.Tag == "!!null") {
			return nil, &ConfigError{File: name, Problems: []Problem{{Line: top.Line, Msg: "the config must be a mapping of keys such as upstream: and sites:"}}}
		}
		cfg.lines.add(root.Content[0], "")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, &ConfigError{File: name, Problems: yamlProblems(err, cfg.lines)}
	}
	return cfg, nil
}

// maxSyntaxScan bounds the configs whose syntax errors syntaxLine locates
// by parsing prefixes (a parse per line).
const maxSyntaxScan = 2000

// syntaxLine returns the line of a YAML syntax error: the one after the
// longest prefix of whole lines that still parses. The yaml package reports
// the line where the enclosing construct starts, counted from 0 for parser
// errors, or where the problem is when that construct starts on the first
// line: an unclosed "[" on line 4 came out as line 3, a stray "- x" in the
// top-level mapping on line 4 as line 3, and some errors as line 1. Longer
// configs keep the reported line.
func syntaxLine(data []byte, reported int) int {
	ends := []int{}
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	if len(ends) > maxSyntaxScan {
		return reported
	}
	var n yaml.Node
	// ends[k-1] is the end of line k; the whole document (k = len) fails.
	for k := len(ends) - 1; k > 0; k-- {
		if yaml.Unmarshal(data[:ends[k-1]], &n) == nil {
			return k + 1
		}
	}
	return 1
}

// lineIndex maps a field path such as "sites[0].hosts[1]" to where it is.
type lineIndex map[string]nodePos

type nodePos struct {
	line  int
	value string // of a scalar
}

func (ix lineIndex) add(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			ix[p] = nodePos{n.Content[i].Line, n.Content[i+1].Value}
			ix.add(n.Content[i+1], p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			ix[p] = nodePos{c.Line, c.Value}
			ix.add(c, p)
		}
	}
}

// line returns the line of path, or of its nearest parent that has one.
func (ix lineIndex) line(path string) int {
	for path != "" {
		if np, ok := ix[path]; ok {
			return np.line
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// at returns the path on line whose last key is key ("" for any) and whose
// value is value ("" for any; a yaml message shortens long values to a
// prefix and "..."); the deepest such path wins, then the first. It also
// returns the full value.
func (ix lineIndex) at(line int, key, value string) (string, string) {
	best, full := "", ""
	short, cut := strings.CutSuffix(value, "...")
	for p, np := range ix {
		if np.line != line || key != "" && !strings.HasSuffix("."+p, "."+key) {
			continue
		}
		if value != "" && np.value != value && !(cut && strings.HasPrefix(np.value, short)) {
			continue
		}
		if len(p) > len(best) || len(p) == len(best) && p < best {
			best, full = p, np.value
		}
	}
	return best, full
}

var (
	reUnknownField = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	reCannot       = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (\\S+)$")
)

// keysOf lists the YAML keys of the config types, for "unknown key" hints.
var keysOf = map[string]reflect.Type{
	"rules.Config":           reflect.TypeFor[Config](),
	"rules.SiteConfig":       reflect.TypeFor[SiteConfig](),
	"rules.CookieConfig":     reflect.TypeFor[CookieConfig](),
	"rules.RegionConfig":     reflect.TypeFor[RegionConfig](),
	"rules.ImportConfig":     reflect.TypeFor[ImportConfig](),
	"rules.RegistryConfig":   reflect.TypeFor[RegistryConfig](),
	"rules.AccountConfig":    reflect.TypeFor[AccountConfig](),
	"rules.Vendor":           reflect.TypeFor[Vendor](),
	"rules.KeepScriptConfig": reflect.TypeFor[KeepScriptConfig](),
	"rules.CanaryConfig":     reflect.TypeFor[CanaryConfig](),
	"rules.ReceiptsConfig":   reflect.TypeFor[ReceiptsConfig](),
}

// yamlProblems turns a yaml error ("yaml: line 3: field x not found in type
// rules.SiteConfig") into problems with field paths and plain messages.
func yamlProblems(err error, ix lineIndex) []Problem {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	out := make([]Problem, 0, len(msgs))
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		p := Problem{Msg: m}
		var line int
		if n, _ := fmt.Sscanf(m, "line %d:", &line); n == 1 {
			p.Line = line
			p.Msg = strings.TrimSpace(m[strings.IndexByte(m, ':')+1:])
		}
		if sm := reUnknownField.FindStringSubmatch(p.Msg); sm != nil {
			p.Field, _ = ix.at(p.Line, sm[1], "")
			p.Msg = fmt.Sprintf("unknown key %q", sm[1])
			if t, ok := keysOf[sm[2]]; ok {
				keys := yamlKeys(t)
				if s := closest(sm[1], keys); s != "" {
					p.Msg += fmt.Sprintf(" (did you mean %q?)", s)
				} else {
					p.Msg += " (known keys: " + strings.Join(keys, ", ") + ")"
				}
			}
		} else if sm := reCannot.FindStringSubmatch(p.Msg); sm != nil {
			value := sm[2]
			if f, full := ix.at(p.Line, "", value); f != "" {
				p.Field = f
				if value != "" {
					value = full
				}
			} else {
				p.Field, _ = ix.at(p.Line, "", "")
			}
			p.Msg = typeMessage(sm[1], value, sm[3])
		} else if p.Line > 0 && ix != nil {
			p.Field, _ = ix.at(p.Line, "", "")
		}
		out = append(out, p)
	}
	return out
}

// typeMessage explains a value of the wrong YAML type.
func typeMessage(tag, value, goType string) string {
	got := map[string]string{"!!seq": "a list", "!!map": "a mapping", "!!str": "text", "!!int": "a number", "!!bool": "true/false", "!!float": "a number"}[tag]
	if value != "" {
		got = fmt.Sprintf("%q", value)
	}
	if got == "" {
		got = tag
	}
	var want string
	switch {
	case goType == "bool":
		want = "true or false"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		want = "a whole number"
	case goType == "string":
		want = "a single value"
	case strings.HasPrefix(goType, "[]"):
		want = "a list"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "rules."):
		want = "a mapping of keys"
	default:
		want = goType
	}
	return fmt.Sprintf("want %s, got %s", want, got)
}

// yamlKeys returns the yaml keys of a struct type in declaration order.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}

// closest returns the key within edit distance 2 of s, or "".
func closest(s string, keys []string) string {
	best, bestD := "", 3
	for _, k := range keys {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// DefaultConfig is the config of "serve" without a file: every host proxied to
// upstream with the built-in catalogue and the default policy.
func DefaultConfig(upstream string) *Config {
	return &Config{Upstream: upstream, file: "(defaults)", dir: "."}
}

// File is the name the config was read from.
func (c *Config) File() string { return c.file }

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
