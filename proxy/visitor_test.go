package proxy_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/proxy/demo"
	"github.com/valyala/fasthttp"
)

// TestPlaceholdersThroughProxy: on the demo site with its own config, an
// opted-out visitor's home page has a placeholder where the YouTube tour
// was, which says why after the signal, carries the response's key, which
// a meta element right before the guard hands to the guard; each response
// has a key of its own. A visitor without a signal gets the upstream's
// bytes.
func TestPlaceholdersThroughProxy(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	g := startGate(t, "http://"+up.addr, string(demo.Config))
	raw, err := demo.Page("/")
	if err != nil {
		t.Fatal(err)
	}
	_, plain := get(t, g.url+"/")
	if !bytes.Equal(plain, raw) {
		t.Errorf("without a signal the page differs from the upstream's\n%s", firstDiff(plain, raw))
	}
	keys := map[string]bool{}
	for _, c := range []struct{ header, reason string }{
		{"Sec-GPC: 1", "You opted out of the sale and sharing of your personal information (Global Privacy Control). Loading this YouTube video shares data with Google."},
		{"Cookie: consentgate_optout=1", "You opted out of the sale and sharing of your personal information on this site. Loading this YouTube video shares data with Google."},
		{"Sec-GPC: 1", ""},
	} {
		resp, body := get(t, g.url+"/", c.header)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", c.header, resp.StatusCode)
		}
		if bytes.Contains(body, []byte(`<iframe width="560" height="315" src="https://www.youtube.com/embed/`)) &&
			!bytes.Contains(body, []byte(`<template data-consentgate-original><iframe width="560" height="315" src="https://www.youtube.com/embed/dQw4w9WgXcQ"`)) {
			t.Errorf("%s: the tour is live, not in the placeholder's template", c.header)
		}
		if c.reason != "" && !bytes.Contains(body, []byte(`<span class="consentgate-placeholder-text">`+c.reason+`</span>`)) {
			t.Errorf("%s: no placeholder text %q:\n%s", c.header, c.reason, body)
		}
		m := regexp.MustCompile(`<meta name="consentgate-key" content="([0-9a-f]{32})"><script src="/\.consentgate/guard/[0-9a-f]{24}\.js"></script>`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("%s: no key right before the guard:\n%s", c.header, body)
		}
		key := string(m[1])
		if !bytes.Contains(body, []byte(`data-consentgate-load style="`)) || !bytes.Contains(body, []byte(` data-consentgate-key="`+key+`">Load video</button>`)) {
			t.Errorf("%s: the button lacks the response's key %s", c.header, key)
		}
		if keys[key] {
			t.Errorf("key %s served twice", key)
		}
		keys[key] = true
	}
}

// TestPlaceholdersOffAndGuardOff: without the option the tour is removed
// as before; with guard: off the placeholder has its text, no button and
// no key.
func TestPlaceholdersOffAndGuardOff(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	off := startGate(t, "http://"+up.addr, "sites:\n  - name: a\n    hosts: ['*']\n")
	if _, body := get(t, off.url+"/", "Sec-GPC: 1"); bytes.Contains(body, []byte("consentgate-placeholder")) || bytes.Contains(body, []byte("youtube.com/embed")) {
		t.Errorf("without placeholders: a placeholder or the tour is there")
	}
	noGuard := startGate(t, "http://"+up.addr, "sites:\n  - name: a\n    hosts: ['*']\n    guard: 'off'\n    placeholders: true\n    placeholder_text: 'Watch it on {name} <b>'\n")
	_, body := get(t, noGuard.url+"/", "Sec-GPC: 1")
	if !bytes.Contains(body, []byte(`(Global Privacy Control). Watch it on YouTube &lt;b&gt;</span></span>`)) {
		t.Errorf("guard off: no placeholder text:\n%s", body)
	}
	if bytes.Contains(body, []byte("<button")) || bytes.Contains(body, []byte("consentgate-key")) {
		t.Errorf("guard off: a button or a key, which nothing would make work")
	}
}

// TestOptOutConfirmation: the confirmation page says what was recorded,
// links back and to the withdrawal, takes the site's text, mentions GPC
// when the browser sends it, and is the redirect when the site or the
// link asks for one.
func TestOptOutConfirmation(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	g := startGate(t, "http://"+up.addr, "")
	resp, body := get(t, g.url+"/.consentgate/optout?return=/pricing", "Sec-GPC: 1")
	for _, want := range []string{
		"<title>Your opt-out is saved</title>",
		"You have opted out of the sale and sharing of your personal information on 127.0.0.1.",
		"A cookie in this browser, <code>consentgate_optout=1</code>, kept for a year. It applies to this browser only",
		"Your browser also sends the Global Privacy Control signal",
		`<a class="continue" href="/pricing">Continue</a>`,
		`<a href="/.consentgate/optin?return=%2Fpricing">Withdraw your opt-out</a>`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("confirmation lacks %q", want)
		}
	}
	if bytes.Contains(body, []byte("Your account")) {
		t.Error("confirmation names an account where no registry is")
	}
	if resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
		resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("headers: %v", resp.Header)
	}
	if _, body := get(t, g.url+"/.consentgate/optout"); bytes.Contains(body, []byte("Global Privacy Control")) || !bytes.Contains(body, []byte(`href="/">Continue`)) {
		t.Errorf("without Sec-GPC or return: %s", body)
	}

	custom := startGate(t, "http://"+up.addr, "sites:\n  - name: a\n    hosts: ['*']\n    optout_text: 'Saved. <No> sale & no sharing.'\n")
	_, body = get(t, custom.url+"/.consentgate/optout")
	if !bytes.Contains(body, []byte("<p>Saved. &lt;No&gt; sale &amp; no sharing.</p>")) {
		t.Errorf("site text missing or unescaped:\n%s", body)
	}
	redirect := startGate(t, "http://"+up.addr, "sites:\n  - name: a\n    hosts: ['*']\n    optout_confirmation: false\n")
	resp, _ = get(t, redirect.url+"/.consentgate/optout?return=/product")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/product" || !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "consentgate_optout=1;") {
		t.Errorf("optout_confirmation: false: %d %q %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Set-Cookie"))
	}
}

// noticeRE matches the GPC notice at the very end of a page.
var noticeRE = regexp.MustCompile(`<aside class="consentgate-notice" aria-label="Privacy signal" style="position:fixed;[^"]*"><span class="consentgate-notice-text">([^<]*)</span><a class="consentgate-notice-dismiss" href="([^"]*)" aria-label="Dismiss this notice" style="[^"]*">Dismiss</a></aside>$`)

// TestGPCNotice: the notice goes to GPC visitors' navigations on sites
// that ask for it, after the page's last byte; not to another opt-out,
// not to a script's fetch or a frame, not after it was dismissed, not on
// other sites, never without a signal.
func TestGPCNotice(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	g := startGate(t, "http://"+up.addr, string(demo.Config))
	raw, _ := demo.Page("/pricing")
	nav := "Sec-Fetch-Dest: document"
	resp, body := get(t, g.url+"/pricing?plan=team&x=<y>", "Sec-GPC: 1", nav)
	m := noticeRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no notice at the end of a GPC visitor's page:\n%s", body[max(0, len(body)-600):])
	}
	if string(m[1]) != "Opt-out preference signal honored" || string(m[2]) != "/.consentgate/notice?return=%2Fpricing%3Fplan%3Dteam%26x%3D%3Cy%3E" {
		t.Errorf("notice text %q, link %q", m[1], m[2])
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Sec-Fetch-Dest") {
		t.Errorf("Vary %q lacks Sec-Fetch-Dest", resp.Header.Get("Vary"))
	}
	for _, c := range [][]string{
		{"Sec-GPC: 1"},                           // no Sec-Fetch-Dest (an old browser, curl)
		{"Sec-GPC: 1", "Sec-Fetch-Dest: empty"},  // fetch()
		{"Sec-GPC: 1", "Sec-Fetch-Dest: iframe"}, // a frame
		{"Sec-GPC: 1", nav, "Cookie: consentgate_notice=0"},
		{"Cookie: consentgate_optout=1", nav}, // opted out, but not by GPC
	} {
		if _, body := get(t, g.url+"/pricing", c...); bytes.Contains(body, []byte("consentgate-notice")) {
			t.Errorf("%q: a notice", c)
		}
	}
	if _, body := get(t, g.url+"/pricing", nav); !bytes.Equal(body, raw) {
		t.Errorf("a navigation without a signal differs from the upstream's page\n%s", firstDiff(body, raw))
	}
	other := startGate(t, "http://"+up.addr, "sites:\n  - name: a\n    hosts: ['*']\n    gpc_notice_text: 'unused'\n")
	if _, body := get(t, other.url+"/pricing", "Sec-GPC: 1", nav); bytes.Contains(body, []byte("consentgate-notice")) {
		t.Error("a notice on a site without gpc_notice")
	}
	// The link, without JavaScript: a cookie and back.
	resp, _ = get(t, g.url+string(m[2]))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/pricing?plan=team&x=<y>" ||
		!strings.HasPrefix(resp.Header.Get("Set-Cookie"), "consentgate_notice=0; max-age=31536000; path=/") {
		t.Errorf("dismiss: %d %q %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Set-Cookie"))
	}
}

// TestGPCNoticeOnUnchangedGzipPage: a gzip page with nothing to remove and
// no guard is served as the upstream sent it, but not when the notice
// goes after it.
func TestGPCNoticeOnUnchangedGzipPage(t *testing.T) {
	page := []byte("<!doctype html><title>Plain</title><p>Nothing to remove here.</p>\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(page)
	zw.Close()
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Content-Encoding", "gzip")
		ctx.SetBody(gz.Bytes())
	})
	g := startGate(t, "http://"+up.addr, "sites:\n  - name: a\n    hosts: ['*']\n    guard: 'off'\n    gpc_notice: true\n    gpc_notice_text: 'GPC honoured'\n")
	resp, body := get(t, g.url+"/", "Sec-GPC: 1", "Sec-Fetch-Dest: document", "Accept-Encoding: gzip")
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		out.ReadFrom(zr)
		body = out.Bytes()
	}
	if !bytes.HasSuffix(bytes.TrimSuffix(body, noticeRE.Find(body)), []byte("<p>Nothing to remove here.</p>\n")) || !bytes.Contains(body, []byte(">GPC honoured<")) {
		t.Errorf("the notice is missing after an unchanged gzip page:\n%s", body)
	}
	resp, body = get(t, g.url+"/", "Sec-Fetch-Dest: document", "Accept-Encoding: gzip")
	if !bytes.Equal(body, gz.Bytes()) || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Error("without a signal the gzip page is not the upstream's bytes")
	}
}

// firstDiff shows where got and want part.
func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-80)
	return "at byte " + strconv.Itoa(i) + "\n got: " + string(got[lo:min(len(got), i+80)]) + "\nwant: " + string(want[lo:min(len(want), i+80)])
}
