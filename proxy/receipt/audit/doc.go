// Package audit turns compliance receipts (package proxy/receipt) into what
// a privacy or legal team reads, and checks a site's published cookie
// policy against the catalogue and against real traffic.
//
// BuildReport verifies the chain of the files it reads and aggregates the
// records of a period per site and day (UTC): requests and the opt-out share
// (tally records), opted-out page views by signal source, elements removed
// by vendor and category, cookies dropped and expired, canary results and
// fail-closed events. It lists as delivered every receipt that shows a
// denied element or cookie reaching an opted-out visitor: a canary leak, or
// a response of a site in shadow mode; outside shadow mode there must be
// none. The canary's own requests are left out of the visitor counts. A
// Report renders as JSON, Markdown or one self-contained HTML page (inline
// CSS and SVG charts, no script, no external resource, a CSP that allows
// nothing else).
//
// Policy compares a rules.Declaration with the catalogue (a vendor the
// table declares necessary or functional while the catalogue's category is
// denied by an opt-out is "declared exempt from opt-out") and lists the
// cookie names the upstream set, read from receipts (ReadInventory), that
// the table does not cover: the top names with counts, the rest counted
// together. Names only: receipts never hold cookie values.
package audit
