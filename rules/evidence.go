package rules

import (
	"fmt"
	"time"

	"github.com/consentgate/consentgate/rules/config"
)

// Canary is a site's compiled canary.
type Canary struct {
	Host     string
	Paths    []string
	Interval time.Duration
	Deny     Categories
	allow    map[*Vendor]bool
}

// DefaultCanaryInterval is how often a canary checks its pages by default.
const DefaultCanaryInterval = 5 * time.Minute

// Expects reports whether the canary expects v gone from an opted-out page.
func (c *Canary) Expects(v *Vendor) bool {
	return v != nil && c.Deny.Has(v.Category) && !c.allow[v]
}

// compileEvidence compiles the keys of a site that serve compliance
// evidence: decision_header, canary and declared_cookies, as far as
// config.Validate leaves them: the canary's deny and allow_vendors, and
// the cookie table the site names. site is nil when the rest of the site
// did not compile; the keys are still checked.
func (c *compiler) compileEvidence(sc config.Site, site *Site) []config.Problem {
	var probs []config.Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, config.Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	var can *Canary
	if cc := sc.Canary; cc != nil {
		can = &Canary{Interval: time.Duration(cc.Interval), Deny: DefaultDeny, allow: map[*Vendor]bool{}}
		if can.Interval == 0 {
			can.Interval = DefaultCanaryInterval
		}
		can.Host, _ = sc.CanaryHost()
		can.Paths = cc.Paths
		if cc.Deny != nil {
			can.Deny = c.categories(".canary.deny", cc.Deny, bad)
		}
		for j, id := range cc.AllowVendors {
			if v := c.vendor(fmt.Sprintf(".canary.allow_vendors[%d]", j), id, bad); v != nil {
				can.allow[v] = true
			}
		}
	}
	var decl *Declaration
	if sc.DeclaredCookies != "" {
		d, err := ReadDeclaration(c.cfg.Path(sc.DeclaredCookies))
		if err != nil {
			bad(".declared_cookies", "%v", err)
		} else {
			decl = d
		}
	}
	if site != nil && len(probs) == 0 {
		site.DecisionHeader = sc.DecisionHeader
		site.Canary = can
		site.Declared = decl
	}
	return probs
}
