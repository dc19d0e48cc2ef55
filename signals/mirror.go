package signals

import "github.com/consentgate/consentgate/rules"

// MirrorCookie is the first-party cookie the consent mirror writes: the
// choice a visitor made in a JavaScript-only consent tool, in a compact
// form the edge reads on the next request (see docs/signals.md, "Consent
// mirror"). It is read only on sites that enable the mirror
// (rules.Site.Mirror).
//
// Its value is
//
//	1.O.DENIED.FROM
//
// where 1 is the version; O is "1" when the tool recorded an opt-out of
// sale or sharing, else "0"; DENIED is "-" or the categories the tool
// denied, each at most once: f functional, a analytics, d advertising,
// s social; FROM names, each at most once and at least one, where the
// mirror read it: t __tcfapi, g __gpp, u __uspapi, o OneTrust, c
// Cookiebot, y CookieYes, z Complianz, i Didomi, k Klaro. Example:
// consentgate_mirror=1.1.ads.tu (an opt-out, analytics, advertising and
// social denied, read through __tcfapi and __uspapi).
//
// The mirror only ever denies: a visitor can set any cookie of their own,
// so a value that granted something would let anyone switch trackers on
// for themselves past the edge. Anything else than the grammar above
// (another version included) fails closed: an opt-out with a reason.
const MirrorCookie = rules.MirrorCookie

// mirrorFrom are the letters of FROM in bit order, and their names.
const mirrorFromLetters = "tguocyzik"

var mirrorFromNames = [len(mirrorFromLetters)]string{
	"tcfapi", "gpp", "uspapi", "onetrust", "cookiebot", "cookieyes", "complianz", "didomi", "klaro",
}

// mirrorDenied maps the letters of DENIED to categories.
func mirrorCategory(c byte) (rules.Category, bool) {
	switch c {
	case 'f':
		return rules.Functional, true
	case 'a':
		return rules.Analytics, true
	case 'd':
		return rules.Advertising, true
	case 's':
		return rules.Social, true
	}
	return 0, false
}

// mirrorResult is what a mirror cookie says.
type mirrorResult struct {
	optOut bool
	denied rules.Categories
	from   uint16 // bit i: mirrorFromLetters[i]
	fail   failure
}

// maxMirrorLen is the longest well-formed value: "1.1.fads." and nine
// sources.
const maxMirrorLen = len("1.1.fads.") + len(mirrorFromLetters)

// parseMirror reads a mirror cookie value. It allocates nothing.
func parseMirror(v []byte) mirrorResult {
	var res mirrorResult
	switch {
	case len(v) == 0:
		res.fail = failure{reason: ReasonEmpty, what: "empty cookie"}
		return res
	case len(v) > maxMirrorLen:
		res.fail = failure{reason: ReasonTooLong, what: "cookie too long"}
		return res
	case v[0] != '1':
		res.fail = failure{reason: ReasonBadVersion, what: "version is not 1"}
		return res
	case len(v) < len("1.0.-.t") || v[1] != '.' || v[3] != '.':
		res.fail = failure{reason: ReasonBadSyntax, what: "not 1.O.DENIED.FROM"}
		return res
	}
	switch v[2] {
	case '1':
		res.optOut = true
	case '0':
	default:
		res.fail = failure{reason: ReasonBadValue, what: "opt-out is not 0 or 1"}
		return res
	}
	rest := v[4:]
	i := 0
	for i < len(rest) && rest[i] != '.' {
		i++
	}
	denied, from := rest[:i], rest[min(i+1, len(rest)):]
	if i == len(rest) || len(denied) == 0 || len(from) == 0 {
		res.fail = failure{reason: ReasonBadSyntax, what: "not 1.O.DENIED.FROM"}
		return res
	}
	if len(denied) != 1 || denied[0] != '-' {
		for _, c := range denied {
			cat, ok := mirrorCategory(c)
			if !ok || res.denied.Has(cat) {
				res.fail = failure{reason: ReasonBadValue, what: "bad denied category letter"}
				res.denied = 0
				return res
			}
			res.denied |= rules.Of(cat)
		}
	}
	for _, c := range from {
		j := 0
		for j < len(mirrorFromLetters) && mirrorFromLetters[j] != c {
			j++
		}
		if j == len(mirrorFromLetters) || res.from&(1<<j) != 0 {
			res.fail = failure{reason: ReasonBadValue, what: "bad source letter"}
			res.denied = 0
			return res
		}
		res.from |= 1 << j
	}
	return res
}

// MirrorSignal is the mirror member of Signals: the cookie as sent and
// what it said.
type MirrorSignal struct {
	Cookie string   `json:"cookie"`
	OptOut bool     `json:"opt_out"`
	Denied []string `json:"denied"`
	// From are the places the page's mirror read the choice from
	// (tcfapi, gpp, uspapi, onetrust, …): what the page reported, which a
	// visitor can set as they like; it never grants anything.
	From  []string `json:"from"`
	Error string   `json:"error,omitempty"`
}

func (r *Reader) readMirror(q *request, dc *decision) {
	if !q.mirror.seen {
		return
	}
	if q.mirror.dup {
		dc.fail(Mirror, failure{reason: ReasonDuplicate, what: "two cookies with different values"})
		return
	}
	res := parseMirror(q.mirror.v)
	if dc.d != nil {
		ms := &MirrorSignal{Cookie: string(q.mirror.v), Denied: []string{}, From: []string{}}
		if res.fail.ok() {
			ms.OptOut, ms.Denied = res.optOut, res.denied.Names()
			for i, n := range mirrorFromNames {
				if res.from&(1<<i) != 0 {
					ms.From = append(ms.From, n)
				}
			}
		} else {
			ms.Error = res.fail.what
		}
		dc.d.Mirror = ms
	}
	if !res.fail.ok() {
		dc.fail(Mirror, res.fail)
		return
	}
	if res.optOut {
		dc.optOut(Mirror)
	}
	dc.deny(Mirror, res.denied)
}
