// Package browsertest checks consentgate with a real browser: headless
// Chromium loads the demo site through the proxy and every network request
// the pages make is recorded, so a tracker the HTML rewriter misses — a script
// that inserts another script, an iframe, a noscript pixel, a preconnect —
// shows up as a request to its host.
//
// The tests assert that
//
//   - a visitor sending Sec-GPC: 1 makes no request to, and opens no
//     connection to, any vendor the default policy denies (advertising,
//     analytics, social), while the pages still render and their first-party
//     script runs without a JavaScript exception;
//   - the same pages without the signal do request those vendors, so the
//     leak check cannot pass vacuously;
//   - clicking the footer's "Do Not Sell or Share My Personal Information"
//     link sets the opt-out cookie, and the pages loaded after it make no
//     tracker request;
//   - the rewriter reads URLs as Chromium does (TestURLFormsAsChromiumReadsThem):
//     twenty-three ways to load a tracker URL — JSON-escaped or missing
//     slashes, leading controls, tabs inside, IDNA look-alikes (ideographic
//     full stops, full-width letters, &shy;, &fopf;), percent-encoded
//     hosts, iframe srcdoc documents, nested, CSS url(), escaped url(),
//     image-set() and @import in a style element, url() in style
//     attributes, a base href on a tracker — are each requested by
//     Chromium without a signal and none with Sec-GPC: 1. (Before the
//     rewriter followed the URL Standard, read CSS and base, eighteen of
//     them leaked.)
//   - the runtime guard refuses what the HTML does not show
//     (TestGuardRefusesRuntimeLoads, in both guard modes): a first-party
//     bundle injects a denied vendor's script, pixel, beacon, fetch, XHR,
//     iframe, document.write, innerHTML and 18 more ways at run time (a
//     pop-up after a click among them); with Sec-GPC: 1 none is requested
//     or connected to, each is counted through the guard's endpoint into
//     consentgate_runtime_blocked_total, the bundle finishes without an
//     exception and a functional vendor still loads; without the signal the same page reaches every one
//     (TestBundleWithoutSignalContactsTrackers). TestGuardFirstPaint is a
//     measurement of first contentful paint per guard mode on real saved
//     pages, run only with CONSENTGATE_PAINT_RUNS set.
//   - what an opted-out visitor sees (TestPlaceholderLoadsTheTourOnClick,
//     TestGPCNoticeInBrowser, and the confirmation page in
//     TestDoNotSellLinkOptsOut): on the demo site with its own config and
//     Sec-GPC: 1 the YouTube tour is a placeholder of its size and no
//     YouTube host is contacted; page script calling the guard's load API
//     with an untrusted or look-alike event, clicking the button from
//     script, or building a placeholder that a person then clicks, loads
//     nothing; a trusted click (Input.dispatchMouseEvent) requests exactly
//     the tour's iframe, and the vendor's other loads stay refused; the
//     same under a CSP that refuses inline styles, and for an AMP
//     component whose runtime builds the frame. The notice is small,
//     fixed in the corner, dismissed in place and gone on the next page;
//     an opt-out by cookie alone gets none.
//
// Requests are recorded through the DevTools protocol (Network domain). Every
// server is on 127.0.0.1, and the browser is started with --host-resolver-rules
// mapping every other host to a local sink that records the name each
// connection asks for (TLS server name or HTTP Host) and hangs up. So the
// tests never reach a real tracker, a tracker request fails at once instead
// of waiting on DNS, and a connection no request event shows — a preconnect,
// a request from an out-of-process iframe — is still counted. A dns-prefetch
// alone opens no connection and is not seen by the browser check (the HTML
// checks in package proxy cover it).
//
// Package realpages (proxy/browsertest/realpages) does the same on the 97
// real saved news pages: every request Chromium attempts with and without
// Sec-GPC: 1, judged by the catalogue and by EasyPrivacy/EasyList, with a
// ratchet test against the known residue and a per-page table
// (go run ./bench/realpages; docs/browser-measure.md).
//
// The tests need Chromium (Debian: apt-get install chromium). Without it they
// skip, or fail when CI=true; -short skips them. Set CONSENTGATE_SCREENSHOTS
// to a directory to keep screenshots of the opted-out home page, the
// placeholder, the opt-out confirmation and the GPC notice (the ones in
// docs/images come from there).
package browsertest
