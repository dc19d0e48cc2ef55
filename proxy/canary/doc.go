// Package canary checks, from the outside, that consentgate keeps its
// promise to opted-out visitors: every canary.interval it fetches each
// site's canary pages through the proxy's own public listener as an
// opted-out visitor (Sec-GPC: 1, Accept-Encoding: gzip) and looks for
// anything a vendor the canary expects gone could still load.
//
// # What counts as a leak
//
// The canary judges with the catalogue and its own expectation
// (rules.Canary: canary.deny, default advertising, analytics and social,
// less canary.allow_vendors), not with the site's policy. So a rule set
// that allows a vendor, or a site deny: narrowed "for a test", shows up as
// a leak rather than being repeated by the judge.
//
//   - An element in the HTML that would load such a vendor (ScanHTML):
//     URL attributes, style attributes and elements, inline scripts by
//     the vendor's signatures, noscript content and iframe srcdoc
//     documents. The page is read with golang.org/x/net/html's tokenizer,
//     independently of the rewriter, so a fault of the rewriter is caught
//     rather than repeated; elements consentgate neutralised
//     (data-consent-category) and its own stub script are not counted.
//   - A Set-Cookie of such a vendor that is not an expiry (CookieLeaks).
//
// A page that cannot be fetched or answers other than 200 is an error, not
// a leak: the canary could not check.
//
// # What it reports
//
// consentgate_canary_checks_total{site,result} (pass, leak, error),
// consentgate_canary_failures_total{site,reason} (element, cookie; one per
// page that leaked), consentgate_canary_leaking{site} (1 while the last run
// of the site found a leak, 0 after a run where every page passed) and
// consentgate_canary_last_run_timestamp_seconds{site}. A leak is logged at
// error level with the vendor, category, element and attribute or cookie
// name (never a value); a canary receipt per page records the result. The
// canary's own requests carry a per-process token (proxy.CanaryHeader), so
// their response receipts say canary and reports leave them out of visitor
// counts.
//
// # Limits
//
// A tracker the catalogue does not know is invisible to the canary as it is
// to the proxy; so is what a page loads only at run time (scripts that
// build URLs). The canary sees the pages it is given, with the headers it
// sends: use paths that carry the site's tags.
package canary
