package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/rules/reload"
	"github.com/consentgate/consentgate/signals"
	"github.com/valyala/fasthttp"
)

// offlineUpstream stands in for the upstream of commands that never connect.
const offlineUpstream = "http://127.0.0.1:1"

// loadSet compiles the config file, or the defaults without one.
func loadSet(path string) (*rules.Set, error) {
	cfg := config.Default(offlineUpstream)
	if path != "" {
		var err error
		if cfg, err = config.Read(path); err != nil {
			return nil, err
		}
		if cfg.Upstream == "" {
			cfg.Upstream = offlineUpstream
		}
	}
	return rules.Compile(cfg)
}

// headerList is a repeatable -H 'Name: value' flag.
type headerList []string

func (h *headerList) String() string { return strings.Join(*h, "\n") }

func (h *headerList) Set(v string) error {
	name, _, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(v, "\r\n") {
		return fmt.Errorf("want 'Name: value', got %q", v)
	}
	*h = append(*h, v)
	return nil
}

// requestHeader builds the header of a GET request for rawURL with the given
// header lines, parsed the way the proxy parses a real request.
func requestHeader(rawURL string, lines []string) (*fasthttp.RequestHeader, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, &usageError{fmt.Sprintf("--url %q: want an absolute URL such as https://www.example.com/", rawURL)}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), u.Host)
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	var h fasthttp.RequestHeader
	if err := h.Read(bufio.NewReader(&b)); err != nil {
		return nil, &usageError{fmt.Sprintf("cannot parse the request headers: %v", err)}
	}
	return &h, nil
}

func cmdExplain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("explain", stdout, stderr)
	config := fs.String("config", "", "config file (default: built-in catalogue and default policy)")
	rawURL := fs.String("url", "https://www.example.com/", "URL of the request; its host selects the site")
	var headers headerList
	fs.Var(&headers, "H", "request header 'Name: value' (repeatable), e.g. -H 'Sec-GPC: 1' -H 'Cookie: usprivacy=1YYN'")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set, err := loadSet(*config)
	if err != nil {
		return err
	}
	h, err := requestHeader(*rawURL, headers)
	if err != nil {
		return err
	}
	site := set.Site(h.Host())
	if site == nil {
		return fmt.Errorf("no site in %s answers for host %q", *config, h.Host())
	}
	return writeJSON(stdout, signals.NewReader().Explain(signals.PolicyOf(site), h), true)
}

func writeJSON(w io.Writer, v any, indent bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}

const rulesUsage = `Usage:
  consentgate rules match [--config FILE] [--site HOST] URL_OR_HOST...
      which vendor and category each URL or host belongs to, one JSON object a line
  consentgate rules list [--config FILE] [--json]
      every vendor of the catalogue (and the config's vendors and imports)

Run "consentgate rules SUBCOMMAND -h" for its flags.
`

func cmdRules(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, rulesUsage)
		return &usageError{"rules needs a subcommand: match or list"}
	}
	switch args[0] {
	case "match":
		return cmdRulesMatch(args[1:], stdout, stderr)
	case "list":
		return cmdRulesList(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, rulesUsage)
		return nil
	}
	fmt.Fprint(stderr, rulesUsage)
	return &usageError{fmt.Sprintf("unknown rules subcommand %q: want match or list", args[0])}
}

func cmdRulesMatch(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rules match", stdout, stderr)
	config := fs.String("config", "", "config file (default: built-in catalogue)")
	siteHost := fs.String("site", "", "classify as seen from this site's pages (its own and first-party hosts are not third parties)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return &usageError{"rules match needs at least one URL or host"}
	}
	set, err := loadSet(*config)
	if err != nil {
		return err
	}
	var site *rules.Site
	if *siteHost != "" {
		if site = set.Site([]byte(*siteHost)); site == nil {
			return fmt.Errorf("no site answers for host %q", *siteHost)
		}
	}
	type match struct {
		Input    string `json:"input"`
		Vendor   string `json:"vendor"`
		Category string `json:"category"`
	}
	for _, in := range fs.Args() {
		m := match{Input: in}
		if v := set.ClassifyURL(site, []byte(in)); v != nil {
			m.Vendor, m.Category = v.ID, site.Category(v).String()
		}
		if err := writeJSON(stdout, m, false); err != nil {
			return err
		}
	}
	return nil
}

func cmdRulesList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rules list", stdout, stderr)
	config := fs.String("config", "", "config file (default: built-in catalogue)")
	asJSON := fs.Bool("json", false, "print the whole catalogue as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set, err := loadSet(*config)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, set.List(), true)
	}
	w := bufio.NewWriter(stdout)
	for _, v := range set.Vendors() {
		fmt.Fprintf(w, "%-28s %-12s %s\n", v.ID, v.Category, strings.Join(v.Hosts, " "))
	}
	return w.Flush()
}

func cmdRewrite(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("rewrite", stdout, stderr)
	config := fs.String("config", "", "config file (default: built-in catalogue and default policy)")
	deny := fs.String("deny", "", "categories the visitor denies, comma-separated (advertising,analytics,social,functional,necessary)")
	rawURL := fs.String("url", "https://www.example.com/", "URL of the page; its host selects the site")
	withGuard := fs.Bool("guard", false, "rewrite as for a page that gets the runtime guard, as the proxy serves it: the guard inserted, and inline scripts that define the site's own state kept")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cats, err := rules.ParseCategories(*deny)
	if err != nil {
		return &usageError{fmt.Sprintf("--deny: %v", err)}
	}
	set, err := loadSet(*config)
	if err != nil {
		return err
	}
	u, err := url.Parse(*rawURL)
	if err != nil || u.Host == "" {
		return &usageError{fmt.Sprintf("--url %q: want an absolute URL", *rawURL)}
	}
	site := set.Site([]byte(u.Host))
	if site == nil {
		return fmt.Errorf("no site answers for host %q", u.Host)
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	pol := rewrite.Policy{Set: set, Site: site, Deny: cats, Stub: true, Guard: *withGuard}
	// With --guard, the runtime guard as the proxy inserts it into a page
	// served without a CSP (unless the site has guard: off).
	if g := guard.Compile(set, site, cats); *withGuard && g != nil && site.Guard != rules.GuardOff {
		pol.Head = g.Tag
		if site.Guard == rules.GuardInline {
			pol.Head = g.Inline
		}
	}
	w := rewrite.NewWriter(out, pol)
	if _, err := io.Copy(w, stdin); err != nil {
		return fmt.Errorf("cannot rewrite: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("cannot rewrite: %w", err)
	}
	return out.Flush()
}

// cmdCheck runs what a reload runs on the config file, with the settings
// serve would apply to it (--upstream and the account flags, or their
// variables), and reports every problem of the file at once.
func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", stdout, stderr)
	var f serveFlags
	fs.StringVar(&f.config, "config", "", "config file to validate (env CONSENTGATE_CONFIG)")
	fs.StringVar(&f.upstream, "upstream", "", "the upstream serve is given, for every site without its own (env CONSENTGATE_UPSTREAM); without it every site needs one in the file")
	fs.StringVar(&f.accountCookie, "account-cookie", "", "as serve --account-cookie (env CONSENTGATE_ACCOUNT_COOKIE)")
	fs.StringVar(&f.accountHeader, "account-header", "", "as serve --account-header (env CONSENTGATE_ACCOUNT_HEADER)")
	fs.StringVar(&f.accountSecretFile, "account-secret-file", "", "as serve --account-secret-file (env CONSENTGATE_ACCOUNT_SECRET_FILE)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("check takes no arguments, got %q", fs.Args())}
	}
	if err := f.applyEnv(fs.FlagSet); err != nil {
		return err
	}
	if f.config == "" {
		return &usageError{"check needs --config FILE"}
	}
	if err := f.check(); err != nil {
		return err
	}
	r := signals.NewReader()
	defer r.Close()
	set, err := reload.Check(f.config, f.hooks(r))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return &exitError{1}
	}
	defer set.Close()
	// Warnings go to stderr and leave the exit status 0: the rules are
	// valid and a reload would take them.
	for _, w := range set.Warnings() {
		fmt.Fprintf(stderr, "%s:%d: %s: warning: %s\n", f.config, w.Line, w.Field, w.Msg)
	}
	fmt.Fprintf(stdout, "%s: ok (%d sites, %d vendors, rules %s)\n", f.config, len(set.Sites()), len(set.Vendors()), set.Version())
	return nil
}

func cmdVersion(stdout io.Writer) error {
	gov := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		gov = bi.GoVersion
	}
	fmt.Fprintf(stdout, "consentgate %s (%s)\n", proxy.BuildVersion(), gov)
	return nil
}
