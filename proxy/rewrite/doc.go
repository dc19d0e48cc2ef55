// Package rewrite is the streaming HTML rewriter: for a visitor who opted
// out, it removes or neutralises the elements of a page that would load a
// denied third party, and passes every other byte through unchanged.
//
// # Contract
//
// A Writer is an io.Writer over the body of one HTML response. Write may be
// called with any split of the page (down to one byte at a time); the output
// is identical for every split, because all tokenizer state is carried
// across calls and every bound below is applied at a fixed offset of the
// element, not where a Write happens to end. Close ends the page and writes
// what is still held (and Policy.Tail). Output is the input byte for byte
// except where an element was removed or neutralised, where a URL was
// deleted from a style element or a style attribute, where the stub was
// inserted, where a placeholder's markup surrounds a removed embed (the
// element's own bytes kept inside it, see "Placeholders") and where the
// tail was appended; the text of a script is never edited. So the output
// without the known inserted markup is the input less deleted bytes,
// which the golden and fuzz tests check. With a Policy that denies nothing
// (or no Set) the output is the input exactly. The
// first error of the destination writer is returned by that Write and by
// every later call. Writers are reused through Reset (for example from a
// sync.Pool); once warm, rewriting a page allocates nothing in this package.
// Markup is matched on bytes and ASCII only, so the page's charset does
// not matter to the tokenizer (UTF-8 with or without BOM, Latin-1, invalid
// UTF-8); a URL host with bytes past ASCII is read as UTF-8, as browsers
// read URLs in a UTF-8 page (in a page of another charset such a host may
// go unmatched). UTF-16 must not be given to a Writer.
//
// # Tokenizing
//
// The scanner jumps from '<' to '<' with bytes.IndexByte and follows the
// WHATWG tokenizer exactly where it decides what is markup: attribute
// values in quotes, comments (including "<!-->" and "--!>"), bogus
// comments and doctypes, CDATA sections (only inside svg and math; in HTML
// "<![CDATA[" is a bogus comment ending at '>'), raw text (script with its
// escaped and double-escaped states, style, textarea, title, xmp, iframe,
// noembed, noframes, noscript as a browser with scripting sees it) and
// plaintext. So tag-like text inside a comment, a script string or a
// textarea is never touched. Only start tags of elements that can load a
// third party are held and parsed into attributes; every other span is
// copied from the input in one write per Write call where possible. An SVG
// script is read as raw text, like an HTML one.
//
// # Parts
//
// A Writer is a few parts, each a type with its own tests, driven by the
// Writer's scan over each Write:
//
//   - tokenizer (scan.go): the WHATWG tokenizer's state carried from one
//     Write to the next, and the parts of its grammar that depend on
//     nothing else (markup declarations, comment ends, the escaped states
//     of script data, raw text end tags). Tags of the usual shape that are
//     not held are read by skipAttrs, without the attribute states.
//   - holdBuf (hold.go): the output, and the one region of the page held
//     while it is undecided, released, replaced or dropped as a whole.
//   - decider (decider.go): the attributes of a held start tag, and the
//     verdict on them (the denied vendor an element loads, and whether it
//     is removed or neutralised); the Writer carries it out (decide.go).
//   - cssScanner (css.go): the URLs of a style element, one token held at a
//     time.
//   - classifier (url.go): the denied vendor of a URL or a host, with a
//     cache of a page's last hosts.
//   - report (report.go): what was removed, and the fail-closed counts.
//
// Inline scripts (script.go, jsclass.go, jslex.go), start tags past MaxTag
// (tagcut.go), style attributes (style.go), srcdoc documents (srcdoc.go),
// AMP (amp.go) and placeholders (placeholder.go) are the Writer's, over
// these parts.
//
// # Elements and actions
//
// An element is enforced when a URL it loads belongs to a vendor that
// Policy.Set classifies for Policy.Site and whose category on that site
// (rules.Site.Category: the site's vendor_categories, else the vendor's)
// is in Policy.Deny (the site's allow-list and first-party hosts excepted):
//
//   - script: src, and SVG href and xlink:href; an inline script when it
//     is a denied vendor's loader or snippet (see "Inline scripts"). Data
//     scripts (type containing "json", importmap, speculationrules,
//     text/template and similar) are not judged; type="text/plain", which
//     a consent tool may run later, is.
//   - img, input, source, track, embed, frame, iframe, video, audio, object
//     and SVG image: src, srcset, poster, data, href, data-src and
//     data-srcset.
//   - link: href and imagesrcset when rel is preload, prefetch, preconnect,
//     dns-prefetch, modulepreload, stylesheet, icon, prerender, manifest or
//     import.
//   - iframe: srcdoc too. The document in the attribute is decoded and
//     rewritten with the same policy as a page of its own; if that removes
//     anything, the iframe is attributed to the first vendor removed and
//     removed or neutralised like an iframe whose src is denied (srcdoc
//     renamed to data-srcdoc). The document is not edited in place, so the
//     output stays the input less whole elements plus the attributes
//     below. A tracker inside a noscript of that document counts too,
//     though a browser with scripting would not load it (fail closed).
//   - base: href. A base on a denied vendor's host would make every
//     relative URL of the page load from it; removed (relative URLs then
//     resolve against the page) or neutralised (href renamed) like any
//     other element.
//   - a and area: ping; the link stays, only the ping attribute goes.
//   - style: the URLs its CSS loads: url(...) in any case, quoted or not,
//     image-set( and -webkit-image-set( strings, and @import (a string or
//     url(...)), with CSS escapes (\2f , \/) decoded before the URL is
//     classified; comments and other strings load nothing. CSS cannot be
//     neutralised: a denied URL is deleted, always, whatever the action:
//     the argument of url(...) (an empty url() loads nothing), the
//     contents of an image-set string, a whole @import rule through its
//     ';'. Each deleted URL is a Removal with Element "style". The content
//     ends at "</style" as the HTML tokenizer reads it, inside a CSS string
//     or URL too. Not handled: SVG style elements and escaped names such
//     as u\72l(.
//   - style attributes, on any element (SVG too): the first style
//     attribute of a tag (browsers ignore repeats) is decoded (character
//     references) and its url(...) arguments and image-set strings are
//     classified as in a style element; a denied one is deleted, whatever
//     the element's action. If the value held a character reference, the
//     whole value is deleted instead (quotes kept; an unquoted value keeps
//     its first byte, or the next attribute would be read as the value).
//     Each deleted URL is a Removal with Element "style". Only the value of
//     a tag's first style attribute is held, from its first byte to its
//     end; a value with neither '(' nor '&' passes at once.
//   - noscript: its content is rewritten as markup with the same policy
//     (for browsers without scripting). If that removes something and only
//     white space is left, the whole noscript element goes.
//   - AMP components: amp-pixel, amp-img, amp-anim, amp-iframe, amp-video,
//     amp-audio, amp-ad and amp-embed by src, srcset, poster, data-src and
//     data-srcset, like img and iframe; amp-ad and amp-embed also by their
//     type (the ad network) and amp-analytics by its type (the vendor
//     configuration), its config URL and its content: the inline JSON
//     configuration is held through </amp-analytics> (within MaxInline)
//     and attributed to a denied vendor by a signature or by a denied host
//     after "//" (JSON "\/" undone). An amp-analytics that nothing
//     attributes may be first-party: it stays, its content rewritten as
//     markup like a noscript's. (Its content ends at the first
//     "</amp-analytics", even one inside the JSON; inside a noscript an
//     amp-analytics is attributed by its attributes alone.) Only names that start with "amp-" are
//     looked up, so other tags cost the tokenizer two byte compares. The
//     AMP embed components in the table below are attributed to their
//     vendor by their name alone: the AMP runtime builds the vendor's
//     iframe, or loads its script, from data-* attributes.
//
// The AMP types and components mapped to catalogue vendors (rules.Vendor.ID), in any case;
// other types are attributed by URL alone:
//
//	amp-analytics type           vendor
//	googleanalytics, gtag        google-analytics
//	googleadwords                google-ads
//	facebookpixel                meta-pixel
//	adobeanalytics,              adobe-analytics
//	adobeanalytics_nativeConfig
//	chartbeat                    chartbeat
//	comscore                     comscore
//	parsely                      parsely
//	quantcast                    quantcast
//	segment                      segment
//	metrika                      yandex-metrica
//	amplitude                    amplitude
//	mparticle                    mparticle
//	permutive                    permutive
//	lotame                       lotame
//	newrelic                     new-relic-browser
//
//	amp-ad / amp-embed type      vendor
//	doubleclick, adsense         google-ads
//	a9                           amazon-ads
//	criteo                       criteo
//	taboola                      taboola
//	outbrain                     outbrain
//	appnexus                     xandr
//	pubmatic                     pubmatic
//	openx                        openx
//	teads                        teads
//	triplelift                   triplelift
//	yieldmo                      yieldmo
//	adform                       adform
//	yandex                       yandex-ads
//
//	AMP embed component          vendor
//	amp-youtube                  youtube
//	amp-vimeo                    vimeo
//	amp-instagram                instagram
//	amp-tiktok                   tiktok-embeds
//	amp-pinterest                pinterest-widgets
//	amp-reddit                   reddit-embeds
//	amp-soundcloud               soundcloud
//	amp-twitter                  x-embeds
//	amp-facebook,                meta-pixel
//	amp-facebook-page,
//	amp-facebook-comments,
//	amp-facebook-like
//	amp-vk                       vk
//	amp-jwplayer                 jw-player
//	amp-wistia-player            wistia
//	amp-connatix-player          connatix
//	amp-addthis                  addthis
//
// URLs match in any case, absolute or protocol-relative, quoted or not,
// as the browser's URL parser (WHATWG URL Standard) reads them: character
// references decoded (&#x2F;, &colon;, &amp;, &#x3002;, &shy;, ...),
// leading and trailing C0 controls and spaces stripped, ASCII tab and
// newline removed, backslashes read as slashes, any number of slashes
// after http: or https: skipped (none included: "https:host" counts as
// absolute) and two or more at the start of a scheme-relative URL, and the
// host percent-decoded and mapped by UTS #46 (IDNA, nontransitional) as
// the browser maps it, so full-width letters and the full stops U+3002,
// U+FF0E and U+FF61 reach the ASCII host. A host the browser refuses
// (invalid IDNA or UTF-8, a forbidden code point) matches nothing, as it
// loads nothing. A repeated attribute is ignored, as browsers do.
//
// The action is site.Action(vendor), the site's action for its category
// of the vendor:
//
//   - Remove drops the element; for script, iframe, noscript, object,
//     video, audio and the AMP components its content too, through the
//     matching end tag (nested elements of the same name counted).
//   - Neutralise keeps the element but makes it inert and restorable:
//     data-consent-category="<category>" is added right after the tag name
//     (so it wins over duplicates), and every URL attribute is renamed with
//     a "data-" prefix (src→data-src, srcset→data-srcset, href→data-href,
//     poster→data-poster, ping→data-ping, srcdoc→data-srcdoc). A script also gets
//     type="text/plain" and its own type becomes data-type; an amp-ad or
//     amp-embed's type becomes data-type, which leaves it inert.
//
// A denied URL found only in data-src or data-srcset always removes the
// element: lazy loaders and consent tools load those attributes, so
// renaming cannot stop them. An attributed amp-analytics is always
// removed too: the AMP runtime reads its inline configuration whatever
// its attributes are called. So is an AMP embed component attributed by
// its name: the runtime builds its iframe from data-* attributes, which
// renaming does not touch.
//
// # Placeholders
//
// With Policy.Placeholders, an element that would be removed gets a
// placeholder instead when it is an iframe whose src or data-src is an
// embed of its vendor (rules.Vendor.Embed, and one of Embed.Paths when
// given), or an AMP embed component (amp-youtube, amp-twitter, ...) of a
// vendor with an embed; and it is not inside noscript content, an iframe
// srcdoc document, foreign (SVG, MathML) content or another placeholder;
// it is not hidden (the hidden attribute, display:none,
// visibility:hidden, AMP layout nodisplay) and not smaller than 50 CSS
// pixels either way (a tracking frame, a like button). Scripts, images
// and every other element are removed as always; so is everything with
// the action Neutralise, which keeps its place for the site's consent
// tool. The placeholder is, on one line:
//
//	<span class="consentgate-placeholder" data-consentgate-embed="VENDOR" style="... SIZE">
//	<template data-consentgate-original>THE ELEMENT, AS WRITTEN</template>
//	<span class="consentgate-placeholder-text">REASON TEXT</span>
//	<button type="button" class="consentgate-placeholder-load" data-consentgate-load style="..." data-consentgate-key="KEY">LABEL</button></span>
//
// The element's start tag (less denied style URLs), its content and its
// end tag pass through unchanged between the template's tags: template
// content is inert (nothing in it loads or runs, and Chromium's preload
// scanner skips it), and the runtime guard restores it from there, for
// this page view, when the visitor clicks the button (proxy/guard).
// Inside an AMP component's content, which is markup, elements are
// rewritten as anywhere else, and a template start tag is inserted before
// a template end tag that the content did not open (it would close the
// placeholder's template and make the rest live). A span, not a div, so
// that the placeholder may stand wherever the element stood (phrasing
// content, inside a p).
//
// SIZE comes from the element's style (width and height), else its width
// and height attributes (an AMP component's by its layout: responsive and
// intrinsic are a ratio of the container's width, fixed-height a height),
// else a default per kind: 16:9 video, 4:3 map, a post up to 550 pixels
// wide, a 166-pixel audio player; two pixel sizes keep their ratio when
// the page is narrower (max-width 100%, aspect-ratio). Only a number and
// one of the units px, %, em, rem, vw and vh is ever copied into it. The
// text is Placeholders.Reason, then Placeholders.Text with {name},
// {company} and {kind} (video, map, post, player) of the vendor's embed,
// HTML-escaped; the button is there only with Policy.Guard, which makes
// it work, and carries Placeholders.Key, the response's key that tells the
// guard this placeholder came from the proxy. The element counts as removed (a Removal). If the page ends
// inside the element, Close writes the placeholder's end.
//
// # Stub
//
// With Policy.Stub, a small script is inserted before the first element
// that may run script or is a <base> (anything but html, head, meta,
// title, link, style and noscript), which is right after <head> and its
// metadata, or before the first element of a page without head; keeping it
// after the metadata leaves an early <meta charset> within the first 1024
// bytes, and keeping it before a <base> has the guard's src (Policy.Head, a
// path on the proxy's origin) resolve against the document's URL, not a
// base on another host. It
// defines, only where undefined, the globals (rules.Vendor.Globals; not
// the "name*" prefixes) of every denied vendor: queue arrays such as dataLayer as [], the others as
// one no-op function that, where Proxy exists, answers any method (ttq.track,
// googletag.cmd.push) with itself. Because the head comes before the
// rewriter knows what the page holds, the stub depends only on the policy,
// not on what was removed: StubHash gives its CSP source ahead of the body.
//
// With Policy.Head, those bytes go in the stub's place instead (the proxy
// puts the runtime guard there, whose script defines the stub's globals
// too: StubScript), and StubHash is empty: the caller knows the hash of
// what it inserts. Neither is inserted into noscript content or into the
// document of an iframe srcdoc.
//
// # Inline scripts
//
// An inline script is kept whole, removed whole or neutralised whole: the
// bytes of its text are never edited, because a script with bytes cut out
// of it is a script that throws (and takes the site's own code with it).
// Its text is held through its end tag (up to MaxScript) and read by a
// JavaScript lexer that knows string literals (' " and template literals
// with their substitutions), comments (// /* */ and the HTML-like <!--
// and --> of Annex B), regular expression literals and brackets. A '/'
// starts a regular expression where the token before it cannot end an
// expression (a heuristic: after ')' and ']' it is a division, after '}' a
// regular expression; checked against a full parser on the corpus of real
// pages). Two kinds of evidence come out of it.
//
// Loader evidence, which a denied vendor's loader or snippet has:
//
//   - a string or template literal that, with its escapes undone (\/,
//     \x2f, \u002f, \u{2f}, line continuations), is a URL on a denied
//     vendor's host ("https://host/…", "//host/…"), or starts the host
//     part of a URL built by concatenation: "://host/…" after a scheme
//     built apart, ".host/…" after the first labels ("https://secure" +
//     ".quantserve.com/quant.js"), "host.tld/…" after a "//" built apart,
//     or a host alone next to a '+' ("//" + "px.moatads.com" + "/p.gif");
//   - a signature of a denied vendor (rules.Set.Signatures) in the code or
//     in a string literal (escapes undone); not in a comment.
//
// A host or signature in a comment, or a host in a string that is no URL
// (a label, a class name, a host alone not concatenated), is a mention and
// counts for nothing. In an SVG script, character references are decoded
// first, as the SVG parser does before the script runs.
//
// First-party state, which the site's own code has and a snippet has not:
//
//   - a global declared at the top level (outside every function): var,
//     function and async function there, let, const and class outside
//     every block;
//   - a global assigned: NAME = … or NAME.x = … (NAME[…] = …) at the top
//     level, window.NAME, self.NAME, globalThis.NAME (window["NAME"]) = …
//     anywhere;
//   - a first-party function called at the top level with an object
//     literal (require.config({…}), jQuery.extend(Drupal.settings, {…}),
//     jwplayer("p").setup({…})): the site configures its own code;
//   - an event handler registered at the top level (addEventListener,
//     attachEvent, on, one, ready, bind, $(function…), jQuery(function…))
//     whose function holds no loader evidence. A handler that loads a
//     vendor (a loader deferred to the load event) counts for nothing.
//
// Names that are Globals of a catalogue vendor (rules.Vendor.Globals,
// denied or not, "name*" entries as prefixes: dataLayer, _gaq, googletag,
// _sf_async_config, OB_*) are the vendor's, not the site's; so are calls
// on the globals of denied vendors (googletag.cmd.push(…), fbq(…)). The
// snippets' own idioms (w[l]=w[l]||[], i['GoogleAnalyticsObject']=r) name
// their globals through parameters inside a function and count for
// nothing, and so do writes to the browser's own objects (location.href,
// document.cookie, window.onload, window.XMLHttpRequest, …).
//
// The decision, in this order:
//
//   - the site's keep_scripts (rules.Site.KeepScripts) names the script,
//     by id, class or the SHA-256 of its text: kept;
//   - first-party state and Policy.Guard: kept, whatever loader evidence
//     it also has; its vendor loads are left to the runtime guard;
//   - no loader evidence: kept;
//   - loader evidence: removed or neutralised, per the site's action for
//     the vendor's category (with first-party state too when Policy.Guard
//     is false: privacy does not depend on a guard that is not there).
//
// Writer.Scripts records the decision on every inline script (the first
// MaxScripts of a page), its reason and the evidence behind it
// (consentgate explain-page prints them). The
// classifier stops reading once the decision cannot change (at the first
// first-party name with the guard, at the first loader evidence without),
// unless Policy.Explain asks for all the evidence.
//
// # Bounds and the fail-closed rule
//
// A Writer holds at most one element or CSS URL token: a start tag being
// parsed (MaxTag, 64 KiB, at a time), the content of a noscript or an
// amp-analytics (MaxInline, 64 KiB) and the text of an inline script
// (MaxScript, 1 MiB).
// The script bound is high so that every real script is judged whole: the
// largest inline script of the 97 real pages of the test corpus is 241 KB,
// the largest seen in the field 369 KB. It is the most a page can make a
// response hold: the buffers above 64 KiB come from pools by size class
// (128 KiB to 2 MiB) and go back when the script ends, so a Writer at rest
// keeps at most 64 KiB, and a thousand responses each in the middle of a
// 1 MiB script hold about 1 GiB, where pages with such scripts are rare.
// Past a bound, each case is decided without unbounded memory and counted
// in Stats.Oversize:
//
//   - A start tag longer than MaxTag is cut there and decided from what
//     came before (tagcut.go): its complete attributes, and a URL
//     attribute whose value is in progress at the cut and already MaxURL
//     (4 KiB) long, by its host (a data: URL has none). A denied vendor
//     among them removes or neutralises the element as in a short tag.
//     Otherwise the element stays, unless its content would be held
//     (an inline script, a noscript, an amp-analytics: removed, fail
//     closed; a script whose start tag was cut is not in Scripts), and
//     the rest of the tag streams out in segments of at
//     most MaxTag bytes: every attribute that can load something (URL
//     attributes, style, ping of a and area, type of amp-ad and
//     amp-embed) is classified on its own, and deleted, name and value,
//     when it names a denied vendor, or when its value is still
//     undecided after MaxURL bytes (counted). An attribute in progress at
//     a segment's end is carried into the next whole. A neutralised
//     element's later URL attributes are renamed as they come. So a
//     100 KB data: image or a 70 KB data-props attribute passes
//     unchanged, and a denied URL is never sent; unlike in a short tag,
//     a denied URL after the cut costs its attribute, not the element.
//   - A style attribute value longer than MaxTag is deleted, whatever it
//     holds (an unquoted one keeps its first byte); in a held tag it is
//     an attribute like the others above.
//   - A style element is never held: only each URL token is, from its
//     first byte (past "url(", past an image-set string's quote, or an
//     @import's '@') to its end, within MaxCSSToken (4 KiB). A longer
//     token is decided on its first MaxCSSToken bytes: when the URL's host
//     ends there (or the URL has none, as data: URLs), by that host;
//     otherwise it is deleted, through its end (an @import rule through
//     its ';'). Either way it counts in Stats.Oversize; one deleted without
//     a known vendor is not a Removal.
//   - A noscript, or an amp-analytics that no attribute attributes, whose
//     content is longer than MaxInline is removed.
//   - An inline script longer than MaxScript is judged on its first
//     MaxScript bytes. Decided a tracker there, it is removed or
//     neutralised whole; otherwise it is kept and streams out unchanged
//     (Script.Decision OversizeKept). Its loads are then left to the
//     runtime guard: a denied vendor's loader is never a megabyte long,
//     and a script that long is an application bundle whose removal would
//     break the page.
//
// An element cut off by the end of the page is decided as if it ended there
// (browsers run an unterminated script).
package rewrite
