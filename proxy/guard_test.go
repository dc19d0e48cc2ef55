package proxy_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/rules"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
)

// guardedPage has a first-party bundle that could inject trackers at run
// time: the guard goes before it.
const guardedPage = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>News</title>` +
	`<script src="/bundle.js"></script></head><body><h1>News</h1></body></html>`

var (
	guardTag    = regexp.MustCompile(`<script src="(/\.consentgate/guard/[0-9a-f]{24}\.js)"></script>`)
	guardInline = regexp.MustCompile(`(?s)<script>(\(function\(.*?)</script>`)
)

func scriptHash(js string) string {
	sum := sha256.Sum256([]byte(js))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// TestGuardInsertedAndServed: an opted-out page gets the guard tag before
// its first script; the script behind it is immutable, the same bytes
// guard.Compile gives, gzip-encoded on request.
func TestGuardInsertedAndServed(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		ctx.SetBodyString(guardedPage)
	})
	g := startGate(t, "http://"+up.addr, "")
	_, body := get(t, g.url+"/", "Sec-GPC: 1")
	m := guardTag.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no guard tag in the opted-out page:\n%s", body)
	}
	if i, j := bytes.Index(body, m[0]), bytes.Index(body, []byte(`<script src="/bundle.js">`)); i < 0 || i > j || i < bytes.Index(body, []byte("<title>")) {
		t.Errorf("guard tag not right before the first script:\n%s", body)
	}
	want := guard.Compile(g.set, g.set.Sites()[0], rules.DefaultDeny)
	if string(m[1]) != want.Path {
		t.Errorf("tag names %s, want %s", m[1], want.Path)
	}
	resp, js := get(t, g.url+string(m[1]), "Sec-GPC: 1")
	if resp.StatusCode != 200 || !bytes.Equal(js, want.JS) {
		t.Fatalf("GET %s: %d, %d bytes, want the %d bytes of the compiled guard", m[1], resp.StatusCode, len(js), len(want.JS))
	}
	for k, v := range map[string]string{
		"Cache-Control":          "public, max-age=31536000, immutable",
		"Content-Type":           "text/javascript; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	// The script does not depend on the signal: a cached copy serves the
	// next page whatever the visitor sends.
	resp, gz := get(t, g.url+string(m[1]), "Accept-Encoding: gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %v", resp.Header)
	}
	if d := decodeBody(t, "gzip", gz); d != string(want.JS) {
		t.Errorf("gzip body decodes to %d bytes, want %d", len(d), len(want.JS))
	}
	// A fingerprint this rule set does not give: the current guard of the
	// visitor's denial, uncached; nothing for a visitor who denies nothing.
	stale := "/.consentgate/guard/0123456789abcdef01234567.js"
	resp, _ = get(t, g.url+stale, "Sec-GPC: 1")
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want.Path || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("stale guard with Sec-GPC: %d Location %q Cache-Control %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Cache-Control"))
	}
	if resp, _ = get(t, g.url+stale); resp.StatusCode != 404 {
		t.Errorf("stale guard without a signal: %d, want 404", resp.StatusCode)
	}
	if resp, _ = get(t, g.url+"/.consentgate/guard/x.css"); resp.StatusCode != 404 {
		t.Errorf("a name that is no script: %d, want 404", resp.StatusCode)
	}
	if up.requests() != 1 {
		t.Errorf("the upstream saw %d requests; the guard's paths are the proxy's own", up.requests())
	}
}

// TestGuardAndCSP: an external guard becomes inline under a policy that
// governs scripts, and every such policy line allows its hash, in the
// directive that governs script elements; a policy with plain
// 'unsafe-inline' runs it as it is and stays unchanged.
func TestGuardAndCSP(t *testing.T) {
	csps := map[string][]string{
		"/two":     {"default-src 'self'", "script-src 'self' 'nonce-abc'"},
		"/elem":    {"script-src-elem 'self' 'nonce-abc'; script-src 'self' 'nonce-abc'"},
		"/inline":  {"script-src 'self' 'unsafe-inline'"},
		"/styles":  {"style-src 'self'"},
		"/reports": {"img-src 'self'", "script-src 'self'"},
	}
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		for _, c := range csps[string(ctx.Path())] {
			ctx.Response.Header.Add("Content-Security-Policy", c)
		}
		ctx.SetBodyString(guardedPage)
	})
	g := startGate(t, "http://"+up.addr, "")
	js := string(guard.Compile(g.set, g.set.Sites()[0], rules.DefaultDeny).JS)
	hash := scriptHash(js)
	f := func(path string, want []string, inline bool) {
		t.Helper()
		resp, body := get(t, g.url+path, "Sec-GPC: 1")
		if got := resp.Header.Values("Content-Security-Policy"); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: CSP\n%s\nwant\n%s", path, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		m := guardInline.FindSubmatch(body)
		if inline && (m == nil || string(m[1]) != js) {
			t.Errorf("%s: the guard is not inline", path)
		}
		if !inline && (m != nil || !guardTag.Match(body)) {
			t.Errorf("%s: the guard is not external", path)
		}
	}
	f("/two", []string{"default-src 'self' " + hash, "script-src 'self' 'nonce-abc' " + hash}, true)
	f("/elem", []string{"script-src-elem 'self' 'nonce-abc' " + hash + "; script-src 'self' 'nonce-abc'"}, true)
	f("/inline", csps["/inline"], true)
	f("/styles", csps["/styles"], false)
	f("/reports", []string{"img-src 'self'", "script-src 'self' " + hash}, true)

	inline := startGate(t, "http://"+up.addr, `sites: [{name: s, hosts: ["*"], guard: inline}]`)
	_, body := get(t, inline.url+"/styles", "Sec-GPC: 1")
	if m := guardInline.FindSubmatch(body); m == nil || string(m[1]) != js {
		t.Errorf("guard: inline did not inline the guard:\n%s", body)
	}
}

// TestGuardOnlyForOptedOut: without a signal every response is the
// upstream's, byte for byte, whatever the guard mode; with guard: off an
// opted-out page that loses a tracker gets the stub, not the guard, and
// one that loses nothing gets neither (TestPageWithNothingRemoved).
func TestGuardOnlyForOptedOut(t *testing.T) {
	plain := []byte(guardedPage)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(plain) //nolint:errcheck
	zw.Close()      //nolint:errcheck
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Content-Security-Policy", "script-src 'self' 'nonce-abc'")
		switch string(ctx.Path()) {
		case "/gz":
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			ctx.SetBody(zipped.Bytes())
		case "/tracked":
			ctx.SetBodyString(strings.Replace(guardedPage, "</body>", `<img src="https://px.ads.linkedin.com/collect?pid=1"></body>`, 1))
		default:
			ctx.SetBody(plain)
		}
	})
	for _, mode := range []string{"external", "inline", "off"} {
		g := startGate(t, "http://"+up.addr, `sites: [{name: s, hosts: ["*"], guard: `+mode+`}]`)
		for path, want := range map[string][]byte{"/": plain, "/gz": zipped.Bytes()} {
			resp, body := get(t, g.url+path, "Accept-Encoding: gzip")
			if !bytes.Equal(body, want) || resp.Header.Get("Content-Security-Policy") != "script-src 'self' 'nonce-abc'" {
				t.Errorf("guard %s, %s without a signal: the response differs from the upstream's", mode, path)
			}
		}
		_, body := get(t, g.url+"/", "Sec-GPC: 1")
		hasGuard := bytes.Contains(body, []byte("__consentgate"))
		if hasGuard != (mode != "off") {
			t.Errorf("guard %s: guard in the opted-out page = %v", mode, hasGuard)
		}
		if mode == "off" && !bytes.Equal(body, plain) {
			t.Errorf("guard off: the opted-out page that lost nothing changed:\n%s", body)
		}
		_, body = get(t, g.url+"/tracked", "Sec-GPC: 1")
		if mode == "off" && !bytes.Contains(body, []byte("<script>(function(w){")) {
			t.Errorf("guard off: no stub in the opted-out page that lost a tracker:\n%s", body)
		}
	}
}

// TestGuardReport: the guard's counts arrive in
// consentgate_runtime_blocked_total by site, category and vendor and reach
// the hook; what is not a report of denied vendors is refused or ignored.
func TestGuardReport(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("upstream") })
	var (
		mu     sync.Mutex
		hooked []string
	)
	g := startGate(t, "http://"+up.addr, "", func(o *proxy.Options) {
		o.OnRuntimeBlocked = func(_ *fasthttp.RequestCtx, site *rules.Site, bs []guard.Block) {
			mu.Lock()
			defer mu.Unlock()
			for _, b := range bs {
				hooked = append(hooked, site.Name+":"+b.Vendor.ID)
			}
		}
	})
	post := func(body string) int {
		t.Helper()
		resp, err := client.Post(g.url+"/.consentgate/guard", "text/plain;charset=UTF-8", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
		return resp.StatusCode
	}
	for body, want := range map[string]int{
		"google-analytics=2&meta-pixel=1":      204,
		"google-analytics=1&no-such=3":         204,
		"not a report":                         400,
		strings.Repeat("x", guard.MaxReport+1): 413,
	} {
		if got := post(body); got != want {
			t.Errorf("POST %.40q: %d, want %d", body, got, want)
		}
	}
	if resp, _ := get(t, g.url+"/.consentgate/guard"); resp.StatusCode != 405 {
		t.Errorf("GET of the endpoint: %d, want 405", resp.StatusCode)
	}
	blocked := g.metrics.RuntimeBlocked
	if n := testutil.ToFloat64(blocked.WithLabelValues("default", "analytics", "google-analytics")); n != 3 {
		t.Errorf("google-analytics counted %v, want 3", n)
	}
	if n := testutil.ToFloat64(blocked.WithLabelValues("default", "advertising", "meta-pixel")); n != 1 {
		t.Errorf("meta-pixel counted %v, want 1", n)
	}
	if n := testutil.CollectAndCount(blocked); n != 2 {
		t.Errorf("%d series of consentgate_runtime_blocked_total, want 2 (no label from an unknown id)", n)
	}
	for r, want := range map[string]float64{"ok": 1, "ignored_entries": 1, "malformed": 1, "too_large": 1} {
		if n := testutil.ToFloat64(g.metrics.RuntimeReports.WithLabelValues("default", r)); n != want {
			t.Errorf("reports %s: %v, want %v", r, n, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(hooked)
	if strings.Join(hooked, " ") != "default:google-analytics default:google-analytics default:meta-pixel" {
		t.Errorf("hook saw %q", hooked)
	}
	if up.requests() != 0 {
		t.Errorf("reports reached the upstream %d times", up.requests())
	}
}
