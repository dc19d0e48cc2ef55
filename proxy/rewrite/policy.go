package rewrite

import (
	"crypto/sha256"
	"encoding/base64"

	"github.com/consentgate/consentgate/rules"
)

// compiled is what a Writer derives from a Policy once: whether anything
// can be denied, the stub, and the signatures of denied vendors.
type compiled struct {
	set    *rules.Set
	site   *rules.Site
	deny   rules.Categories
	active bool   // some vendor can be denied
	stub   []byte // the stub element, or nil
	js     []byte // the stub's script text, or nil
	hash   string
	// globals are the Globals of every vendor of the set, denied or not:
	// a script that writes only these defines no state of the site's own.
	globals, deniedGlobals jsGlobals
	// sigBytes are the signatures of denied vendors, to locate the one the
	// matcher reported in a script.
	sigBytes map[*rules.Vendor][][]byte

	ampAnalytics, ampAds []ampVendor // the AMP type tables for set
}

func compilePolicy(p Policy) *compiled {
	c := &compiled{set: p.Set, site: p.Site, deny: p.Deny}
	if p.Set == nil || p.Deny == 0 {
		return c
	}
	c.ampAnalytics = resolveAmp(p.Set, ampAnalyticsTypes)
	c.ampAds = resolveAmp(p.Set, ampAdTypes)
	c.compileJS(p.Set)
	var arrays, funcs []string
	for _, v := range p.Set.Vendors() {
		if !c.denied(v) {
			continue
		}
		c.active = true
		for _, g := range v.Globals {
			if !jsIdent(g) || contains(arrays, g) || contains(funcs, g) {
				continue
			}
			if arrayGlobals[g] {
				arrays = append(arrays, g)
			} else {
				funcs = append(funcs, g)
			}
		}
	}
	if len(arrays)+len(funcs) > 0 {
		js := stubJS(arrays, funcs)
		c.js = js
		c.stub = append(append(append([]byte(nil), "<script>"...), js...), "</script>"...)
		sum := sha256.Sum256(js)
		c.hash = "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	return c
}

// denied reports whether v is enforced: Site.Denied, which applies the
// site's own category of v (vendor_categories) and its allow-list.
func (c *compiled) denied(v *rules.Vendor) bool {
	return c.site.Denied(v, c.deny)
}

// action is what to do with an element of v.
func (c *compiled) action(v *rules.Vendor) rules.Action {
	return c.site.Action(v)
}

// arrayGlobals are vendor globals that site code pushes to as arrays.
var arrayGlobals = map[string]bool{
	"dataLayer": true, "adsbygoogle": true, "_linkedin_data_partner_ids": true,
	"_hsq": true, "_paq": true, "_gaq": true, "_hmt": true, "_kmq": true, "uetq": true,
	"_tfa": true, "_qevents": true, "_fbq_queue": true, "_newsroom": true, "_seedtagq": true,
}

// stubJS defines each missing global: arrays as [], the others as one no-op
// function. Where Proxy exists the function answers any method call with
// itself, so ttq.track(...) or hj.q.push(...) do nothing instead of
// throwing; properties a function really has, "then" (so it is no
// thenable) and symbols read through.
func stubJS(arrays, funcs []string) []byte {
	b := []byte(`(function(w){var n=function(){return p},p=w.Proxy?new Proxy(n,{get:function(t,k){return typeof k!=="string"||k==="then"||k in t?t[k]:p}}):n,a=`)
	b = jsList(b, arrays)
	b = append(b, ",g="...)
	b = jsList(b, funcs)
	b = append(b, `,i;for(i=0;i<a.length;i++)if(typeof w[a[i]]==="undefined")w[a[i]]=[];for(i=0;i<g.length;i++)if(typeof w[g[i]]==="undefined")w[g[i]]=p})(window);`...)
	return b
}

func jsList(b []byte, names []string) []byte {
	if len(names) == 0 {
		return append(b, "[]"...)
	}
	b = append(b, '"')
	for i, n := range names {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, n...)
	}
	return append(b, `".split(" ")`...)
}

// jsIdent reports whether s is a plain JavaScript identifier, so it can be
// written into the stub as is.
func jsIdent(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == '$' || c|0x20 >= 'a' && c|0x20 <= 'z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// Stub returns the stub element that p inserts ("<script>…</script>"), or
// nil when it inserts none: p.Stub is false or no denied vendor has
// globals. The caller must not modify it.
func Stub(p Policy) []byte {
	if !p.Stub {
		return nil
	}
	return compilePolicy(p).stub
}

// StubScript returns the text of the stub script for the vendors p denies
// (what Stub wraps in a script element, whatever p.Stub says), or nil when
// no denied vendor has globals. The runtime guard carries it in place of
// the stub element. The caller must not modify it.
func StubScript(p Policy) []byte {
	return compilePolicy(p).js
}

// StubHash returns the CSP source of the stub's text ("'sha256-…'"), for a
// proxy to add to a script-src directive, or "" when p inserts no stub.
func StubHash(p Policy) string {
	if !p.Stub {
		return ""
	}
	return compilePolicy(p).hash
}

// StubHash is StubHash(p) for the policy of w, without recomputing it.
func (w *Writer) StubHash() string {
	if !w.p.Stub || w.nested || len(w.p.Head) > 0 {
		return ""
	}
	return w.pol.hash
}
