package signals

// Explanation is the decision for one request in the JSON shape that
// "consentgate explain" and the status endpoint print.
type Explanation struct {
	OptedOut bool     `json:"opted_out"`
	Denied   []string `json:"denied"`
	Sources  []string `json:"sources"`
	Errors   []string `json:"errors"`
	Signals  Signals  `json:"signals"`
	// Law is the visitor's US state and its law, when the site names a
	// state header (rules.Site.StateHeader) and the request carries a
	// state: which law and GPP section decided.
	Law     *LawSignal `json:"law,omitempty"`
	Consent Consent    `json:"-"`
}

// LawSignal is the law member of an Explanation. Its fields are the
// state's policy pack (Law: name, citation, source, effective date,
// opt-outs, whether it requires honouring GPC), absent for a state
// without one, and what the request made of it.
type LawSignal struct {
	// State is the visitor's state, "US-TX"; From is where it came from
	// ("header").
	State string `json:"state"`
	From  string `json:"from"`
	*Law
	// DecidedBy is the GPP section whose opt-out fields decided: the
	// state's own, "usnat" when the string has no section of the state,
	// "any" when it has neither (every section counted). Absent without a
	// GPP string or without a pack for the state.
	DecidedBy string `json:"decided_by,omitempty"`
	// GPC, when the request carried Global Privacy Control (Sec-GPC: 1 or
	// a true GPC sub-section), says on what footing it was honoured:
	// "required" (the state's law requires it today) or "policy" (it does
	// not, or not yet; consentgate honours GPC everywhere).
	GPC string `json:"gpc,omitempty"`
}

// Signals is what each signal decoded to. A signal that was not present is
// false or null.
type Signals struct {
	GPC          bool       `json:"gpc"`
	OptOutCookie bool       `json:"optout_cookie"`
	DNT          bool       `json:"dnt"`
	USP          *USPSignal `json:"usp"`
	GPP          *GPPSignal `json:"gpp"`
	// TCF is the euconsent-v2 cookie decoded: version, cmp_id,
	// purposes_consent, special_features, vendor_consents, …
	TCF map[string]any `json:"tcf"`
	// CMP has one member per CMP cookie read (onetrust, cookiebot,
	// cookieyes, didomi, klaro, or the cmplz_* cookie name): the cookie,
	// what it granted and denied, and any error.
	CMP    map[string]any `json:"cmp"`
	Region *RegionSignal  `json:"region"`
	// Registry is the shared opt-out registry's answer for the request's
	// account; null when the request carries no account key.
	Registry *RegistrySignal `json:"registry"`
	// Mirror is the consent mirror's cookie, on a site with the mirror;
	// null without one.
	Mirror *MirrorSignal `json:"mirror"`

	errors []string
	law    *LawSignal
	gppGPC bool // a GPP section's GPC sub-section said true
}

// USPSignal is the usp member of Signals.
type USPSignal struct {
	String     string `json:"string"`
	OptOutSale string `json:"opt_out_sale"`
}

// GPPSignal is the gpp member of Signals: the section ids of the header and
// every decoded section by its short name (usnat, usca, uspv1, tcfeuv2, …),
// fields by their names in the IAB specification.
type GPPSignal struct {
	SectionIDs []int          `json:"section_ids"`
	Applicable []int          `json:"applicable_section_ids,omitempty"`
	Sections   map[string]any `json:"sections"`
}

// RegistrySignal is the registry member of Signals. It never carries the
// account id or its hash.
type RegistrySignal struct {
	Account bool   `json:"account"` // the request carried the site's account key
	Answer  string `json:"answer"`  // opted_out, not_opted_out or unknown
}

// RegionSignal is the region member of Signals.
type RegionSignal struct {
	Country string `json:"country,omitempty"`
	From    string `json:"from,omitempty"` // "header" or "geoip"
	Mode    string `json:"mode"`           // "opt-in" or "opt-out"
	Error   string `json:"error,omitempty"`
	// IgnoredHeader says the country header came from a peer that is not
	// a trusted proxy and named an opt-out country, so it was not believed.
	IgnoredHeader bool `json:"ignored_header,omitempty"`
}

func (e *Explanation) fill(c Consent) {
	e.Consent = c
	e.OptedOut = c.OptedOut
	e.Denied = c.Denied.Names()
	e.Sources = c.Sources.Names()
	e.Errors = e.Signals.errors
	e.Law = e.Signals.law
	if e.Errors == nil {
		e.Errors = []string{}
	}
}
