// consentgate propagation: the readable source of propagate.min.js.
//
// Part of the head script of an opted-out visitor's page on a site with
// `propagate: true`, after the guard and the stub. It tells the vendors
// that stay on the page about the opt-out in their own terms, through the
// IAB APIs they call: __uspapi (IAB "USP API" v1: getUSPData) and __gpp
// (IAB GPP "CMP API" v1.1: ping, addEventListener, removeEventListener,
// hasSection, getSection, getField; and v1.0's getGPPData). It defines
// each only where nothing defines it yet, as an ordinary writable property,
// so a consent tool's own API assigned later replaces it. The same values
// go out as the usprivacy, __gpp and __gpp_sid cookies (see proxy and
// signals.PropagateUSP, PropagateGPP).
//
// The proxy fills in __CG_PROPAGATION__ (see guard.go): {usp, gpp, sid,
// usnat}, the US Privacy string, the GPP string, its applicable section
// ids and the usnat section as the GPP API represents it (a core object
// and a GPC sub-section object), decoded from the string by the same
// decoder the edge reads it with.
//
// Written in ES2015 without classes or arrow functions; minified by
// esbuild at go generate time.
(function (w, p) {
  "use strict";
  var O = Object;

  // copy returns a deep copy of plain data, so a caller cannot change what
  // the next caller gets.
  function copy(v) {
    if (Array.isArray(v)) return v.map(copy);
    if (v && typeof v === "object") {
      var o = {};
      for (var k in v) o[k] = copy(v[k]);
      return o;
    }
    return v;
  }

  // mark says a function is consentgate's own, so the consent mirror
  // (mirror.js) never reads the opt-out back as a visitor's choice.
  function mark(f) {
    O.defineProperty(f, "__consentgate", { value: true });
    return f;
  }

  function call(cb, data, ok) {
    if (typeof cb === "function") {
      try {
        cb(data, ok);
      } catch (e) {}
    }
  }

  if (typeof w.__uspapi !== "function") {
    w.__uspapi = mark(function (cmd, version, cb) {
      if (cmd === "getUSPData") {
        var d = { version: 1, uspString: p.usp };
        call(cb, d, true);
        return d;
      }
      call(cb, null, false);
    });
  }

  if (typeof w.__gpp !== "function") {
    var listeners = {};
    var lastId = 0;
    var ping = function () {
      return {
        gppVersion: "1.1",
        cmpStatus: "loaded",
        cmpDisplayStatus: "disabled",
        signalStatus: "ready",
        supportedAPIs: ["7:usnat"],
        // The CMP API specification: "a value of 1 must be used by string
        // creators who do not have a CMP ID".
        cmpId: 1,
        sectionList: copy(p.sid),
        applicableSections: copy(p.sid),
        gppString: p.gpp,
        parsedSections: { usnat: copy(p.usnat) },
      };
    };
    var event = function (name, id, data) {
      return { eventName: name, listenerId: id, data: data, pingData: ping() };
    };
    // field returns the value of "usnat.Field" (or of Field in the core
    // or GPC sub-section of section "usnat"), or null.
    var field = function (name) {
      var i = typeof name === "string" ? name.indexOf(".") : -1;
      if (i < 0 || name.slice(0, i) !== "usnat") return null;
      var f = name.slice(i + 1);
      for (var j = 0; j < p.usnat.length; j++) {
        if (O.prototype.hasOwnProperty.call(p.usnat[j], f)) return copy(p.usnat[j][f]);
      }
      return null;
    };
    w.__gpp = mark(function (cmd, cb, param) {
      var d;
      switch (cmd) {
        case "ping":
          d = ping();
          break;
        case "addEventListener":
          if (typeof cb !== "function") return;
          var id = ++lastId;
          listeners[id] = cb;
          d = event("listenerRegistered", id, true);
          call(cb, d, true);
          // Nothing changes later: the signal is ready now.
          call(cb, event("signalStatus", id, "ready"), true);
          return d;
        case "removeEventListener":
          var had = O.prototype.hasOwnProperty.call(listeners, param);
          delete listeners[param];
          d = event("listenerRemoved", param, had);
          break;
        case "hasSection":
          d = param === "usnat";
          break;
        case "getSection":
          d = param === "usnat" ? copy(p.usnat) : null;
          break;
        case "getField":
          d = field(param);
          break;
        case "getGPPData":
          // GPP CMP API v1.0 (removed in 1.1), for callers still on it.
          d = {
            sectionId: 3,
            gppVersion: 1,
            parsedSections: { usnat: copy(p.usnat) },
            gppString: p.gpp,
            applicableSections: copy(p.sid),
          };
          break;
        default:
          call(cb, null, false);
          return;
      }
      call(cb, d, true);
      return d;
    });
  }
})(window, __CG_PROPAGATION__);
