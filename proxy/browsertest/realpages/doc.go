// Package realpages measures consentgate the way a privacy team judges it:
// by the requests a real Chromium attempts on real pages, not by the HTML.
//
// Measure serves saved pages (ReadPages: by default the 97 real news pages
// in ../shared/data/pages or $CONSENTGATE_PAGES, see DefaultPagesDir; never
// copied into the repository) from an
// in-process fasthttp upstream on 127.0.0.1, each at /p/NAME with
// "text/html" and the charset its <meta> declares, behind consentgate
// (proxy.New with config.Default: the built-in catalogue and the
// default policy) on 127.0.0.1. Each page is loaded in headless Chromium
// twice, without a signal and with Sec-GPC: 1 (an extra header on every
// request of the page, its frames and its workers; the upstream records the
// header consentgate forwarded for the page's URL, which proves Chromium
// sent it), and for each load it records:
//
//   - every request attempted (Network.requestWillBeSent and
//     webSocketCreated) with its resource type, frame (main, frame, worker)
//     and DevTools initiator (parser, script with the innermost stack
//     frame's URL and line, other). Site isolation is off, so every frame
//     reports in the page's target; workers are auto-attached, held before
//     their first instruction until their recorder is on, then resumed;
//   - every connection: Chromium's --host-resolver-rules map every host but
//     127.0.0.1 and localhost to a local sink that records the TLS server
//     name or HTTP Host and hangs up. Nothing leaves the machine, a tracker
//     request fails at once, and a connection no request shows (a
//     preconnect) is seen (Load.ConnectOnly);
//   - uncaught exceptions (Runtime.exceptionThrown), console errors
//     (console.error and error-level Log entries), network-failure log
//     entries counted apart (every tracker here fails to connect by
//     design), and document.body.innerText.length once the page settled.
//
// Timing (DefaultTiming): the load event (at most 15 s), then 5 s of the
// page's life in virtual time (timers fire in order, fast, while no fetch is
// pending; at most 3 s of wall time), then until no request has started for
// 500 ms, at most 3 s. Every wait is bounded. A main-frame navigation away
// from the page (a script redirect, a frame buster) is recorded and refused
// (Fetch domain), so what is measured is the page, not the sink's error
// page. Loads on one browser are sequential, each in a new tab after
// clearing cookies, cache and the loopback origins' storage; the default
// browser context is used because Chromium makes no preconnect in an
// off-the-record one. After a load its tab is closed and the sink given
// until it is idle, so a connection the load made is not counted as the
// next load's.
//
// # Judgements
//
// A request's host is judged twice (judge.go):
//
//   - by the catalogue: rules.Set.Classify for the site, denied when the
//     vendor's category is in rules.DefaultDeny (advertising, analytics,
//     social); the page's own loopback origin never counts;
//   - by an independent list: EasyPrivacy and EasyList as Debian's
//     webext-ublock-origin-chromium installs them (DefaultLists; GPL-3+ or
//     CC-BY-SA-3.0+), read at run time. Only host-anchored network rules
//     are used ("||host^", with party, domain= and type options and "@@"
//     exceptions; see List for the exact subset). A hit on the page's own
//     site (same registrable domain as the address it was saved from) is
//     excluded as first-party; Exclusions may name hosts the list flags
//     that are not tracking in the opt-out's sense (three, each with its reason).
//
// Host-level is the right granularity for "did the browser contact the
// vendor": a request to the vendor's host tells the vendor the visitor's
// address and, through Referer, the page, whatever its path.
//
// # Residue and the ratchet
//
// Result.Residue is what a page still does with Sec-GPC: 1 that it must
// not: hosts either judgement flags that were requested or connected to,
// exceptions the unsignalled load does not throw (messages normalised:
// loopback ports, UUIDs and long numbers replaced), and rendered text below
// TextFloor (99 %) of the unsignalled load's. TestRealPages compares it with
// testdata/residue.golden and fails on anything new (confirmed by a second
// load of the page), so main stays green while consentgate improves; run it
// with -update to lock an improvement in. It also fails if a page cannot be
// measured, if Sec-GPC: 1 did not reach the upstream, if consentgate's
// unsignalled response is not byte-identical to the upstream's, or if fewer
// than three quarters of the pages request trackers without a signal (the
// check would be vacuous).
//
// The tests need Chromium, the pages and the lists: under CI=true a missing
// one fails, elsewhere the test skips saying what to install; -short skips.
// The command go run ./bench/realpages prints the per-page table; see
// docs/browser-measure.md for the method and the figures.
package realpages
