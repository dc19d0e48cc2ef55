package guard

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/proxy/guard/internal/jsmin"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/signals"
)

// TestSignalScriptsMinifiedAreCurrent fails when propagate.js or mirror.js
// changed without go generate.
func TestSignalScriptsMinifiedAreCurrent(t *testing.T) {
	for name, src := range map[string]string{"propagate.min.js": PropagateSource, "mirror.min.js": MirrorSource} {
		want, err := jsmin.Minify([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./proxy/guard", name)
		}
	}
}

func withOptions(site *rules.Site, propagate, mirror bool) *rules.Site {
	s := *site
	s.Propagate, s.Mirror = propagate, mirror
	return &s
}

func TestPropagationFor(t *testing.T) {
	_, base := testPolicy(t)
	on := withOptions(base, true, false)
	tests := []struct {
		site *rules.Site
		c    signals.Consent
		want Propagation
	}{
		{on, signals.Consent{OptedOut: true, DoNotSell: true, Sources: signals.GPC}, PropagateOptOutGPC},
		{on, signals.Consent{OptedOut: true, DoNotSell: true, Sources: signals.OptOutCookie}, PropagateOptOut},
		{on, signals.Consent{OptedOut: true, Sources: signals.CMP, Denied: rules.Of(rules.Analytics)}, PropagateNone},
		{on, signals.Consent{Sources: signals.Region, Denied: rules.AllButNecessary}, PropagateNone},
		{base, signals.Consent{OptedOut: true, DoNotSell: true, Sources: signals.GPC}, PropagateNone},
		{nil, signals.Consent{OptedOut: true, DoNotSell: true, Sources: signals.GPC}, PropagateNone},
	}
	for i, tt := range tests {
		if got := PropagationFor(tt.site, tt.c); got != tt.want {
			t.Errorf("%d: %v, want %v", i, got, tt.want)
		}
	}
}

// TestCompileWithSignalScripts: the guard of a site with propagate and
// mirror carries, after the guard and the stub, the propagation filled in
// with the strings the proxy writes in cookies, and the mirror with its
// cookie name and the site's OneTrust groups; each propagation has a
// script (and a fingerprint) of its own; without the options the guard is
// what Compile always gave.
func TestCompileWithSignalScripts(t *testing.T) {
	set, base := testPolicy(t)
	plain := Compile(set, base, rules.DefaultDeny)
	if got := CompileFor(set, base, rules.DefaultDeny, PropagateOptOutGPC); !bytes.Equal(got.JS, plain.JS) {
		t.Error("a site without propagate gets a different guard for a propagation")
	}
	site := withOptions(base, true, true)
	seen := map[string]Propagation{}
	for p := PropagateNone; p < numPropagations; p++ {
		g := CompileFor(set, site, rules.DefaultDeny, p)
		if !g.Guarded || !bytes.HasPrefix(g.JS, plain.JS[:200]) {
			t.Errorf("%d: not the guard first", p)
		}
		if q, dup := seen[g.Fingerprint]; dup {
			t.Errorf("propagations %d and %d share a fingerprint", q, p)
		}
		seen[g.Fingerprint] = p
		js := string(g.JS)
		if has := strings.Contains(js, `"usp":"1YYN"`); has != (p != PropagateNone) {
			t.Errorf("%d: propagation present %v", p, has)
		}
		if p != PropagateNone {
			gpp := signals.GPPOptOut
			if p.GPC() {
				gpp = signals.GPPOptOutGPC
			}
			usnat, _ := json.Marshal(signals.PropagatedUSNat(p.GPC()))
			if !strings.Contains(js, `"gpp":"`+gpp+`"`) || !strings.Contains(js, `"usnat":`+string(usnat)) {
				t.Errorf("%d: propagation not filled in with %s", p, gpp)
			}
		}
		if !strings.Contains(js, `{"c":"consentgate_mirror","g":{"C0002":"a","C0003":"f","C0004":"d","C0005":"s"}}`) {
			t.Errorf("%d: no mirror filled in", p)
		}
		if strings.Contains(js, phPropagation) || strings.Contains(js, phMirror) {
			t.Errorf("%d: a placeholder is left", p)
		}
	}
}

// TestCacheHeadsAndMirrors: Head gives the stub and the signal scripts
// without the guard, nil where there are none; ByFingerprint finds a
// propagation's guard; Mirror only for a site with the mirror.
func TestCacheHeadsAndMirrors(t *testing.T) {
	set, base := testPolicy(t)
	c := NewCache(set)
	if c.Head(base, rules.DefaultDeny, PropagateNone) != nil {
		t.Error("a head script without signal scripts")
	}
	if c.Mirror(base) != nil {
		t.Error("a mirror for a site without it")
	}
	// The cache is keyed by site index: the set's site, options on, in a
	// cache of its own.
	site := set.Sites()[0]
	site.Propagate, site.Mirror = true, true
	c = NewCache(set)
	h := c.Head(site, rules.DefaultDeny, PropagateOptOut)
	if h == nil || h.Guarded || bytes.Contains(h.JS, []byte("sendBeacon")) || !bytes.Contains(h.JS, []byte("__uspapi")) ||
		!bytes.Contains(h.JS, []byte("__consentgateMirror")) || !bytes.HasPrefix(h.Inline, []byte("<script>(function(w){")) {
		t.Errorf("head script: %+v", h)
	}
	if c.Head(site, rules.DefaultDeny, PropagateOptOut) != h {
		t.Error("Head does not keep what it compiled")
	}
	g := CompileFor(set, site, rules.Of(rules.Advertising), PropagateOptOutGPC)
	if got := c.ByFingerprint(site, g.Fingerprint); got == nil || !bytes.Equal(got.JS, g.JS) {
		t.Error("ByFingerprint does not find a propagation's guard")
	}
	m := c.Mirror(site)
	if m == nil || c.Mirror(site) != m || !bytes.HasPrefix(m.Inline, []byte("<script>(function(")) || !strings.HasPrefix(m.Hash, "'sha256-") {
		t.Errorf("mirror %+v", m)
	}
}
