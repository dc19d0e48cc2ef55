// consentgate runtime guard: the readable source of guard.min.js.
//
// Served to opted-out visitors before any other script of the page, it
// refuses every load of a denied vendor's URL that page code starts: URL
// properties and attributes of loading elements, inserted and adopted
// nodes, HTML parsed from strings, fetch, XMLHttpRequest, sendBeacon,
// workers, EventSource, WebSocket and window.open; a MutationObserver
// catches parser-inserted elements; same-origin frames are patched on
// insertion. A refusal looks like a network failure (an asynchronous error
// event, a rejected fetch, an XHR error) and is counted by vendor id, never
// by URL, in batches sent to the site's own endpoint.
//
// The proxy fills in the three upper-case placeholders per policy (see
// guard.go): __CG_TABLE__ is the host table, sections joined by "|", hosts
// by ","; section 0 is the site's first-party hosts, section 1 the allowed
// entries more specific than a denied one, section k >= 2 the hosts of the
// denied vendor __CG_IDS__[k-2]. __CG_ENDPOINT__ is the count endpoint.
// __CG_EMBEDS__ maps the ids of denied vendors whose embeds get a
// placeholder (see "Placeholders" below) to the URL path prefixes of their
// embeds ([] for every path).
// Matching is rules.Set.Classify's: the most specific entry that is a
// suffix of the host at a label boundary wins, a suffix without a dot is
// never looked up, and a first-party entry anywhere in the host wins over
// every vendor.
//
// Written in ES2015 (new.target, Reflect) without classes or arrow
// functions; minified by esbuild at go generate time.
(function (top, table, ids, endpoint, embeds) {
  "use strict";
  if (top.__consentgate) return;

  var O = Object;
  var R = Reflect;
  var apply = R.apply;
  var defineProperty = O.defineProperty;
  var getDescriptor = O.getOwnPropertyDescriptor;
  var create = O.create;
  var URL_ = top.URL;
  var setTimeout_ = top.setTimeout;
  var clearTimeout_ = top.clearTimeout;
  var Event_ = top.Event;
  var WeakSet_ = top.WeakSet;
  var nav = top.navigator;
  var beacon = nav.sendBeacon;
  var stringIndexOf = String.prototype.indexOf;
  var slice = Array.prototype.slice;
  var now_ = Date.now;
  var encode = encodeURIComponent;
  var XHTML = "http://www.w3.org/1999/xhtml";

  // --- The host table -----------------------------------------------------

  var H = create(null);
  var secs = table.split("|");
  for (var k = 0; k < secs.length; k++) {
    if (secs[k] === "") continue;
    var hs = secs[k].split(",");
    for (var j = 0; j < hs.length; j++) H[hs[j]] = k;
  }
  var hasFirstParty = secs[0] !== "";

  // vendorOfHost returns the index in ids of the denied vendor a URL host
  // (as URL.hostname gives it: lower case, Punycode) belongs to, or -1.
  function vendorOfHost(h) {
    var n = h.length;
    if (n === 0 || h.charCodeAt(0) === 91) return -1; // "[": IPv6
    if (h.charCodeAt(n - 1) === 46) h = h.slice(0, n - 1); // one trailing dot
    if (h.indexOf(".") < 0) return -1;
    var found = -1;
    for (var s = h; ; ) {
      var c = H[s];
      if (c === 0) return -1; // first party, at any level
      if (c !== undefined && found < 0) {
        found = c;
        if (!hasFirstParty) break;
      }
      var i = s.indexOf(".");
      s = s.slice(i + 1);
      if (s.indexOf(".") < 0) break;
    }
    return found > 1 ? found - 2 : -1;
  }

  // The last URL checked and its answer: virtual DOM libraries set the same
  // src again and again.
  var lastURL = null;
  var lastBase = null;
  var lastVendor = -1;

  // vendorOf returns the denied vendor of URL string s resolved against
  // doc's base URL, or -1 (also for a string that is no URL). A document
  // without a window (parsed inert, a template's) resolves against the
  // page, where what is parsed into it will load.
  function vendorOf(s, doc) {
    var base = (doc && doc.defaultView ? doc : top.document).baseURI;
    if (s === lastURL && base === lastBase) return lastVendor;
    var v = -1;
    try {
      v = vendorOfHost(new URL_(s, base).hostname);
    } catch (e) {}
    lastURL = s;
    lastBase = base;
    lastVendor = v;
    return v;
  }

  // str returns v as the string an API would read, or null if reading it
  // throws (the API then throws the same way when given v).
  function str(v) {
    if (typeof v === "string") return v;
    try {
      return "" + v;
    } catch (e) {
      return null;
    }
  }

  // trusted reports whether v is a Trusted Types value, which must reach
  // the API as it is where Trusted Types are enforced.
  function trusted(v) {
    var tt = top.trustedTypes;
    return !!tt && typeof v === "object" && v !== null &&
      (tt.isScriptURL(v) || tt.isHTML(v) || tt.isScript(v));
  }

  // vendorOfList returns the first denied vendor of a srcset (kind 2: URLs
  // each followed by descriptors, comma-separated) or a ping list (kind 3:
  // URLs separated by white space).
  function vendorOfList(s, kind, doc) {
    var i = 0;
    var n = s.length;
    while (i < n) {
      while (i < n && (s.charCodeAt(i) <= 32 || s.charCodeAt(i) === 44)) i++;
      var start = i;
      while (i < n && s.charCodeAt(i) > 32) i++;
      var u = s.slice(start, i);
      if (kind === 2) {
        while (u.length > 0 && u.charCodeAt(u.length - 1) === 44) u = u.slice(0, -1);
        // Skip the descriptors up to the next comma outside parentheses.
        var depth = 0;
        if (i > start && s.charCodeAt(i - 1) !== 44) {
          while (i < n) {
            var c = s.charCodeAt(i);
            if (c === 40) depth++;
            else if (c === 41) depth--;
            else if (c === 44 && depth <= 0) break;
            i++;
          }
        }
      }
      if (u !== "") {
        var v = vendorOf(u, doc);
        if (v >= 0) return v;
      }
    }
    return -1;
  }

  // --- Counting -----------------------------------------------------------

  var counts = create(null);
  var pending = 0;
  var timer = 0;
  var first = 0;

  // count records one refused load of vendor v; a batch goes out one
  // second after the last refusal, at most five after the first.
  function count(v) {
    counts[v] = (counts[v] || 0) + 1;
    var now = now_();
    if (pending++ === 0) first = now;
    if (timer) clearTimeout_(timer);
    timer = now - first >= 5000 ? 0 : setTimeout_(flush, 1000);
    if (!timer) flush();
  }

  function flush() {
    if (timer) clearTimeout_(timer);
    timer = 0;
    if (pending === 0) return;
    var body = "";
    for (var v in counts) body += (body ? "&" : "") + encode(ids[v]) + "=" + counts[v];
    counts = create(null);
    pending = 0;
    try {
      apply(beacon, nav, [endpoint, body]);
    } catch (e) {}
  }

  // --- Elements -----------------------------------------------------------

  // The URL attributes of the elements that load them: 1 a URL, 2 a srcset,
  // 3 a ping list, 4 an iframe's srcdoc document.
  var A = create(null);
  function attrs(names, spec) {
    names = names.split(" ");
    for (var i = 0; i < names.length; i++) {
      var m = create(null);
      for (var a in spec) m[a] = spec[a];
      A[names[i]] = m;
    }
  }
  attrs("script image", { src: 1, href: 1, "xlink:href": 1 });
  attrs("img", { src: 1, srcset: 2 });
  attrs("iframe", { src: 1, srcdoc: 4 });
  attrs("frame embed track input", { src: 1 });
  attrs("link", { href: 1, imagesrcset: 2 });
  attrs("source", { src: 1, srcset: 2 });
  attrs("object", { data: 1 });
  attrs("video", { src: 1, poster: 1 });
  attrs("audio", { src: 1 });
  attrs("base", { href: 1 });
  attrs("a area", { ping: 3 });
  var SELECTOR = "script,image,img,iframe,frame,embed,track,input,link,source,object,video,audio,base,a[ping],area[ping]";

  // guarded holds every window patched, so a frame is patched once.
  var guarded = new WeakSet_();
  var has = WeakSet_.prototype.has;
  var add = WeakSet_.prototype.add;

  // refuse counts a refused load of el and fires an error event on it, as
  // a blocked load would, after the current script has run.
  function refuse(el, v) {
    count(v);
    setTimeout_(function () {
      try {
        apply(dispatch, el, [new Event_("error")]);
      } catch (e) {}
    }, 0);
  }

  var EventTargetProto = top.EventTarget.prototype;
  var dispatch = EventTargetProto.dispatchEvent;
  var listen = EventTargetProto.addEventListener;
  var ElementProto = top.Element.prototype;
  var getAttribute = ElementProto.getAttribute;
  var setAttribute = ElementProto.setAttribute;
  var removeAttribute = ElementProto.removeAttribute;
  var qsaOf = create(null);
  qsaOf[1] = ElementProto.querySelectorAll;
  qsaOf[9] = top.Document.prototype.querySelectorAll;
  qsaOf[11] = top.DocumentFragment.prototype.querySelectorAll;
  // qsa is n.querySelectorAll(sel) with the original methods.
  function qsa(n, sel) {
    var f = qsaOf[n.nodeType];
    return f ? apply(f, n, [sel]) : [];
  }
  var innerHTMLDescriptor = getDescriptor(ElementProto, "innerHTML");
  var setInnerHTML = innerHTMLDescriptor && innerHTMLDescriptor.set;
  var getInnerHTML = innerHTMLDescriptor && innerHTMLDescriptor.get;

  // check returns the denied vendor of value v of an attribute of kind,
  // or -1.
  function check(kind, v, doc) {
    return kind === 1 ? vendorOf(v, doc) : vendorOfList(v, kind, doc);
  }

  // clean removes the URL attributes of el that load a denied vendor (a
  // script also gets a type that never runs) and cleans an srcdoc. It
  // reports whether el changed.
  function clean(el) {
    var spec = A[el.localName];
    if (!spec) return false;
    var changed = false;
    for (var name in spec) {
      var v = apply(getAttribute, el, [name]);
      if (v === null) continue;
      if (spec[name] === 4) {
        var doc = cleanDocument(v);
        if (doc !== null) {
          apply(setAttribute, el, ["srcdoc", doc]);
          changed = true;
        }
        continue;
      }
      var vendor = check(spec[name], v, el.ownerDocument);
      if (vendor < 0 || permitted(el, spec[name], v, vendor)) continue;
      apply(removeAttribute, el, [name]);
      if (el.localName === "script") apply(setAttribute, el, ["type", "javascript/blocked"]);
      refuse(el, vendor);
      changed = true;
    }
    return changed;
  }

  // cleanTree cleans root and every loading element under it.
  function cleanTree(root) {
    var changed = root.nodeType === 1 && clean(root);
    if (root.firstElementChild) {
      var list = qsa(root, SELECTOR);
      for (var i = 0; i < list.length; i++) if (clean(list[i])) changed = true;
    }
    return changed;
  }

  // --- HTML from strings --------------------------------------------------

  // An inert document: what is parsed into it loads and runs nothing.
  var inert = top.document.implementation.createHTMLDocument("");
  var createElement = top.Document.prototype.createElement;
  var createElementNS = top.Document.prototype.createElementNS;
  var parseFromString = top.DOMParser.prototype.parseFromString;
  var DOMParser_ = top.DOMParser;

  // mayLoad reports whether markup could hold an absolute URL: a relative
  // one loads from the page's own origin.
  function mayLoad(s) {
    return apply(stringIndexOf, s, ["//"]) >= 0 || apply(stringIndexOf, s, [":"]) >= 0 ||
      apply(stringIndexOf, s, ["\\"]) >= 0 || apply(stringIndexOf, s, ["&"]) >= 0;
  }

  // cleanHTML returns markup s without the denied loads it holds, parsed
  // as the children of an element like ctx, or null when s loads nothing
  // denied (so the caller passes the original on unchanged).
  function cleanHTML(s, ctx) {
    if (s === null || !mayLoad(s)) return null;
    var name = ctx && ctx.nodeType === 1 ? ctx.localName : "body";
    var ns = ctx && ctx.nodeType === 1 ? ctx.namespaceURI : XHTML;
    if (name === "html") name = "body";
    var el = ns === XHTML ? apply(createElement, inert, [name]) : apply(createElementNS, inert, [ns, name]);
    apply(setInnerHTML, el, [s]);
    var root = name === "template" ? el.content : el;
    return cleanTree(root) ? apply(getInnerHTML, el, []) : null;
  }

  // openTag returns where markup s ends inside a start tag (a "<" then a
  // letter, or "<" last, with no ">" after it), or -1.
  function openTag(s) {
    var i = s.lastIndexOf("<");
    if (i < 0 || s.indexOf(">", i) >= 0) return -1;
    var c = s.charCodeAt(i + 1) | 32;
    return i + 1 === s.length || c >= 97 && c <= 122 ? i : -1;
  }

  var queueMicrotask_ = top.queueMicrotask;
  function microtask(fn) {
    if (queueMicrotask_) apply(queueMicrotask_, top, [fn]);
    else setTimeout_(fn, 0);
  }

  // cleanDocument is cleanHTML for a whole document (an srcdoc).
  function cleanDocument(s) {
    if (s === null || !mayLoad(s)) return null;
    var doc = apply(parseFromString, new DOMParser_(), [s, "text/html"]);
    return cleanTree(doc.documentElement) ? "<!DOCTYPE html>" + doc.documentElement.outerHTML : null;
  }


  // --- Placeholders -------------------------------------------------------

  // A removed embed (a video, map, post or audio player) may stand in the
  // page as a placeholder that the proxy wrote (proxy/rewrite): a span
  // holding the original element, inert, in a template, a text and a
  // button. A real click on the button loads that embed for this page
  // view: the element is restored, and its frame URLs — only iframes and
  // frames, only the placeholder's vendor, only its embed paths — are let
  // through from then on. Page code cannot use this to unblock anything
  // by itself:
  //
  //   - A placeholder counts only if it came from the proxy: its button
  //     carries a key that is random per response, which the proxy also
  //     writes into a meta element just before this script. The key is
  //     read and the meta removed here, before any other script of the
  //     page runs; each button's key is checked and removed when the
  //     parser inserts the button (the observer below runs before the
  //     next script). A placeholder made by script has no valid key.
  //   - The embed is copied, still inert, when its button arrives (the
  //     template is complete by then), and restored from that copy, so a
  //     later change to the template does nothing.
  //   - Only a trusted click event (isTrusted, read with the getter saved
  //     here, which page code cannot replace) on such a button counts;
  //     __consentgate.load(event) takes the same event and checks the same.
  //   - What is let through is what the copy holds: iframe and frame URLs
  //     of the placeholder's vendor on its embed paths, exactly (an AMP
  //     component, whose runtime builds the frame, lets that vendor's
  //     frames through). Scripts, images, fetches of the vendor stay
  //     refused.

  var meta = top.document.currentScript;
  meta = meta && meta.previousElementSibling;
  var phKey = "";
  if (meta && meta.localName === "meta" && apply(getAttribute, meta, ["name"]) === "consentgate-key") {
    phKey = apply(getAttribute, meta, ["content"]) || "";
    try {
      meta.remove();
    } catch (e) {}
  }
  var embedPaths = create(null);
  for (var ei = 0; ei < ids.length; ei++) {
    if (O.prototype.hasOwnProperty.call(embeds, ids[ei])) embedPaths[ei] = embeds[ids[ei]];
  }
  // idIndex returns the index in ids of vendor id s, or -1 (a loop, not
  // Array.prototype.indexOf, which page code may replace).
  function idIndex(s) {
    for (var i = 0; i < ids.length; i++) if (ids[i] === s) return i;
    return -1;
  }
  var NodeProto = top.Node.prototype;
  var getter = function (proto, name) {
    var d = getDescriptor(proto, name);
    return d && d.get;
  };
  var isTrusted = getDescriptor(new Event_("x"), "isTrusted").get;
  var eventTarget = getter(Event_.prototype, "target");
  var eventType = getter(Event_.prototype, "type");
  var parentOf = getter(NodeProto, "parentNode");
  var nodeType = getter(NodeProto, "nodeType");
  var localName = getter(ElementProto, "localName");
  var firstChild = getter(ElementProto, "firstElementChild");
  var fragFirstChild = getter(top.DocumentFragment.prototype, "firstElementChild");
  var nextSibling = getter(ElementProto, "nextElementSibling");
  var templateContent = top.HTMLTemplateElement && getter(top.HTMLTemplateElement.prototype, "content");
  var cloneNode = NodeProto.cloneNode;
  var preventDefault = Event_.prototype.preventDefault;
  var removeNode = ElementProto.remove;
  var cookieSetter = getDescriptor(top.Document.prototype, "cookie");
  cookieSetter = cookieSetter && cookieSetter.set;
  var styleOf = getter(top.HTMLElement.prototype, "style");
  var focus = top.HTMLElement.prototype.focus;
  var copies = new top.WeakMap(); // a placeholder's button → its embed, copied
  var getCopy = top.WeakMap.prototype.get;
  var setCopy = top.WeakMap.prototype.set;
  var allowedURL = create(null); // frame URLs let through, resolved
  var allowedFrames = create(null); // vendors whose frames are let through (AMP)
  var allowances = 0;

  function attr(el, name) {
    return apply(getAttribute, el, [name]);
  }

  // permitted reports whether URL s, which belongs to denied vendor
  // vendor, may load as the URL attribute of kind of element el: after a
  // click on a placeholder, the frames it restored.
  function permitted(el, kind, s, vendor) {
    if (allowances === 0 || kind !== 1) return false;
    try {
      var n = apply(localName, el, []);
      if (n !== "iframe" && n !== "frame") return false;
      if (allowedFrames[vendor]) return true;
      return allowedURL[new URL_(s, frameBase(el)).href] === true;
    } catch (e) {
      return false;
    }
  }

  function frameBase(el) {
    var doc = el.ownerDocument;
    return (doc && doc.defaultView ? doc : top.document).baseURI;
  }

  // embedURL returns s resolved if it is an embed URL of vendor v (its
  // host is v's, its path one of v's embed paths), else null.
  function embedURL(s, v, el) {
    if (s === null || vendorOf(s, el.ownerDocument) !== v) return null;
    var u = new URL_(s, frameBase(el));
    var paths = embedPaths[v];
    if (paths.length === 0) return u.href;
    var p = u.pathname.toLowerCase();
    for (var i = 0; i < paths.length; i++) {
      if (p.slice(0, paths[i].length) === paths[i].toLowerCase()) return u.href;
    }
    return null;
  }

  // placeholderButton is called for every element the parser inserts; a
  // placeholder's button, with the key of this response, gets its embed
  // copied. Every button loses its key attribute.
  function placeholderButton(b) {
    var k = attr(b, "data-consentgate-key");
    if (k === null) return;
    apply(removeAttribute, b, ["data-consentgate-key"]);
    if (phKey === "" || k !== phKey) return;
    var ph = apply(parentOf, b, []);
    if (!ph || apply(nodeType, ph, []) !== 1 || attr(ph, "class") !== "consentgate-placeholder") return;
    var v = idIndex(attr(ph, "data-consentgate-embed"));
    if (v < 0 || !embedPaths[v]) return;
    for (var t = apply(firstChild, ph, []); t; t = apply(nextSibling, t, [])) {
      if (apply(localName, t, []) === "template" && attr(t, "data-consentgate-original") !== null) {
        apply(setCopy, copies, [b, { v: v, frag: apply(cloneNode, apply(templateContent, t, []), [true]) }]);
        return;
      }
    }
  }

  // load restores the embed of the placeholder whose button a trusted
  // click event e targets, and reports whether it did.
  function load(e) {
    try {
      if (!apply(isTrusted, e, []) || apply(eventType, e, []) !== "click") return false;
      var b = apply(eventTarget, e, []);
      while (b && apply(nodeType, b, []) !== 1) b = apply(parentOf, b, []);
      var c = b && apply(getCopy, copies, [b]);
      if (!c) return false;
      var ph = apply(parentOf, b, []);
      if (!ph) return false;
      var frag = apply(cloneNode, c.frag, [true]);
      var first = apply(fragFirstChild, frag, []);
      if (first && apply(localName, first, []).slice(0, 4) === "amp-") allowedFrames[c.v] = true;
      var frames = qsa(frag, "iframe,frame");
      for (var i = 0; i < frames.length; i++) {
        var names = ["src", "data-src"];
        for (var j = 0; j < names.length; j++) {
          var u = embedURL(attr(frames[i], names[j]), c.v, frames[i]);
          if (u !== null) allowedURL[u] = true;
        }
      }
      allowances++;
      // The guard's own replaceWith: what else the copy holds is cleaned.
      apply(replaceWith, ph, [frag]);
      if (first) {
        try {
          apply(focus, first, []);
        } catch (e2) {}
      }
      return true;
    } catch (err) {
      return false;
    }
  }

  // dismiss hides the notice for visitors whose opt-out came from Global
  // Privacy Control when its link is clicked, and remembers it in a
  // first-party cookie, as the link's endpoint would after a round trip.
  function dismiss(e) {
    var a = apply(eventTarget, e, []);
    while (a && apply(nodeType, a, []) !== 1) a = apply(parentOf, a, []);
    if (!a || attr(a, "class") !== "consentgate-notice-dismiss") return;
    var n = apply(parentOf, a, []);
    if (!n || attr(n, "class") !== "consentgate-notice") return;
    apply(preventDefault, e, []);
    try {
      apply(cookieSetter, top.document, ["consentgate_notice=0; path=/; max-age=31536000; samesite=lax" +
        (top.location.protocol === "https:" ? "; secure" : "")]);
    } catch (err) {}
    apply(removeNode, n, []);
  }

  // restyle applies the style attribute of the proxy's own elements
  // through the CSS object model, which a page's style-src policy does not
  // govern, so a placeholder keeps its size under a CSP that refuses
  // inline style attributes.
  function restyle(el) {
    var c = attr(el, "class");
    if (c === null || c.slice(0, 12) !== "consentgate-") return;
    var st = attr(el, "style");
    if (st === null) return;
    try {
      apply(styleOf, el, []).cssText = st;
    } catch (e) {}
  }

  apply(listen, top, ["click", function (e) {
    if (!load(e)) dismiss(e);
  }, true]);

  // --- Frames -------------------------------------------------------------

  var windowOf = create(null);
  windowOf.iframe = getDescriptor(top.HTMLIFrameElement.prototype, "contentWindow").get;
  windowOf.frame = top.HTMLFrameElement && getDescriptor(top.HTMLFrameElement.prototype, "contentWindow").get;
  var framed = new WeakSet_();

  // frame patches the window of frame element f if it is of this origin,
  // and again whenever f loads a document.
  function frame(f) {
    try {
      var fw = apply(windowOf[f.localName], f, []);
      if (fw) {
        fw.document; // throws for another origin
        install(fw);
        observe(fw);
      }
    } catch (e) {}
    if (!apply(has, framed, [f])) {
      apply(add, framed, [f]);
      apply(listen, f, ["load", function () { frame(f); }]);
    }
  }

  // --- Patching a window --------------------------------------------------

  function install(w) {
    if (apply(has, guarded, [w])) return;
    apply(add, guarded, [w]);
    var E = w.Element && w.Element.prototype;
    var N = w.Node && w.Node.prototype;
    if (!E || !N) return;

    function each(list, fn) {
      for (var i = 0; i < list.length; i++) {
        try {
          fn(list[i]);
        } catch (e) {}
      }
    }

    // Setters of URL properties.
    function prop(iface, name, kind) {
      var C = w[iface];
      var d = C && getDescriptor(C.prototype, name);
      if (!d || !d.set || !d.configurable) return;
      var set = d.set;
      defineProperty(C.prototype, name, {
        configurable: true,
        enumerable: d.enumerable,
        get: d.get,
        set: function (v) {
          var s = str(v);
          if (s !== null) {
            if (kind === 4) {
              var c = cleanDocument(s);
              if (c !== null) return apply(set, this, [c]);
            } else {
              var vendor = check(kind, s, this.ownerDocument);
              if (vendor >= 0 && !permitted(this, kind, s, vendor)) return refuse(this, vendor);
            }
            if (!trusted(v)) v = s;
          }
          return apply(set, this, [v]);
        },
      });
    }
    each([
      ["HTMLScriptElement", "src", 1], ["HTMLImageElement", "src", 1], ["HTMLImageElement", "srcset", 2],
      ["HTMLIFrameElement", "src", 1], ["HTMLIFrameElement", "srcdoc", 4], ["HTMLFrameElement", "src", 1],
      ["HTMLLinkElement", "href", 1], ["HTMLLinkElement", "imageSrcset", 2], ["HTMLSourceElement", "src", 1],
      ["HTMLSourceElement", "srcset", 2], ["HTMLEmbedElement", "src", 1], ["HTMLObjectElement", "data", 1],
      ["HTMLMediaElement", "src", 1], ["HTMLVideoElement", "poster", 1], ["HTMLTrackElement", "src", 1],
      ["HTMLInputElement", "src", 1], ["HTMLBaseElement", "href", 1], ["HTMLAnchorElement", "ping", 3],
      ["HTMLAreaElement", "ping", 3],
    ], function (p) { prop(p[0], p[1], p[2]); });

    // Attributes.
    function attrKind(el, name) {
      var spec = A[el.localName];
      return spec ? spec[name.toLowerCase()] : undefined;
    }
    // allowAttr returns the value to set, or null to refuse it.
    function allowAttr(el, kind, v) {
      var s = str(v);
      if (s === null) return v;
      if (kind === 4) {
        var c = cleanDocument(s);
        return c === null ? (trusted(v) ? v : s) : c;
      }
      var vendor = check(kind, s, el.ownerDocument);
      if (vendor >= 0 && !permitted(el, kind, s, vendor)) {
        refuse(el, vendor);
        return null;
      }
      return trusted(v) ? v : s;
    }
    var setAttr = E.setAttribute;
    E.setAttribute = function setAttribute(name, value) {
      if (arguments.length >= 2) {
        var n = str(name);
        var kind = n === null ? undefined : attrKind(this, n);
        if (kind) {
          var v = allowAttr(this, kind, value);
          if (v === null) return;
          return apply(setAttr, this, [n, v]);
        }
      }
      return apply(setAttr, this, arguments);
    };
    var setAttrNS = E.setAttributeNS;
    E.setAttributeNS = function setAttributeNS(ns, name, value) {
      if (arguments.length >= 3) {
        var n = str(name);
        var kind = n === null ? undefined : attrKind(this, n.slice(n.indexOf(":") + 1));
        if (kind) {
          var v = allowAttr(this, kind, value);
          if (v === null) return;
          return apply(setAttrNS, this, [ns, n, v]);
        }
      }
      return apply(setAttrNS, this, arguments);
    };
    // attributes.setNamedItem(attr) names no element: checked once set.
    each(["setNamedItem", "setNamedItemNS"], function (m) {
      var M = w.NamedNodeMap && w.NamedNodeMap.prototype;
      var f = M && M[m];
      if (!f) return;
      M[m] = function (attr) {
        var r = apply(f, this, arguments);
        try {
          var el = attr.ownerElement;
          var kind = el && attrKind(el, attr.localName);
          if (kind && kind !== 4) {
            var vendor = check(kind, attr.value, el.ownerDocument);
            if (vendor >= 0 && !permitted(el, kind, attr.value, vendor)) {
              apply(removeAttribute, el, [attr.name]);
              refuse(el, vendor);
            }
          }
        } catch (e) {}
        return r;
      };
    });
    each(["setAttributeNode", "setAttributeNodeNS"], function (m) {
      var f = E[m];
      if (!f) return;
      E[m] = function (attr) {
        try {
          var kind = attrKind(this, attr.localName);
          var vendor = kind && kind !== 4 ? check(kind, attr.value, this.ownerDocument) : -1;
          if (vendor >= 0 && !permitted(this, kind, attr.value, vendor)) {
            refuse(this, vendor);
            return null;
          }
        } catch (e) {}
        return apply(f, this, arguments);
      };
    });
    var attrValue = w.Attr && getDescriptor(w.Attr.prototype, "value");
    if (attrValue && attrValue.set) {
      var setValue = attrValue.set;
      defineProperty(w.Attr.prototype, "value", {
        configurable: true,
        enumerable: attrValue.enumerable,
        get: attrValue.get,
        set: function (v) {
          var el = this.ownerElement;
          var kind = el && attrKind(el, this.localName);
          if (kind && kind !== 4) {
            v = allowAttr(el, kind, v);
            if (v === null) return;
          }
          return apply(setValue, this, [v]);
        },
      });
    }

    // Insertion: nodes from another document (parsed inert, a template)
    // are cleaned with everything under them; a node of this document
    // only itself (what was set on it went through the setters above).
    // Frames inserted get patched at once.
    function docOf(n) {
      return n.nodeType === 9 ? n : n.ownerDocument;
    }
    // before cleans node n about to be inserted into doc and returns the
    // frames it holds, or null.
    function before(n, doc) {
      if (n === null || typeof n !== "object" || !n.nodeType) return null;
      if (n.ownerDocument !== doc) cleanTree(n);
      else if (n.nodeType === 1) clean(n);
      var name = n.localName;
      if (name === "iframe" || name === "frame") return [n];
      if (!n.firstElementChild) return null;
      var fs = qsa(n, "iframe,frame");
      return fs.length ? fs : null;
    }
    // insert patches method m of proto, which inserts its arguments from
    // first up to last (-1: all).
    function insert(proto, m, first, last) {
      var f = proto && proto[m];
      if (typeof f !== "function") return;
      proto[m] = function () {
        var to = last < 0 ? arguments.length : last;
        var at = this && this.nodeType ? this : this && this.startContainer;
        var doc = at && at.nodeType ? docOf(at) : null;
        var frames = null;
        for (var i = first; i < to; i++) {
          try {
            var fs = before(arguments[i], doc);
            if (fs) frames = frames ? frames.concat(apply(slice, fs, [])) : apply(slice, fs, []);
          } catch (e) {}
        }
        var r = apply(f, this, arguments);
        if (frames) for (i = 0; i < frames.length; i++) frame(frames[i]);
        return r;
      };
    }
    insert(N, "appendChild", 0, 1);
    insert(N, "insertBefore", 0, 1);
    insert(N, "replaceChild", 0, 1);
    each(["Element", "Document", "DocumentFragment", "CharacterData", "DocumentType"], function (iface) {
      var p = w[iface] && w[iface].prototype;
      each(["append", "prepend", "before", "after", "replaceWith", "replaceChildren"], function (m) {
        if (p && Object.prototype.hasOwnProperty.call(p, m)) insert(p, m, 0, -1);
      });
    });
    insert(E, "insertAdjacentElement", 1, 2);
    insert(w.Range && w.Range.prototype, "insertNode", 0, 1);
    insert(w.Range && w.Range.prototype, "surroundContents", 0, 1);
    // Adoption starts an image's load even before insertion.
    each(["importNode", "adoptNode"], function (m) {
      var D = w.Document.prototype;
      var f = D[m];
      D[m] = function (n) {
        try {
          if (n && n.nodeType) cleanTree(n);
        } catch (e) {}
        return apply(f, this, arguments);
      };
    });

    // HTML parsed from strings.
    function html(proto, name, context) {
      var d = proto && getDescriptor(proto, name);
      if (!d || !d.set) return;
      var set = d.set;
      defineProperty(proto, name, {
        configurable: true,
        enumerable: d.enumerable,
        get: d.get,
        set: function (v) {
          var s = str(v);
          var c = null;
          try {
            c = cleanHTML(s, context(this));
          } catch (e) {}
          if (c === null) return apply(set, this, [s === null || trusted(v) ? v : s]);
          try {
            apply(set, this, [c]);
          } catch (e) {}
        },
      });
    }
    function self(el) {
      return el;
    }
    function parent(el) {
      return el.parentNode;
    }
    function host(root) {
      return root.host;
    }
    html(E, "innerHTML", self);
    html(E, "outerHTML", parent);
    html(w.ShadowRoot && w.ShadowRoot.prototype, "innerHTML", host);
    function htmlMethod(proto, m, at, context) {
      var f = proto && proto[m];
      if (typeof f !== "function") return;
      proto[m] = function () {
        var a = apply(slice, arguments, []);
        var c = null;
        try {
          var s = str(a[at]);
          c = cleanHTML(s, context(this, a));
          if (c === null && s !== null && !trusted(a[at])) a[at] = s;
        } catch (e) {}
        if (c === null) return apply(f, this, a);
        a[at] = c;
        try {
          return apply(f, this, a);
        } catch (e) {}
      };
    }
    htmlMethod(E, "insertAdjacentHTML", 1, function (el, a) {
      var where = ("" + a[0]).toLowerCase();
      return where === "beforebegin" || where === "afterend" ? el.parentNode : el;
    });
    htmlMethod(E, "setHTMLUnsafe", 0, self);
    htmlMethod(w.ShadowRoot && w.ShadowRoot.prototype, "setHTMLUnsafe", 0, host);
    htmlMethod(w.Range && w.Range.prototype, "createContextualFragment", 0, function (r) {
      var n = r.startContainer;
      return n.nodeType === 1 ? n : n.parentNode;
    });
    // A tag that one write leaves open (document.write('<script src="ht')
    // and then the rest) is held back and written with the next write of
    // the same script, so it is checked whole; one that no later write of
    // that script completes is dropped (the parser would have glued it to
    // whatever markup came next).
    var pending = "";
    var write = w.Document.prototype.write;
    each(["write", "writeln"], function (m) {
      var D = w.Document.prototype;
      var f = D[m];
      if (typeof f !== "function") return;
      D[m] = function () {
        var a = apply(slice, arguments, []);
        var c = null;
        var s = null;
        try {
          s = "";
          for (var i = 0; i < a.length; i++) s += str(a[i]);
          if (m === "writeln") s += "\n";
          var held = pending !== "";
          s = pending + s;
          pending = "";
          var cut = openTag(s);
          if (cut >= 0) {
            pending = s.slice(cut);
            s = s.slice(0, cut);
            microtask(function () { pending = ""; });
          }
          c = cleanHTML(s, null);
          if (c === null && !held && cut < 0) s = null; // the arguments pass as they are
        } catch (e) {
          s = null;
        }
        if (s === null) return apply(f, this, a);
        try {
          return apply(write, this, [c === null ? s : c]);
        } catch (e) {}
      };
    });

    // Network APIs.
    var wfetch = w.fetch;
    var requestURL = w.Request && getDescriptor(w.Request.prototype, "url");
    if (wfetch) {
      w.fetch = function fetch(input, init) {
        var a = apply(slice, arguments, []);
        try {
          var s = null;
          try {
            s = apply(requestURL.get, input, []);
          } catch (e) {
            s = str(input);
            if (s !== null && !trusted(input)) a[0] = s;
          }
          var vendor = s === null ? -1 : vendorOf(s, w.document);
          if (vendor >= 0) {
            count(vendor);
            return w.Promise.reject(new w.TypeError("Failed to fetch"));
          }
        } catch (e) {}
        return apply(wfetch, this, a);
      };
    }
    // A refused XMLHttpRequest, worker or event source is pointed at a
    // blob: URL that was never created: it fails at once, asynchronously,
    // without touching the network, as a blocked load does.
    function nowhere() {
      var o = w.location.origin;
      return "blob:" + (o && o !== "null" ? o : "null") + "/00000000-0000-4000-8000-000000000000";
    }
    var X = w.XMLHttpRequest && w.XMLHttpRequest.prototype;
    var open = X && X.open;
    if (open) {
      X.open = function open_(method, url) {
        var a = apply(slice, arguments, []);
        try {
          var s = str(url);
          if (s !== null) {
            var vendor = vendorOf(s, w.document);
            if (vendor >= 0) {
              count(vendor);
              a[1] = nowhere();
            } else if (!trusted(url)) a[1] = s;
          }
        } catch (e) {}
        return apply(open, this, a);
      };
    }
    var Nav = w.Navigator && w.Navigator.prototype;
    var send = Nav && Nav.sendBeacon;
    if (send) {
      Nav.sendBeacon = function sendBeacon(url) {
        var s = str(url);
        var vendor = s === null ? -1 : vendorOf(s, w.document);
        if (vendor >= 0) {
          count(vendor);
          return true; // queued, as far as the page can tell
        }
        var a = apply(slice, arguments, []);
        if (s !== null) a[0] = s;
        return apply(send, this, a);
      };
    }
    function ctor(name, refused) {
      var C = w[name];
      if (typeof C !== "function") return;
      var G = function () {
        if (!new.target) return apply(C, this, arguments);
        var a = apply(slice, arguments, []);
        try {
          var s = str(a[0]);
          if (s !== null) {
            var vendor = vendorOf(s, w.document);
            if (vendor >= 0) {
              count(vendor);
              return refused(C, s, a, new.target);
            }
            if (!trusted(a[0])) a[0] = s;
          }
        } catch (e) {}
        return R.construct(C, a, new.target);
      };
      G.prototype = C.prototype;
      O.setPrototypeOf(G, C);
      defineProperty(G, "name", { value: name });
      defineProperty(C.prototype, "constructor", { value: G, writable: true, configurable: true });
      defineProperty(w, name, { value: G, writable: true, configurable: true });
    }
    function toNowhere(C, s, a, target) {
      a[0] = nowhere();
      return R.construct(C, a, target);
    }
    ctor("Worker", toNowhere);
    ctor("SharedWorker", toNowhere);
    ctor("EventSource", toNowhere);
    // A WebSocket cannot take a blob: URL: a refused one is a socket that
    // never opens, errs and closes (code 1006) after the current script.
    ctor("WebSocket", function (C, s) {
      var et = new w.EventTarget();
      var ws = create(C.prototype);
      var state = 0;
      var on = create(null);
      function handler(type) {
        apply(listen, et, [type, function (e) {
          if (typeof on[type] === "function") apply(on[type], ws, [e]);
        }]);
        return {
          get: function () { return on[type] || null; },
          set: function (f) { on[type] = f; },
          configurable: true,
        };
      }
      function forward(m) {
        return { value: function () { return apply(EventTargetProto[m], et, arguments); }, configurable: true };
      }
      O.defineProperties(ws, {
        url: { value: s, configurable: true },
        readyState: { get: function () { return state; }, configurable: true },
        bufferedAmount: { value: 0, configurable: true },
        extensions: { value: "", configurable: true },
        protocol: { value: "", configurable: true },
        binaryType: { value: "blob", writable: true, configurable: true },
        onopen: handler("open"),
        onmessage: handler("message"),
        onerror: handler("error"),
        onclose: handler("close"),
        send: { value: function () {}, configurable: true },
        close: { value: function () {}, configurable: true },
        addEventListener: forward("addEventListener"),
        removeEventListener: forward("removeEventListener"),
        dispatchEvent: forward("dispatchEvent"),
      });
      setTimeout_(function () {
        state = 3;
        apply(dispatch, et, [new w.Event("error")]);
        apply(dispatch, et, [new w.CloseEvent("close", { code: 1006, wasClean: false })]);
      }, 0);
      return ws;
    });
    var wopen = w.open;
    if (typeof wopen === "function") {
      w.open = function open(url) {
        var s = str(url);
        var vendor = s === null || s === "" ? -1 : vendorOf(s, w.document);
        if (vendor >= 0) {
          count(vendor);
          return null; // as a blocked pop-up
        }
        return apply(wopen, this, arguments);
      };
    }

    // Same-origin frames have prototypes of their own: each is patched
    // when it is inserted, when its window is asked for, and when it loads.
    var F = w.HTMLIFrameElement && w.HTMLIFrameElement.prototype;
    each(["contentWindow", "contentDocument"], function (name) {
      var d = F && getDescriptor(F, name);
      if (!d || !d.get) return;
      var get = d.get;
      defineProperty(F, name, {
        configurable: true,
        enumerable: d.enumerable,
        get: function () {
          var r = apply(get, this, []);
          if (r) frame(this);
          return r;
        },
      });
    });

    observe(w);
    apply(listen, w, ["pagehide", flush]);
    apply(listen, w.document, ["visibilitychange", function () {
      if (w.document.visibilityState === "hidden") flush();
    }]);
  }

  // observe watches the current document of w for elements the parser
  // inserts: a script's type is changed before it runs (the parser runs
  // microtasks before a script end tag); an image or frame may have
  // started loading, and stops. A frame's window can outlive its first
  // document (about:blank, then srcdoc), so each document is observed.
  var observed = new WeakSet_();
  function observe(w) {
    var doc = w.document;
    var MO = w.MutationObserver;
    if (!MO || !doc || apply(has, observed, [doc])) return;
    apply(add, observed, [doc]);
    new MO(function (records) {
        for (var i = 0; i < records.length; i++) {
          var added = records[i].addedNodes;
          for (var j = 0; j < added.length; j++) {
            var n = added[j];
            if (n.nodeType !== 1) continue;
            try {
              clean(n);
              var ln = n.localName;
              if (ln === "iframe" || ln === "frame") frame(n);
              else if (ln === "button") placeholderButton(n);
              if (ln === "span" || ln === "button" || ln === "aside" || ln === "a") restyle(n);
            } catch (e) {}
          }
        }
      }).observe(doc, { childList: true, subtree: true });
  }

  install(top);
  var replaceWith = ElementProto.replaceWith; // the guard's, which cleans

  // For tests and the page's own code: the denied vendor of a URL, or "".
  defineProperty(top, "__consentgate", {
    value: O.freeze({
      vendor: function (u) {
        var s = str(u);
        var v = s === null ? -1 : vendorOf(s, top.document);
        return v < 0 ? "" : ids[v];
      },
      flush: flush,
      // load(event) loads the embed of the placeholder whose button a
      // trusted click event targets (the guard's own click listener does
      // so already); it reports whether it did.
      load: load,
    }),
  });
})(window, __CG_TABLE__, __CG_IDS__, __CG_ENDPOINT__, __CG_EMBEDS__);
