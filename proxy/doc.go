// Package proxy is consentgate's reverse proxy: a fasthttp server in front
// of a site's origin that reads each visitor's privacy signals and, for a
// visitor who opted out (or has not consented where consent is required),
// keeps trackers out of the response: tracking cookies dropped from the
// request and expired in the response, tracking Set-Cookie and Link
// preloads removed, the HTML body rewritten (proxy/rewrite) with the
// runtime guard (proxy/guard) or the stub in its head. Everything else
// passes byte for byte.
//
// # What it owns
//
//   - The server and its lifecycle: Server, New, Run, Serve, Shutdown
//     (server.go, lifecycle.go), the client connections' write timeouts
//     and bare-LF detection (clientconn.go), requests framed ambiguously
//     (framing.go), the admin listener (admin.go).
//   - Per-rule-set state: the rule set, the metric children and the
//     upstream client of each site, swapped together (state.go).
//   - The upstream request and response: which headers go up and come
//     back, retries of stale keep-alive connections (forward.go,
//     upconn.go), trusted proxies and the visitor's address
//     (clientaddr.go).
//   - The decision of each request (decision.go), header and cookie
//     enforcement (enforce.go), propagation of an
//     opt-out and the consent mirror (signalout.go), the built-in paths
//     (builtin.go, visitor.go, guard.go, account.go), receipts
//     (receipts.go), metrics (metrics.go) and logging (logging.go).
//   - The body path (body.go, shadow.go): content coding through
//     proxy/internal/coding, the one place that reads Accept-Encoding and
//     Content-Encoding; rewriting through proxy/rewrite.
//
// # The request path, in order
//
//  1. Handle (server.go) loads the rule-set state once, checks the target,
//     the framing and the Host, and finds the site.
//  2. decide (decision.go) makes the request's decision, once: it reads
//     the signals (signals.Reader.ReadInput; the address from
//     clientaddr.go, the registry's answer from account.go) into a
//     decision value (the denied categories, shadow mode, the sources,
//     the propagation) that every later step takes and none remakes; its
//     denied method and policy are the one "is this vendor denied" of
//     cookies, Link headers and the rewriter. A built-in path (builtin)
//     is served from it; otherwise the request is counted by its decision
//     (siteMetrics.count) and forward (forward.go) builds the enforcer
//     (enforce.go) around it and, when something is denied, the receipt
//     (receipts.go).
//  3. prepareRequest (forward.go) writes the upstream request: end-to-end
//     headers, X-Forwarded-*, and for an enforced visitor Sec-GPC: 1, no
//     tracking cookies, no ranges or validators, and an Accept-Encoding
//     of only the codings the proxy decodes that the visitor takes
//     (coding.Request); the upstream client of the site sends it.
//  4. The response headers (responseHead, forward.go): a part of a page
//     is refused, an unlabelled body is sniffed, Vary is added, hop-by-hop
//     fields go, the enforcer drops tracking Set-Cookie and Link entries
//     (responseHeaders), SVG and XML documents get the fail-closed CSP,
//     the propagated cookies and the consent mirror's tail are prepared
//     (signalout.go); what the body needs is left in a bodyPlan.
//  5. The body (sendBody, forward.go): an enforced HTML page goes through
//     rewriteBody (body.go):
//     decoded (coding.Decoders), rewritten, and encoded in the coding
//     coding.Set.Output gives; a small one whole (rewriteWhole), a large
//     or chunked one as a stream (rewriteStreamed). A body that does not
//     decode goes out as it came under the fail-closed CSP. A shadow
//     site's page is relayed and observed (shadowBody, shadow.go); a page
//     with the consent mirror gets its tail (relayMirror); anything else
//     is relayed as it came (relayBodyTail).
//  6. Metrics and the receipt: what the rewriter removed, and a page
//     past one of its bounds (fail_closed_total{reason="oversize"}), is
//     counted (countRewrite), the receipt settled when the response is
//     done (settle, or the body stream's Close), the access log sampled.
//
// No step calls back into an earlier one: the body path never reads the
// signals, the site's mode or the rule-set state again.
//
// # Failure rule
//
// Fail closed on privacy, open on availability: a page the proxy cannot
// read is served under a CSP that lets no third party load, never with a
// tracker and never replaced by an error of the proxy's making; an
// upstream that breaks off before anything was sent gets the visitor a
// 502, one that breaks off later a visibly cut response.
package proxy
