// Package rules decides what counts as tracking: the vendor catalogue, the
// per-site policy from the config file, and their compilation into an
// immutable *Set with fast matchers.
//
// A Set answers, on the request hot path and without allocation once cached:
// which site a request host belongs to (Set.Site), which vendor a URL host
// belongs to (Set.Classify, respecting the public suffix list and the site's
// first-party hosts and allow-list), which vendor sets a cookie
// (Set.CookieVendor), and which vendors' snippets occur in an inline script
// (Set.Signatures). Host lookups go through ristretto caches owned by the Set.
//
// Config is parsed (ParseConfig, unknown keys are errors), then validated and
// compiled in one step (Compile) that reports every problem with its line.
package rules
