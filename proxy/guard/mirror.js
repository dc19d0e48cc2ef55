// consentgate consent mirror: the readable source of mirror.min.js.
//
// On a site with `mirror: true` it runs in every HTML page: in the head
// script of an enforced page, and appended after the document for every
// other visitor. It reads the choice a visitor made in a consent tool that
// keeps its state in the page only, and writes what that choice denies to
// the first-party cookie the edge reads (signals.MirrorCookie), so the
// choice is enforced from the next request on:
//
//   - __tcfapi("addEventListener", 2): on tcloaded and
//     useractioncomplete, where GDPR applies, the categories whose
//     purposes lack consent, with the edge's table (functional 1,5,6;
//     analytics 1,7,8,9; advertising and social 1,2,3,4);
//   - __gpp("addEventListener"): when the signal is ready, an opt-out when
//     a US section says SaleOptOut, SharingOptOut or
//     TargetedAdvertisingOptOut 1 or Gpc true, or uspv1 OptOutSale "Y";
//   - __uspapi("getUSPData", 1): an opt-out when the third character is Y
//     (and when the string is malformed, as the edge reads it);
//   - localStorage, under the names the six consent tools the edge parses
//     use for their cookies (OneTrust OptanonConsent, Cookiebot
//     CookieConsent, CookieYes cookieyes-consent, Complianz cmplz_*, Didomi
//     didomi_token, Klaro klaro), read as the edge reads the cookie.
//
// It only ever records opt-outs and denials, never a grant: the value is
// 1.O.DENIED.FROM (see signals.MirrorCookie). A source that cannot be read
// counts as an opt-out, as at the edge. The cookie is rewritten when what
// the sources say changes and expired when every source that reported
// denies nothing; before any source reports, it is left alone. The APIs are
// looked for when the script starts, when the document is parsed and
// loaded, after each click (a choice in a banner) and every two seconds;
// consentgate's own __uspapi and __gpp (propagate.js) are never read.
//
// The proxy fills in __CG_MIRROR__ (see guard.go): {c, g}, the cookie name
// and the site's OneTrust group map (group id to a category letter).
//
// Written in ES2015 without classes or arrow functions; minified by
// esbuild at go generate time.
(function (w, cfg) {
  "use strict";
  if (w.__consentgateMirror) return;
  Object.defineProperty(w, "__consentgateMirror", { value: true });

  var d = w.document;
  var F = 1,
    A = 2,
    D = 4,
    S = 8,
    ALL = 15;
  var LETTERS = "fads"; // bit i of a denial
  var ORDER = "tguocyzik"; // the sources, in the cookie's order
  var reports = {}; // source letter -> [opted out, denied bits]
  var timer = 0;

  function report(src, optOut, denied) {
    var r = reports[src];
    if (r && r[0] === optOut && r[1] === denied) return;
    reports[src] = [optOut, denied];
    if (!timer) timer = setTimeout(write, 0);
  }

  function cookie() {
    var all = d.cookie.split("; ");
    for (var i = 0; i < all.length; i++) {
      if (all[i].slice(0, cfg.c.length + 1) === cfg.c + "=") return all[i].slice(cfg.c.length + 1);
    }
    return null;
  }

  function write() {
    timer = 0;
    var o = 0,
      den = 0,
      from = "";
    for (var i = 0; i < ORDER.length; i++) {
      var r = reports[ORDER[i]];
      if (!r) continue;
      o |= r[0];
      den |= r[1];
      from += ORDER[i];
    }
    if (!from) return;
    var secure = w.location.protocol === "https:" ? "; secure" : "";
    var cur = cookie();
    if (!o && !den) {
      if (cur !== null) d.cookie = cfg.c + "=; path=/; max-age=0; samesite=lax" + secure;
      return;
    }
    var cats = "";
    for (var j = 0; j < 4; j++) if (den & (1 << j)) cats += LETTERS[j];
    var v = "1." + o + "." + (cats || "-") + "." + from;
    if (v !== cur) d.cookie = cfg.c + "=" + v + "; path=/; max-age=31536000; samesite=lax" + secure;
  }

  // Purposes each category needs, as signals/tcf.go purposeCategories.
  var PURPOSES = [
    [F, [1, 5, 6]],
    [A, [1, 7, 8, 9]],
    [D | S, [1, 2, 3, 4]],
  ];

  // denyPurposes returns the categories whose purposes has() does not
  // all grant.
  function denyPurposes(has) {
    var den = 0;
    for (var i = 0; i < PURPOSES.length; i++) {
      var ps = PURPOSES[i][1];
      for (var j = 0; j < ps.length; j++) {
        if (!has(ps[j])) {
          den |= PURPOSES[i][0];
          break;
        }
      }
    }
    return den;
  }

  function onTCF(tc, ok) {
    if (!ok || !tc || tc.gdprApplies === false) return;
    if (tc.eventStatus !== "tcloaded" && tc.eventStatus !== "useractioncomplete") return;
    var c = (tc.purpose && tc.purpose.consents) || {};
    report("t", 0, denyPurposes(function (p) {
      return c[p] === true;
    }));
  }

  var US = /^us[a-z]{2,3}$/;

  function onGPP(ev, ok) {
    var pd = ev && ev.pingData;
    if (!ok || !pd || pd.signalStatus !== "ready" || !pd.parsedSections) return;
    var o = 0;
    var ps = pd.parsedSections;
    for (var name in ps) {
      var sec = ps[name];
      var parts = Array.isArray(sec) ? sec : [sec];
      for (var i = 0; i < parts.length; i++) {
        var f = parts[i];
        if (!f || typeof f !== "object") continue;
        if (name === "uspv1" ? f.OptOutSale === "Y" : US.test(name) && (f.SaleOptOut === 1 || f.SharingOptOut === 1 || f.TargetedAdvertisingOptOut === 1 || f.Gpc === true)) o = 1;
      }
    }
    report("g", o, 0);
  }

  function onUSP(u, ok) {
    if (!ok || !u || typeof u.uspString !== "string") return;
    var s = u.uspString;
    report("u", /^1[YN-][YN-][YN-]$/.test(s) ? (s[2] === "Y" ? 1 : 0) : 1, 0);
  }

  function own(f) {
    return typeof f === "function" && !f.__consentgate;
  }

  var tcfHooked = false,
    gppHooked = false;

  // --- Storage, read as signals/cmp.go reads the cookies -----------------

  // Each returns [opted out, denied], or null for "decides nothing"; a
  // value that does not parse throws (an opt-out).
  function oneTrust(v) {
    var q = new URLSearchParams(v);
    var gpc = q.get("isGpcEnabled") === "1" || q.get("browserGpcFlag") === "1";
    var groups = q.getAll("groups");
    if (!groups.length) {
      if (!gpc) throw 0;
      return [1, 0];
    }
    if (groups.length > 1) throw 0;
    var den = 0;
    if (groups[0] !== "") {
      var gs = groups[0].split(",");
      for (var i = 0; i < gs.length; i++) {
        var kv = gs[i].split(":");
        if (kv.length !== 2 || !kv[0] || (kv[1] !== "0" && kv[1] !== "1")) throw 0;
        var letter = cfg.g[kv[0]];
        if (kv[1] === "0" && letter) den |= 1 << LETTERS.indexOf(letter);
      }
    }
    return [gpc ? 1 : 0, den];
  }

  function cookiebot(v) {
    var s = decodeURIComponent(v);
    if (s === "-1") return null;
    if (s[0] !== "{" || s[s.length - 1] !== "}") throw 0;
    var den = 0,
      seen = 0;
    var kvs = s.slice(1, -1).split(",");
    var cats = { preferences: F, statistics: A, marketing: D | S };
    for (var i = 0; i < kvs.length; i++) {
      var j = kvs[i].indexOf(":");
      if (j < 0) continue;
      var k = kvs[i].slice(0, j).trim().replace(/^['"]|['"]$/g, "");
      var val = kvs[i].slice(j + 1).trim().replace(/^['"]|['"]$/g, "");
      if (k === "stamp" && val === "-1") return null;
      if (!cats[k]) continue;
      if (val === "false") den |= cats[k];
      else if (val !== "true") throw 0;
      seen++;
    }
    if (!seen) throw 0;
    return [0, den];
  }

  function cookieYes(v) {
    var kvs = decodeURIComponent(v).split(",");
    var cats = { functional: F, analytics: A, performance: A, advertisement: D | S };
    var den = 0,
      seen = 0;
    for (var i = 0; i < kvs.length; i++) {
      var j = kvs[i].indexOf(":");
      if (j < 0) throw 0;
      var k = kvs[i].slice(0, j),
        val = kvs[i].slice(j + 1);
      if (!cats[k]) continue;
      if (val === "no") den |= cats[k];
      else if (val !== "yes") throw 0;
      seen++;
    }
    if (!seen) throw 0;
    return [0, den];
  }

  var CMPLZ = { cmplz_functional: F, cmplz_preferences: F, cmplz_statistics: A, cmplz_marketing: D | S };

  var DIDOMI = [
    "cookies",
    "select_basic_ads",
    "create_ads_profile",
    "select_personalized_ads",
    "create_content_profile",
    "select_personalized_content",
    "measure_ad_performance",
    "measure_content_performance",
    "market_research",
    "improve_products",
    "use_limited_data_to_select_content",
  ];

  function didomi(v) {
    var s = v.replace(/-/g, "+").replace(/_/g, "/");
    var t = JSON.parse(atob(s + "===".slice((s.length + 3) % 4)));
    var p = t && t.purposes;
    if (!p || typeof p !== "object") throw 0;
    var on = {},
      disabled = false,
      i;
    var en = p.enabled || [],
      dis = p.disabled || [];
    for (i = 0; i < en.length; i++) if (DIDOMI.indexOf(en[i]) >= 0) on[DIDOMI.indexOf(en[i]) + 1] = true;
    for (i = 0; i < dis.length; i++) {
      if (DIDOMI.indexOf(dis[i]) >= 0) {
        delete on[DIDOMI.indexOf(dis[i]) + 1];
        disabled = true;
      }
    }
    if (!disabled && !en.length) return [0, 0];
    return [0, denyPurposes(function (n) {
      return on[n] === true;
    })];
  }

  function klaro(v) {
    var m = JSON.parse(decodeURIComponent(v));
    if (!m || typeof m !== "object" || Array.isArray(m)) throw 0;
    var on = 0,
      off = 0;
    for (var k in m) {
      if (m[k] === true) on++;
      else if (m[k] === false) off++;
      else throw 0;
    }
    if (!on && !off) return null; // no service: decides nothing
    return [0, off && !on ? ALL : 0];
  }

  var STORED = [
    ["o", "OptanonConsent", oneTrust],
    ["c", "CookieConsent", cookiebot],
    ["y", "cookieyes-consent", cookieYes],
    ["i", "didomi_token", didomi],
    ["k", "klaro", klaro],
  ];

  function get(k) {
    try {
      return w.localStorage.getItem(k);
    } catch (e) {
      return null; // storage blocked: nothing to read
    }
  }

  function storage() {
    for (var i = 0; i < STORED.length; i++) {
      var v = get(STORED[i][1]);
      if (v === null) continue;
      var r;
      try {
        if (v === "") throw 0;
        r = STORED[i][2](v);
      } catch (e) {
        r = [1, 0]; // cannot be read: an opt-out, as at the edge
      }
      if (r) report(STORED[i][0], r[0], r[1]);
    }
    var seen = false,
      zo = 0,
      zd = 0;
    for (var k in CMPLZ) {
      var c = get(k);
      if (c === null) continue;
      seen = true;
      if (c === "deny") zd |= CMPLZ[k];
      else if (c !== "allow") zo = 1;
    }
    if (seen) report("z", zo, zd);
  }

  function check() {
    try {
      if (!tcfHooked && own(w.__tcfapi)) {
        tcfHooked = true;
        w.__tcfapi("addEventListener", 2, onTCF);
      }
    } catch (e) {}
    try {
      if (!gppHooked && own(w.__gpp)) {
        gppHooked = true;
        w.__gpp("addEventListener", onGPP);
      }
    } catch (e) {}
    try {
      if (own(w.__uspapi)) w.__uspapi("getUSPData", 1, onUSP);
    } catch (e) {}
    storage();
  }

  check();
  d.addEventListener("DOMContentLoaded", check);
  w.addEventListener("load", check);
  // A choice is made with a click; the tool stores it in its handler.
  d.addEventListener(
    "click",
    function () {
      setTimeout(check, 0);
      setTimeout(check, 500);
    },
    true
  );
  d.addEventListener("visibilitychange", check);
  setInterval(check, 2000);
})(window, __CG_MIRROR__);
