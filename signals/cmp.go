package signals

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/consentgate/consentgate/rules"
)

// cmpKind identifies a consent-management platform cookie.
type cmpKind uint8

const (
	cmpOneTrust cmpKind = iota
	cmpCookiebot
	cmpCookieYes
	cmpComplianz
	cmpDidomi
	cmpKlaro
	numCMPs
)

var cmpNames = [numCMPs]string{"onetrust", "cookiebot", "cookieyes", "complianz", "didomi", "klaro"}

// cmpResult is what one CMP cookie decides. Parsing may allocate: results
// are cached by cookie value, so a repeat visit costs a lookup.
type cmpResult struct {
	granted, denied rules.Categories
	// gpc: the CMP recorded a GPC signal (OneTrust isGpcEnabled or
	// browserGpcFlag = 1); it counts as an opt-out.
	gpc bool
	// groups are OneTrust's group ids and states; the site's mapping is
	// applied at read time, so the cached value does not depend on site.
	groups []otGroup
	// none: the cookie says no consent is needed or asked (Cookiebot
	// "-1"); it decides nothing.
	none bool
	fail failure
	// detail is what Explain shows (nil unless explaining).
	detail map[string]any
}

type otGroup struct {
	id string
	on bool
}

// parseCMP parses one CMP cookie value. name is the cookie name, needed for
// Complianz (one cookie per category).
func parseCMP(kind cmpKind, name, v []byte, explain bool) cmpResult {
	var res cmpResult
	if res.fail = sizeFailure(len(v), "empty cookie", "cookie too long"); !res.fail.ok() {
		return res
	}
	switch kind {
	case cmpOneTrust:
		parseOneTrust(v, &res)
	case cmpCookiebot:
		parseCookiebot(v, &res)
	case cmpCookieYes:
		parseCookieYes(v, &res)
	case cmpComplianz:
		parseComplianz(name, v, &res)
	case cmpDidomi:
		parseDidomi(v, &res)
	case cmpKlaro:
		parseKlaro(v, &res)
	}
	if !res.fail.ok() {
		// Whatever a parser read before it failed, a string it could not
		// read grants nothing (found by fuzzing: a Cookiebot value with
		// statistics:true before a malformed category).
		res.granted = 0
	}
	if explain {
		d := map[string]any{"cookie": string(name)}
		if res.fail.ok() {
			d["granted"] = res.granted.Names()
			d["denied"] = res.denied.Names()
			if kind == cmpOneTrust {
				g := map[string]bool{}
				for _, x := range res.groups {
					g[x.id] = x.on
				}
				d["groups"] = g
				d["gpc"] = res.gpc
			}
		}
		res.detail = d
	}
	return res
}

// parseOneTrust reads OptanonConsent: a URL query string whose "groups"
// value is "C0001:1,C0002:0,…" (id:1 granted, id:0 denied) and whose
// isGpcEnabled / browserGpcFlag are 0 or 1.
func parseOneTrust(v []byte, res *cmpResult) {
	q, err := url.ParseQuery(string(v))
	if err != nil {
		res.fail = failure{reason: ReasonBadSyntax, what: "not a query string"}
		return
	}
	if q.Get("isGpcEnabled") == "1" || q.Get("browserGpcFlag") == "1" {
		res.gpc = true
	}
	groups, ok := q["groups"]
	if !ok {
		if !res.gpc {
			res.fail = failure{reason: ReasonBadSyntax, what: "no groups"}
		}
		return
	}
	if len(groups) != 1 {
		res.fail = failure{reason: ReasonDuplicate, what: "groups given twice"}
		return
	}
	if groups[0] == "" {
		return // no group decided yet
	}
	for _, g := range strings.Split(groups[0], ",") {
		id, state, ok := strings.Cut(g, ":")
		if !ok || id == "" || (state != "0" && state != "1") {
			res.fail = failure{reason: ReasonBadSyntax, what: "group is not id:0 or id:1"}
			return
		}
		res.groups = append(res.groups, otGroup{id: id, on: state == "1"})
	}
}

// oneTrustCategories applies a site's group mapping (rules.Site
// OneTrustGroups); unknown group ids decide nothing.
func oneTrustCategories(groups []otGroup, m map[string]rules.Category) (granted, denied rules.Categories) {
	for _, g := range groups {
		c, ok := m[g.id]
		if !ok || c == rules.Necessary {
			continue
		}
		if g.on {
			granted |= rules.Of(c)
		} else {
			denied |= rules.Of(c)
		}
	}
	// A category two groups disagree on is denied.
	return granted &^ denied, denied
}

var defaultOneTrustGroups = map[string]rules.Category{
	"C0001": rules.Necessary, "C0002": rules.Analytics, "C0003": rules.Functional,
	"C0004": rules.Advertising, "C0005": rules.Social,
}

// cookiebotCategories are the categories of Cookiebot by name; Complianz
// names its cookies after them (and functional).
var cookiebotCategories = map[string]rules.Categories{
	"preferences": rules.Of(rules.Functional),
	"statistics":  rules.Of(rules.Analytics),
	"marketing":   rules.Of(rules.Advertising, rules.Social),
}

// parseCookiebot reads CookieConsent: a URL-encoded JavaScript object
// literal, {stamp:'…',necessary:true,preferences:false,statistics:false,
// marketing:false,method:'explicit',ver:1,…}. "-1" (also stamp:'-1') means
// consent is not required where the visitor is.
func parseCookiebot(v []byte, res *cmpResult) {
	s, ok := res.unescape(v)
	if !ok {
		return
	}
	if s == "-1" {
		res.none = true
		return
	}
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		res.fail = failure{reason: ReasonBadSyntax, what: "not an object literal"}
		return
	}
	seen := 0
	for _, kv := range strings.Split(s[1:len(s)-1], ",") {
		k, val, ok := strings.Cut(kv, ":")
		if !ok {
			continue // inside a quoted value with a comma, e.g. region lists
		}
		k = strings.Trim(strings.TrimSpace(k), "'\"")
		val = strings.Trim(strings.TrimSpace(val), "'\"")
		var cats rules.Categories
		switch k {
		case "stamp":
			if val == "-1" {
				res.none = true
				return
			}
			continue
		default:
			if cats = cookiebotCategories[k]; cats == 0 {
				continue
			}
		}
		if !res.answer(cats, val, "true", "false", &res.granted) {
			return
		}
		seen++
	}
	if seen == 0 {
		res.fail = failure{reason: ReasonBadSyntax, what: "no category"}
	}
	res.granted &^= res.denied
}

// unescape percent-decodes a cookie value, or fails res.
func (res *cmpResult) unescape(v []byte) (string, bool) {
	s, err := url.QueryUnescape(string(v))
	if err != nil {
		res.fail = failure{reason: ReasonBadSyntax, what: "bad percent-encoding"}
		return "", false
	}
	return s, true
}

// answer records a CMP's answer val for cats: yes adds them to granted,
// no to res.denied; anything else fails res.
func (res *cmpResult) answer(cats rules.Categories, val, yes, no string, granted *rules.Categories) bool {
	switch val {
	case yes:
		*granted |= cats
	case no:
		res.denied |= cats
	default:
		res.fail = failure{reason: ReasonBadValue, what: "category is not " + yes + " or " + no}
		return false
	}
	return true
}

// parseCookieYes reads cookieyes-consent: "consentid:…,consent:yes,
// action:yes,necessary:yes,functional:no,analytics:no,performance:no,
// advertisement:no,other:no". Grants count only after the visitor acted
// (action:yes); denials always count.
func parseCookieYes(v []byte, res *cmpResult) {
	s, ok := res.unescape(v)
	if !ok {
		return
	}
	acted := false
	var granted rules.Categories
	seen := 0
	for _, kv := range strings.Split(s, ",") {
		k, val, ok := strings.Cut(kv, ":")
		if !ok {
			res.fail = failure{reason: ReasonBadSyntax, what: "entry is not key:value"}
			return
		}
		var cats rules.Categories
		switch k {
		case "action":
			acted = val == "yes"
			continue
		case "functional":
			cats = rules.Of(rules.Functional)
		case "analytics", "performance":
			cats = rules.Of(rules.Analytics)
		case "advertisement":
			cats = rules.Of(rules.Advertising, rules.Social)
		default:
			continue
		}
		if !res.answer(cats, val, "yes", "no", &granted) {
			return
		}
		seen++
	}
	if seen == 0 {
		res.fail = failure{reason: ReasonBadSyntax, what: "no category"}
		return
	}
	if acted {
		res.granted = granted &^ res.denied
	}
}

// parseComplianz reads one cmplz_<category> cookie: "allow" or "deny".
func parseComplianz(name, v []byte, res *cmpResult) {
	cat := string(bytes.TrimPrefix(name, []byte("cmplz_")))
	cats := cookiebotCategories[cat]
	if cat == "functional" {
		cats = rules.Of(rules.Functional)
	}
	if cats == 0 {
		res.none = true
		return
	}
	switch string(v) {
	case "allow":
		res.granted = cats
	case "deny":
		res.denied = cats
	default:
		res.fail = failure{reason: ReasonBadValue, what: "value is not allow or deny"}
	}
}

// didomiPurposes maps Didomi's names of the TCF purposes to purpose ids.
var didomiPurposes = map[string]int{
	"cookies": 1, "select_basic_ads": 2, "create_ads_profile": 3, "select_personalized_ads": 4,
	"create_content_profile": 5, "select_personalized_content": 6, "measure_ad_performance": 7,
	"measure_content_performance": 8, "market_research": 9, "improve_products": 10,
	"use_limited_data_to_select_content": 11,
}

// parseDidomi reads didomi_token: base64 of a JSON object whose purposes
// field lists enabled and disabled purposes by name. The TCF purposes are
// mapped like a TC string's (see purposeCategories); custom purposes are
// ignored.
func parseDidomi(v []byte, res *cmpResult) {
	raw, err := decodeAnyBase64(v)
	if err != nil {
		res.fail = failure{reason: ReasonBadBase64, what: "bad base64"}
		return
	}
	var tok struct {
		Purposes *struct {
			Enabled  []string `json:"enabled"`
			Disabled []string `json:"disabled"`
		} `json:"purposes"`
	}
	if err := json.Unmarshal(raw, &tok); err != nil {
		res.fail = failure{reason: ReasonBadSyntax, what: "not JSON"}
		return
	}
	if tok.Purposes == nil {
		res.fail = failure{reason: ReasonBadSyntax, what: "no purposes"}
		return
	}
	var enabled uint32
	for _, name := range tok.Purposes.Enabled {
		if id, ok := didomiPurposes[name]; ok {
			enabled |= 1 << uint(id-1)
		}
	}
	disabled := false
	for _, name := range tok.Purposes.Disabled {
		if id, ok := didomiPurposes[name]; ok {
			enabled &^= 1 << uint(id-1) // disabled wins
			disabled = true
		}
	}
	g, d := categoriesFromPurposes(enabled)
	res.granted = g
	if disabled || len(tok.Purposes.Enabled) > 0 {
		res.denied = d
	}
}

func decodeAnyBase64(v []byte) ([]byte, error) {
	s := strings.TrimRight(string(v), "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// parseKlaro reads klaro: URL-encoded JSON {"<service>": true|false}. Klaro
// services are site-defined names that this package cannot map to
// categories, so it decides only the two unambiguous cases: every service
// declined denies every non-necessary category; every service accepted
// grants them.
func parseKlaro(v []byte, res *cmpResult) {
	s, err := url.QueryUnescape(string(v))
	if err != nil {
		res.fail = failure{reason: ReasonBadSyntax, what: "bad percent-encoding"}
		return
	}
	var m map[string]bool
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		res.fail = failure{reason: ReasonBadSyntax, what: "not a JSON object of booleans"}
		return
	}
	on, off := 0, 0
	for _, b := range m {
		if b {
			on++
		} else {
			off++
		}
	}
	switch {
	case on == 0 && off == 0:
		res.none = true
	case on == 0:
		res.denied = rules.AllButNecessary
	case off == 0:
		res.granted = rules.AllButNecessary
	}
}
