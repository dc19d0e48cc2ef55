package realpages

import (
	"net"

	"github.com/consentgate/consentgate/rules"
)

// Exclusion is a host the tracker list flags that is not tracking in the
// sense of an opt-out of sale and sharing, with the reason. Hosts match by
// suffix at a label boundary.
type Exclusion struct {
	Host   string `json:"host"`
	Reason string `json:"reason"`
}

// FirstParty is Request.Excluded for a list hit on the page's own site:
// a host under the registrable domain the page was saved from.
const FirstParty = "first-party"

// Exclusions are the list's hits that are not counted, each justified (see
// docs/browser-measure.md). The catalogue judgement has none beyond its
// categories.
var Exclusions = []Exclusion{
	{"popupdomination.com", "a pop-up form builder the site runs (newsletter sign-up); functional in the catalogue like OptinMonster, listed by EasyList for its pop-ups, not for collecting data"},
	{"loader-cdn.azureedge.net", "Marketing G2's loader, which runs the site's paywall, subscriptions and login; EasyPrivacy itself allows a site's loader.min.js because blocking it breaks the site"},
	{"a.ria.ru", "the publisher's own Matomo counter (Rossiya Segodnya owns ria.ru and sputniknews.com): first-party analytics on a sister domain, not a sale or share"},
}

// judge decides whether a request goes to a tracker, by the catalogue and
// by the list.
type judge struct {
	set    *rules.Set
	policy *rules.Site
	list   *List // nil: the list judgement is not made
}

// verdict fills the judgement fields of q, made on a page saved from
// pageHost.
func (j *judge) verdict(q *Request, pageHost string) {
	q.Vendor, q.Category, q.Rule, q.Exception, q.Excluded = "", "", "", "", ""
	if q.Host == "" || isLoopback(q.Host) {
		return // the page's own origin, and data:, blob:, about: URLs
	}
	if v := j.set.Classify(j.policy, []byte(q.Host)); v != nil && j.policy.Denied(v, rules.DefaultDeny) {
		q.Vendor, q.Category = v.ID, v.Category.String()
	}
	if j.list == nil {
		return
	}
	rule, exc := j.list.Match(ListRequest{Host: q.Host, PageHost: pageHost, Type: q.Type, Frame: q.Frame})
	q.Exception = exc
	if rule == "" {
		return
	}
	if registrable(q.Host) == registrable(pageHost) {
		q.Excluded = FirstParty
		return
	}
	for _, e := range Exclusions {
		if underDomain(q.Host, e.Host) {
			q.Excluded = e.Host
			return
		}
	}
	q.Rule = rule
}

// isLoopback reports whether host is this machine: the page's own origin.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
