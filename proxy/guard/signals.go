package guard

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/signals"
)

// The signal scripts: what the head script carries besides the guard and
// the stub on sites that propagate the opt-out (propagate.js) or mirror a
// consent tool's choice (mirror.js). Readable sources and the served,
// minified forms (go generate; TestSignalScriptsMinifiedAreCurrent).
var (
	//go:embed propagate.js
	PropagateSource string
	//go:embed propagate.min.js
	propagateMinified string
	//go:embed mirror.js
	MirrorSource string
	//go:embed mirror.min.js
	mirrorMinified string
)

const (
	phPropagation = "__CG_PROPAGATION__"
	phMirror      = "__CG_MIRROR__"
)

// Propagation says what an opted-out visitor's head script tells the
// vendors that stay (rules.Site.Propagate): nothing, an opt-out, or an
// opt-out that came with Global Privacy Control (the GPP string's GPC
// sub-section says true).
type Propagation uint8

// The propagations.
const (
	PropagateNone Propagation = iota
	PropagateOptOut
	PropagateOptOutGPC
	numPropagations
)

// PropagationFor returns the propagation of site for decision c: none
// unless the site propagates and a "do not sell or share" signal opted the
// visitor out (c.DoNotSell); with GPC when Sec-GPC was one of its sources.
func PropagationFor(site *rules.Site, c signals.Consent) Propagation {
	switch {
	case site == nil || !site.Propagate || !c.DoNotSell:
		return PropagateNone
	case c.Sources&signals.GPC != 0:
		return PropagateOptOutGPC
	}
	return PropagateOptOut
}

// GPC reports whether p carries GPC.
func (p Propagation) GPC() bool { return p == PropagateOptOutGPC }

// signalScripts returns the text the head script of site carries for p
// after the guard and the stub: the propagation (when p is not none and
// the site propagates) and
// the consent mirror (when the site has it), each a statement of its own;
// "" when neither.
func signalScripts(site *rules.Site, p Propagation) string {
	var parts []string
	if p != PropagateNone && site != nil && site.Propagate {
		gpp := signals.GPPOptOut
		if p.GPC() {
			gpp = signals.GPPOptOutGPC
		}
		cfg, _ := json.Marshal(map[string]any{ // escapes <, > and &: safe in a script element
			"usp": signals.USPOptOut, "gpp": gpp, "sid": []int{7},
			"usnat": signals.PropagatedUSNat(p.GPC()),
		})
		parts = append(parts, fill(propagateMinified, phPropagation, string(cfg)))
	}
	if site != nil && site.Mirror {
		parts = append(parts, mirrorJS(site))
	}
	return strings.Join(parts, "\n")
}

// mirrorJS is the consent mirror filled in for site.
func mirrorJS(site *rules.Site) string {
	letters := map[rules.Category]string{rules.Functional: "f", rules.Analytics: "a", rules.Advertising: "d", rules.Social: "s"}
	groups := map[string]string{}
	for id, c := range site.OneTrustGroups {
		if l, ok := letters[c]; ok {
			groups[id] = l
		}
	}
	cfg, _ := json.Marshal(map[string]any{"c": signals.MirrorCookie, "g": groups})
	return fill(mirrorMinified, phMirror, string(cfg))
}

// fill replaces the placeholder of a minified script and drops its final
// newline.
func fill(js, ph, v string) string {
	return strings.TrimRight(strings.Replace(js, ph, v, 1), "\n")
}

// compileHead is the head script of site for a visitor who denies deny,
// without the guard: the stub and the signal scripts of p. It returns nil
// when there are no signal scripts (the rewriter's own stub then does).
func compileHead(set *rules.Set, site *rules.Site, deny rules.Categories, p Propagation) *Script {
	extra := signalScripts(site, p)
	if extra == "" {
		return nil
	}
	js := extra
	if stub := rewrite.StubScript(rewrite.Policy{Set: set, Site: site, Deny: deny}); len(stub) > 0 {
		js = string(stub) + "\n" + extra
	}
	return newScript(js, site, nil, 0)
}

// Mirror is the consent mirror alone, for the pages of a site with the
// mirror that the proxy does not otherwise change (visitors who have not
// opted out): appended after the document.
type Mirror struct {
	// Inline is the script element, "<script>…</script>".
	Inline []byte
	// Hash is the CSP source of its text, "'sha256-…'".
	Hash string
}

// CompileMirror returns the consent mirror of site, or nil when the site
// does not have it.
func CompileMirror(site *rules.Site) *Mirror {
	if site == nil || !site.Mirror {
		return nil
	}
	js := mirrorJS(site)
	sum := sha256.Sum256([]byte(js))
	return &Mirror{
		Inline: []byte("<script>" + js + "</script>"),
		Hash:   "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'",
	}
}
