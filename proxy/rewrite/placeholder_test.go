package rewrite

import (
	"strings"
	"testing"
)

func TestDimension(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    float64
		unit string
	}{
		{"560", 560, "px"}, {" 560px ", 560, "px"}, {"100%", 100, "%"}, {"12.5em", 12.5, "em"},
		{"40REM", 40, "rem"}, {"50vw !important", 50, "vw"}, {"0", 0, ""}, {"-5", 0, ""},
		{"auto", 0, ""}, {"calc(100% - 2px)", 0, ""}, {"150%", 0, ""}, {"1e9", 0, ""},
		{"10pt", 0, ""}, {"", 0, ""}, {`5px;background:url(x)`, 0, ""}, {"560\"", 0, ""},
	} {
		n, u := dimension([]byte(c.in))
		if n != c.n || u != c.unit {
			t.Errorf("dimension(%q) = %v %q, want %v %q", c.in, n, u, c.n, c.unit)
		}
	}
}

func TestCSSValue(t *testing.T) {
	css := []byte(" min-width: 10px; WIDTH : 300px;height:200px; width:320px; display : none ")
	if got := string(cssValue(css, "width")); got != "320px" {
		t.Errorf("width = %q", got)
	}
	if got := string(cssValue(css, "height")); got != "200px" {
		t.Errorf("height = %q", got)
	}
	if cssValue(css, "max-width") != nil {
		t.Error("max-width found where there is none")
	}
	if !hiddenCSS(css) || hiddenCSS([]byte("display:block;visibility:visible")) || !hiddenCSS([]byte("visibility:HIDDEN")) {
		t.Error("hiddenCSS")
	}
}

// TestPlaceholderText checks the texts a site gives: fields replaced,
// everything escaped, the button only with the guard.
func TestPlaceholderText(t *testing.T) {
	in := `<iframe width="560" height="315" src="https://www.youtube.com/embed/x"></iframe>`
	p := optOut(t, false)
	p.Placeholders = &Placeholders{Reason: `Because <you> said "no" & meant it.`, Text: "{name} & {company}: {kind} {unknown}", Button: "Play <{name}>"}
	out, rm := rewriteString(t, in, p)
	for _, want := range []string{
		`Because &lt;you&gt; said &#34;no&#34; &amp; meant it. YouTube &amp; Google: video {unknown}</span></span>`,
		`data-consentgate-embed="youtube"`,
		`<template data-consentgate-original>` + in + `</template>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "<button") {
		t.Errorf("a button without the guard:\n%s", out)
	}
	if len(rm) != 1 || rm[0].Vendor.ID != "youtube" || rm[0].Count != 1 {
		t.Errorf("removals %+v, want youtube once", rm)
	}
	p.Guard = true
	p.Placeholders.Key = `k3y_-"><x`
	out, _ = rewriteString(t, in, p)
	if !strings.Contains(out, `data-consentgate-load style="`) || !strings.Contains(out, ` data-consentgate-key="k3y_-x">Play &lt;YouTube&gt;</button></span>`) {
		t.Errorf("button missing, key not filtered or label unescaped:\n%s", out)
	}
	// Without Placeholders the same iframe is removed, as before.
	if out, _ := rewriteString(t, in, optOut(t, false)); out != "" {
		t.Errorf("without placeholders: %q, want nothing", out)
	}
	// Neutralised elements keep their place; they get none.
	if out, _ := rewriteString(t, in, Policy{Set: neutral(t, false).Set, Site: neutral(t, false).Site, Deny: neutral(t, false).Deny, Placeholders: p.Placeholders}); strings.Contains(out, "consentgate-placeholder") {
		t.Errorf("a neutralised iframe got a placeholder:\n%s", out)
	}
}

// TestTail checks that Policy.Tail goes after the page's last byte, only
// when the policy denies something, and not into noscript content.
func TestTail(t *testing.T) {
	tail := `<div id="n">honoured</div>`
	p := optOut(t, false)
	p.Tail = []byte(tail)
	in := "<p>a</p><noscript><img src=x></noscript><p>b"
	if out, _ := rewriteString(t, in, p); out != in+tail {
		t.Errorf("got %q, want the page then the tail", out)
	}
	var nothing Policy
	nothing.Tail = []byte(tail)
	if out, _ := rewriteString(t, in, nothing); out != in {
		t.Errorf("a policy that denies nothing changed the page: %q", out)
	}
}
