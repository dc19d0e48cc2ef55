// Package guard is the runtime guard: a first-party script that the proxy
// puts before every other script of an opted-out visitor's page and that
// refuses, in the browser, each load of a denied vendor's URL that page
// code starts at run time — what the HTML does not show, so static
// rewriting cannot remove: inline loaders that build URLs in JavaScript,
// tag managers served as first-party bundles, widgets that inject.
//
// # The script
//
// guard.js is the readable source, guard.min.js the served form (esbuild,
// go generate; TestMinifiedIsCurrent checks it). It patches, in the page's
// window and in each same-origin frame's as it is inserted: the URL
// properties and attributes of script, img, iframe, frame, link, source,
// embed, object, video, audio, track, input and base (src, href, srcset,
// imagesrcset, data, poster, srcdoc) and a/area ping, set by property,
// setAttribute(NS), setAttributeNode(NS), Attr.value or
// attributes.setNamedItem; nodes inserted (appendChild, insertBefore,
// replaceChild, append, prepend, before, after, replaceWith,
// replaceChildren, insertAdjacentElement, Range.insertNode and
// surroundContents) or adopted (importNode, adoptNode); HTML parsed from
// strings (innerHTML, outerHTML, insertAdjacentHTML, setHTMLUnsafe,
// document.write and writeln, Range.createContextualFragment, iframe
// srcdoc), which is parsed first into an inert document and, only when it
// holds a denied load, cleaned and serialised again; fetch (a string, a
// URL, a Request), XMLHttpRequest.open, navigator.sendBeacon, Worker,
// SharedWorker, EventSource, WebSocket and window.open. A MutationObserver
// registered before any other script catches elements the parser
// inserts.
//
// A refusal looks like a network failure to page code, as under a content
// blocker: an error event after the current script on the element, a
// fetch rejected with a TypeError, an XMLHttpRequest, worker or event
// source pointed at a blob: URL that was never created (it fails without
// touching the network), a WebSocket that errs and closes with 1006,
// sendBeacon returning true, window.open returning null. No patched API
// throws where the original would not, and the guard never writes to the
// console.
//
// # Host matching
//
// The guard's table is compiled per policy (a site and a visitor's denied
// categories) from the rule set's host table (rules.Set.EachHost) so that
// its lookup answers as rules.Set.Classify does: an entry matches its host
// and every subdomain, the most specific entry wins, a suffix without a
// dot (and so a public suffix, which no entry may be) is never looked up,
// and the site's first-party hosts and allow-list are let through. Section
// 0 of the table is the site's first-party hosts, section 1 the entries of
// vendors that are not denied but lie under a denied vendor's entry,
// section k >= 2 the entries of the k-2nd denied vendor. A URL is
// resolved against document.baseURI with the browser's URL parser, then
// its host is looked up suffix by suffix, one property read each; the
// last URL's answer is kept, since virtual DOM libraries set the same src
// again and again. TestClassifierMatchesClassifyInChromium holds the
// served script to Classify over every table host, subdomains, look-alikes,
// public suffixes and imported more-specific entries.
//
// # Serving and counting
//
// Compile returns a Script: the text (guard, then the stub of the denied
// vendors' globals, rewrite.StubScript), its CSP hash, and a fingerprint
// of its content, so every replica with the same rules serves it under the
// same immutable URL, PREFIX guard/FINGERPRINT.js. Cache keeps one per
// site and denial for a rule set. The guard counts refusals by vendor id
// (never URLs or page data) and posts "id=n&id=n" to PREFIX guard, one
// second after the last refusal, at most five after the first, and when
// the page is hidden; ReadReport validates a report against the rule set
// and bounds it, since anyone can post one.
//
// # Placeholders
//
// A site with placeholders on gets, for a removed embed, a placeholder
// that keeps the original element inert in a template (proxy/rewrite,
// "Placeholders"), and the guard is what loads it. A trusted click on the
// placeholder's button restores the element for this page view and lets
// through its frame URLs: only iframe and frame src (and the data-src a
// lazy loader copies), only of the placeholder's vendor, only on its embed
// paths (rules.Embed), exactly as written (for an AMP component, whose
// runtime builds the frame, the vendor's frames). Scripts, images and
// requests of that vendor stay refused. Page code cannot use this to
// unblock anything:
//
//   - a placeholder counts only if it came from the proxy: its button
//     carries a key, random per response, that the proxy also writes into
//     a meta element right before the guard's script element; the guard
//     reads and removes that meta before any other script runs, and checks
//     and removes each button's key when the parser inserts the button
//     (the MutationObserver runs before the next script), copying the
//     template's content then, so later changes to the template do
//     nothing;
//   - only a click event whose isTrusted is true, read with the getter
//     saved at start (page code cannot replace it), on such a button
//     counts; __consentgate.load(event), the same function, checks the same.
//
// Compile fills __CG_EMBEDS__ with the denied vendors that are embeds and
// their paths. The guard also applies the style attribute of the proxy's
// own elements (class consentgate-…) through the CSS object model, which
// a page's style-src policy does not govern, so a placeholder keeps its
// size under a CSP that refuses inline styles; and a click on the GPC
// notice's Dismiss link removes the notice in place and sets the cookie
// (consentgate_notice=0) that its endpoint would set after a round trip.
//
// # Signal scripts
//
// On sites that ask for them, the head script carries after the guard and
// the stub one or two more statements (signals.go; sources propagate.js
// and mirror.js, minified by the same go generate into propagate.min.js
// and mirror.min.js, TestSignalScriptsMinifiedAreCurrent):
//
//   - propagation (rules.Site.Propagate), for a visitor whose "do not sell
//     or share" opt-out the page tells the vendors that stay
//     (PropagationFor): __uspapi and __gpp (IAB USP API v1, GPP CMP API
//     v1.1) defined where nothing defines them, as writable properties a
//     consent tool's own API replaces, answering with the strings the
//     proxy writes in the usprivacy and __gpp cookies (signals
//     PropagateUSP, PropagateGPP). A propagation (none, opt-out, opt-out
//     with GPC) is part of the script's policy: CompileFor and
//     Cache.ForPropagation give one script, and one fingerprint, each.
//   - the consent mirror (rules.Site.Mirror), which reads a consent
//     tool's choice in the page and writes signals.MirrorCookie.
//
// Cache.Head gives the stub and the signal scripts without the guard, for
// a page that gets no guard (guard: off, or nothing to refuse), inline;
// Cache.Mirror the mirror alone (CompileMirror), which the proxy appends
// after the document of every other page of a mirror site.
//
// # What it cannot stop
//
// Anything that runs before it (the proxy inserts it before the first
// element that may run script; a meta CSP or a page's own Trusted Types
// policy may stop it), dynamic import() of a module URL and module
// preloads, requests a service worker or a worker's own code makes, CSS
// loads started from script (style properties, insertRule), navigations
// (location, form submissions), and a tag that one script's
// document.write leaves open and a later script completes. (Within one
// script, a tag a write leaves open is held back and written whole with the
// next write, since Chromium's preload scanner fetches a split script's URL
// before the MutationObserver can act; one no later write of that script
// completes is dropped.)
package guard
