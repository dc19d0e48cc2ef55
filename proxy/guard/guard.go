package guard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"sync"

	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
)

// Source is the readable source of the guard (guard.js); Minified is what
// is served (guard.min.js, generated from it by go generate). Both still
// hold the placeholders that Compile fills in.
var (
	//go:embed guard.js
	Source string
	//go:embed guard.min.js
	Minified string
)

// The placeholders of the guard's source, each written once in its last
// line.
const (
	phTable    = "__CG_TABLE__"
	phIDs      = "__CG_IDS__"
	phEndpoint = "__CG_ENDPOINT__"
	phEmbeds   = "__CG_EMBEDS__"
)

// Script is the guard compiled for one policy: a site and the categories
// a visitor denies. It is immutable.
type Script struct {
	// JS is the script text: the guard, then the stub that defines the
	// denied vendors' globals (rewrite.StubScript), then the site's signal
	// scripts (signals.go), if any.
	JS []byte
	// Hash is the CSP source of JS, "'sha256-…'".
	Hash string
	// Fingerprint names the content: the first 12 bytes of the SHA-256 of
	// JS in hex. Every replica with the same rules computes the same one.
	Fingerprint string
	// Path is where the proxy serves JS: the site's prefix, "guard/", the
	// fingerprint and ".js".
	Path string
	// Inline is the script element that carries JS in the page.
	Inline []byte
	// Tag is the script element that loads JS from Path.
	Tag []byte
	// Vendors are the denied vendors of the host table, in table order.
	Vendors []*rules.Vendor
	// Hosts is the number of host entries in the table (every section).
	Hosts int
	// Guarded says that JS holds the guard. A head script without it
	// (Cache.Head, for a policy with nothing to refuse or a site with
	// guard: off) carries the stub and the signal scripts only.
	Guarded bool

	gzipOnce sync.Once
	gzip     []byte
}

// Gzip returns JS gzip-encoded at best compression, for serving. It is
// computed on first use, not by Compile, which runs on a page's path.
func (s *Script) Gzip() []byte {
	s.gzipOnce.Do(func() {
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(s.JS) //nolint:errcheck // to memory
		zw.Close()     //nolint:errcheck
		s.gzip = gz.Bytes()
	})
	return s.gzip
}

// EndpointPath is the path, under a site's prefix, where the guard posts
// its counts.
const EndpointPath = "guard"

// ScriptDir is the path, under a site's prefix, of the guard's scripts.
const ScriptDir = "guard/"

// Compile builds the guard for site and a visitor who denies deny. It
// returns nil when the policy denies no vendor that has a host: there is
// nothing for a guard to refuse. site may be nil (no allow-list, no
// first-party hosts, the default prefix).
func Compile(set *rules.Set, site *rules.Site, deny rules.Categories) *Script {
	return CompileFor(set, site, deny, PropagateNone)
}

// CompileFor is Compile for a visitor whose opt-out the page propagates as
// p: the script also carries the signal scripts of the site (see
// signals.go), after the guard and the stub.
func CompileFor(set *rules.Set, site *rules.Site, deny rules.Categories, p Propagation) *Script {
	t := compileTable(set, site, deny)
	if len(t.vendors) == 0 {
		return nil
	}
	prefix := rules.DefaultPrefix
	if site != nil {
		prefix = site.Prefix
	}
	ids := make([]string, len(t.vendors))
	for i, v := range t.vendors {
		ids[i] = v.ID
	}
	idsJS, _ := json.Marshal(ids) // escapes <, > and &: safe inside a script element
	endpointJS, _ := json.Marshal(prefix + EndpointPath)
	// The denied vendors whose embeds may stand as placeholders, with the
	// paths of their embeds (rules.Embed.Paths): a click on one lets
	// exactly those frames through.
	embeds := make(map[string][]string)
	for _, v := range t.vendors {
		if v.Embed != nil {
			embeds[v.ID] = append([]string{}, v.Embed.Paths...)
		}
	}
	embedsJS, _ := json.Marshal(embeds) // sorted keys, <>& escaped
	js := strings.Replace(Minified, phTable, `"`+t.text+`"`, 1)
	js = strings.Replace(js, phIDs, string(idsJS), 1)
	js = strings.Replace(js, phEndpoint, string(endpointJS), 1)
	js = strings.Replace(js, phEmbeds, string(embedsJS), 1)
	js = strings.TrimRight(js, "\n")
	if stub := rewrite.StubScript(rewrite.Policy{Set: set, Site: site, Deny: deny}); len(stub) > 0 {
		js += "\n" + string(stub)
	}
	if extra := signalScripts(site, p); extra != "" {
		js += "\n" + extra
	}
	s := newScript(js, site, t.vendors, t.hosts)
	s.Guarded = true
	return s
}

// newScript names and wraps the script text js of site.
func newScript(js string, site *rules.Site, vendors []*rules.Vendor, hosts int) *Script {
	prefix := rules.DefaultPrefix
	if site != nil {
		prefix = site.Prefix
	}
	sum := sha256.Sum256([]byte(js))
	s := &Script{
		JS:          []byte(js),
		Hash:        "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'",
		Fingerprint: hex.EncodeToString(sum[:12]),
		Vendors:     vendors,
		Hosts:       hosts,
	}
	s.Path = prefix + ScriptDir + s.Fingerprint + ".js"
	s.Inline = []byte("<script>" + js + "</script>")
	s.Tag = []byte(`<script src="` + s.Path + `"></script>`)
	return s
}

// table is the host table of one policy as the guard reads it.
type table struct {
	text    string // sections joined by "|", hosts by ","
	vendors []*rules.Vendor
	hosts   int
}

// compileTable builds the guard's host table so that its lookup answers as
// set.Classify(site, host) does, restricted to the vendors site denies for
// deny (by the site's category of each, site.Denied): section 0
// holds the site's first-party hosts, section 1 the entries of vendors
// that are not denied but lie under a denied vendor's entry (the most
// specific entry wins, so they must be there to let a host through),
// section k >= 2 the entries of denied vendor k-2. Entries without a dot
// are left out: no lookup ever reaches one. Hosts are sorted and vendors
// in set order, so the same rules give the same bytes.
func compileTable(set *rules.Set, site *rules.Site, deny rules.Categories) table {
	denied := func(v *rules.Vendor) bool { return site.Denied(v, deny) }
	deniedHosts := make(map[string]*rules.Vendor)
	var other []string
	set.EachHost(func(h string, v *rules.Vendor) {
		if !tableHost(h) {
			return
		}
		if denied(v) {
			deniedHosts[h] = v
		} else {
			other = append(other, h)
		}
	})
	var t table
	if len(deniedHosts) == 0 {
		return t
	}
	var allow []string
	for _, h := range other {
		for suf, ok := next(h); ok; suf, ok = next(suf) {
			if _, d := deniedHosts[suf]; d {
				allow = append(allow, h)
				break
			}
		}
	}
	var firstParty []string
	if site != nil {
		for _, h := range site.FirstParty() {
			if tableHost(h) {
				firstParty = append(firstParty, h)
			}
		}
	}
	byVendor := make(map[*rules.Vendor][]string)
	for h, v := range deniedHosts {
		byVendor[v] = append(byVendor[v], h)
	}
	for v := range byVendor {
		t.vendors = append(t.vendors, v)
	}
	slices.SortFunc(t.vendors, func(a, b *rules.Vendor) int { return a.Index() - b.Index() })
	var b strings.Builder
	section := func(hosts []string) {
		slices.Sort(hosts)
		b.WriteString(strings.Join(hosts, ","))
		t.hosts += len(hosts)
	}
	section(firstParty)
	b.WriteByte('|')
	section(allow)
	for _, v := range t.vendors {
		b.WriteByte('|')
		section(byVendor[v])
	}
	t.text = b.String()
	return t
}

// next returns h without its first label, and whether what is left has a
// dot: the suffixes rules.Set looks up.
func next(h string) (string, bool) {
	i := strings.IndexByte(h, '.')
	if i < 0 {
		return "", false
	}
	h = h[i+1:]
	return h, strings.IndexByte(h, '.') >= 0
}

// tableHost reports whether h can be a table entry: it has a dot (no
// lookup reaches a single label) and only the bytes rules accepts in a
// host name, none of them a separator of the table or special in a
// JavaScript string.
func tableHost(h string) bool {
	if strings.IndexByte(h, '.') < 0 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
