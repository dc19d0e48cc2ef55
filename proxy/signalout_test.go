package proxy_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/signals"
	"github.com/valyala/fasthttp"
)

func siteConfig(lines ...string) string {
	return "sites:\n  - name: www\n    hosts: [\"*\"]\n    region: {country_header: CF-IPCountry}\n    decision_header: true\n" +
		strings.Join(lines, "") + "\n"
}

// cookiesOf returns the Set-Cookie lines of resp by cookie name.
func cookiesOf(resp *http.Response) map[string]string {
	out := map[string]string{}
	for _, l := range resp.Header.Values("Set-Cookie") {
		name, _, _ := strings.Cut(l, "=")
		out[name] = l
	}
	return out
}

// TestPropagationCookiesAndScript: on a site with propagate, a visitor who
// opted out gets the usprivacy, __gpp and __gpp_sid cookies (with GPC in
// the GPP string when Sec-GPC was a source, never weaker than what they
// hold) and a guard that carries the __uspapi and __gpp stubs; nobody else
// gets either.
func TestPropagationCookiesAndScript(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		ctx.SetBodyString(guardedPage)
	})
	g := startGate(t, "http://"+up.addr, siteConfig("    propagate: true\n"))
	site := g.set.Sites()[0]
	rd := signals.NewReader()
	defer rd.Close()
	tests := []struct {
		name    string
		headers []string
		want    map[string]string // cookie name → value; "" none
		prop    guard.Propagation
	}{
		{"gpc", []string{"Sec-GPC: 1"},
			map[string]string{"usprivacy": "1YYN", "__gpp": signals.GPPOptOutGPC, "__gpp_sid": "7"}, guard.PropagateOptOutGPC},
		{"opt-out cookie", []string{"Cookie: consentgate_optout=1"},
			map[string]string{"usprivacy": "1YYN", "__gpp": signals.GPPOptOut, "__gpp_sid": "7"}, guard.PropagateOptOut},
		{"holds a stronger usprivacy", []string{"Sec-GPC: 1", "Cookie: usprivacy=1YYY"},
			map[string]string{"usprivacy": "", "__gpp": signals.GPPOptOutGPC, "__gpp_sid": "7"}, guard.PropagateOptOutGPC},
		{"holds both already", []string{"Sec-GPC: 1", "Cookie: usprivacy=1YYN; __gpp=" + signals.GPPOptOutGPC + "; __gpp_sid=7"},
			map[string]string{"usprivacy": "", "__gpp": "", "__gpp_sid": ""}, guard.PropagateOptOutGPC},
		{"a weaker usprivacy", []string{"Sec-GPC: 1", "Cookie: usprivacy=1NNY"},
			map[string]string{"usprivacy": "1YYY", "__gpp": signals.GPPOptOutGPC, "__gpp_sid": "7"}, guard.PropagateOptOutGPC},
		// Enforced but no "do not sell" signal: a consent tool's denial,
		// an opt-in region before consent. Nothing to propagate.
		{"a denial only", []string{"Cookie: cmplz_marketing=deny"}, map[string]string{"usprivacy": "", "__gpp": "", "__gpp_sid": ""}, guard.PropagateNone},
		{"opt-in region", []string{"CF-IPCountry: DE"}, map[string]string{"usprivacy": "", "__gpp": "", "__gpp_sid": ""}, guard.PropagateNone},
	}
	for _, tt := range tests {
		resp, body := fetchAt(t, "GET", g.url+"/", "www.example.com", tt.headers...)
		got := cookiesOf(resp)
		for name, want := range tt.want {
			line, ok := got[name]
			if want == "" {
				if ok {
					t.Errorf("%s: %s written: %q", tt.name, name, line)
				}
				continue
			}
			if !strings.HasPrefix(line, name+"="+want+";") || !strings.Contains(line, "domain=example.com") ||
				!strings.Contains(line, "path=/") || strings.Contains(strings.ToLower(line), "max-age") || strings.Contains(strings.ToLower(line), "expires") {
				t.Errorf("%s: %s line %q, want value %q, domain example.com, path /, session", tt.name, name, line, want)
			}
		}
		m := guardTag.FindSubmatch(body)
		if m == nil {
			t.Fatalf("%s: no guard tag:\n%s", tt.name, body)
		}
		var h fasthttp.RequestHeader
		for _, l := range tt.headers {
			k, v, _ := strings.Cut(l, ":")
			h.Add(k, strings.TrimSpace(v))
		}
		want := guard.CompileFor(g.set, site, rd.Read(signals.PolicyOf(site), &h).Denied, tt.prop)
		if string(m[1]) != want.Path {
			t.Errorf("%s: guard %s, want %s (propagation %d)", tt.name, m[1], want.Path, tt.prop)
		}
		_, js := get(t, g.url+string(m[1]), tt.headers...)
		if has := bytes.Contains(js, []byte(`__uspapi`)) && bytes.Contains(js, []byte(`gppVersion:`)); has != (tt.prop != guard.PropagateNone) {
			t.Errorf("%s: guard carries the stubs: %v", tt.name, has)
		}
		if tt.prop != guard.PropagateNone {
			gpp := signals.GPPOptOut
			if tt.prop.GPC() {
				gpp = signals.GPPOptOutGPC
			}
			if !bytes.Contains(js, []byte(`"gpp":"`+gpp+`"`)) {
				t.Errorf("%s: guard does not carry %s", tt.name, gpp)
			}
		}
	}
	// Without a signal: the upstream's bytes and headers, no cookie.
	direct, dbody := get(t, "http://"+up.addr+"/")
	resp, body := get(t, g.url+"/")
	if !bytes.Equal(body, dbody) || len(resp.Header.Values("Set-Cookie")) != len(direct.Header.Values("Set-Cookie")) {
		t.Errorf("a visitor without a signal got a changed page or cookies: %q", resp.Header.Values("Set-Cookie"))
	}
}

// TestPropagationWithoutGuard: with guard: off the stubs come inline, in
// a head script with the stub, under the page's CSP.
func TestPropagationWithoutGuard(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		ctx.Response.Header.Set("Content-Security-Policy", "script-src 'self' 'nonce-abc'")
		ctx.SetBodyString(guardedPage)
	})
	g := startGate(t, "http://"+up.addr, siteConfig("    propagate: true\n    guard: off\n"))
	resp, body := get(t, g.url+"/", "Sec-GPC: 1")
	m := guardInline.FindSubmatch(body)
	if m == nil || !bytes.Contains(m[1], []byte("__uspapi")) || bytes.Contains(m[1], []byte("sendBeacon")) {
		t.Fatalf("no inline head script with the stubs:\n%s", body)
	}
	if bytes.Count(body, []byte("<script>")) != 1 {
		t.Errorf("more than one inserted script:\n%s", body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, scriptHash(string(m[1]))) {
		t.Errorf("CSP %q does not allow the head script", csp)
	}
	if len(cookiesOf(resp)) < 3 {
		t.Errorf("cookies: %q", resp.Header.Values("Set-Cookie"))
	}
}

// TestOptInExpiresPropagation: withdrawing the opt-out expires the values
// the proxy wrote, not a consent tool's.
func TestOptInExpiresPropagation(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {})
	g := startGate(t, "http://"+up.addr, siteConfig("    propagate: true\n"))
	req, _ := http.NewRequest("POST", g.url+"/.consentgate/optin", nil)
	req.Host = "www.example.com"
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Cookie", "consentgate_optout=1; usprivacy=1YYN; __gpp="+signals.GPPOptOut+"; __gpp_sid=2,7")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	for _, want := range []string{"usprivacy=; Path=/; Domain=example.com; Max-Age=0", "__gpp=; Path=/; Domain=example.com; Max-Age=0"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "__gpp_sid=") {
		t.Errorf("a __gpp_sid the proxy did not write is expired:\n%s", got)
	}
}

// mirrorPage is an HTML page long enough to be worth compressing.
var mirrorPage = "<!DOCTYPE html><html><head><title>News</title></head><body>" + strings.Repeat("<p>Story</p>", 200) + "</body></html>"

// TestMirrorTail: on a site with the mirror, a visitor who is not enforced
// gets the page as the upstream sent it and the mirror after it, in the
// same encoding, under the page's CSP; nothing else of a page that is no
// document request, XHTML, brotli or not 200; and a site without the
// mirror stays byte-identical.
func TestMirrorTail(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(mirrorPage))                         //nolint:errcheck
	zw.Close()                                           //nolint:errcheck
	big := strings.Repeat("<p>A long story.</p>", 20000) // streamed, not read whole
	rnd := rand.New(rand.NewPCG(3, 4))
	var text strings.Builder
	for text.Len() < 1<<20 {
		fmt.Fprintf(&text, "<p>%x</p>\n", rnd.Uint64())
	}
	var bigGz bytes.Buffer // over bufferBelow compressed: streamed
	zw = gzip.NewWriter(&bigGz)
	zw.Write([]byte(text.String())) //nolint:errcheck
	zw.Close()                      //nolint:errcheck
	var lastAE string
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		lastAE = string(ctx.Request.Header.Peek("Accept-Encoding"))
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("ETag", `"v1"`)
		ctx.Response.Header.Set("Content-Security-Policy", "script-src 'self'")
		switch string(ctx.Path()) {
		case "/gzip":
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			ctx.SetBody(gz.Bytes())
		case "/fake.gz":
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			ctx.SetBodyString(mirrorPage)
		case "/br":
			ctx.Response.Header.Set("Content-Encoding", "br")
			ctx.SetBody([]byte{0x0b, 0x02, 0x80, 0x61, 0x03}) // "a"
		case "/xhtml":
			ctx.Response.Header.SetContentType("application/xhtml+xml")
			ctx.SetBodyString(mirrorPage)
		case "/missing":
			ctx.SetStatusCode(404)
			ctx.SetBodyString(mirrorPage)
		case "/big":
			ctx.SetBodyStream(strings.NewReader(big), -1)
		case "/big.gz":
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			ctx.SetBody(bigGz.Bytes())
		default:
			ctx.SetBodyString(mirrorPage)
		}
	})
	g := startGate(t, "http://"+up.addr, siteConfig("    mirror: true\n"))
	m := guard.CompileMirror(g.set.Sites()[0])
	resp, body := get(t, g.url+"/", "Sec-Fetch-Dest: document", "Accept-Encoding: gzip, br")
	if string(body) != mirrorPage+string(m.Inline) {
		t.Fatalf("plain page: %d bytes, want the page and the mirror (%d)", len(body), len(mirrorPage)+len(m.Inline))
	}
	if lastAE != "gzip" {
		t.Errorf("a document request asked the upstream for %q, want gzip", lastAE)
	}
	if resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) || resp.Header.Get("ETag") != `W/"v1"` ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), m.Hash) || !strings.Contains(resp.Header.Get("Vary"), "Sec-Fetch-Dest") {
		t.Errorf("headers %v", resp.Header)
	}
	resp, body = get(t, g.url+"/gzip", "Accept-Encoding: gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Fatalf("gzip page: %v", resp.Header)
	}
	if d := decodeBody(t, "gzip", body); d != mirrorPage+string(m.Inline) {
		t.Errorf("gzip page decodes to %d bytes, want the page and the mirror", len(d))
	}
	// An upstream that sends gzip to a visitor who takes none (a
	// precompressed file): the page decoded, with the mirror.
	resp, body = get(t, g.url+"/gzip", "Accept-Encoding: identity")
	if resp.Header.Get("Content-Encoding") != "" || string(body) != mirrorPage+string(m.Inline) {
		t.Errorf("gzip page to a visitor without gzip: Content-Encoding %q, %d bytes, want the page and the mirror (%d) decoded",
			resp.Header.Get("Content-Encoding"), len(body), len(mirrorPage)+len(m.Inline))
	}
	if hresp, _ := fetchAt(t, "HEAD", g.url+"/gzip", "", "Accept-Encoding: identity"); hresp.Header.Get("Content-Encoding") != "" {
		t.Errorf("HEAD of a gzip page to a visitor without gzip: Content-Encoding %q", hresp.Header.Get("Content-Encoding"))
	}
	// Labelled gzip and not: every byte as it came, no mirror.
	if _, body = get(t, g.url+"/fake.gz", "Accept-Encoding: gzip"); string(body) != mirrorPage {
		t.Errorf("a page labelled gzip that is not: %d bytes, want the upstream's %d as they came", len(body), len(mirrorPage))
	}
	if _, body = get(t, g.url+"/big"); string(body) != big+string(m.Inline) {
		t.Errorf("streamed page: %d bytes, want %d", len(body), len(big)+len(m.Inline))
	}
	resp, body = get(t, g.url+"/big.gz", "Accept-Encoding: gzip")
	if d := decodeBody(t, "gzip", body); d != text.String()+string(m.Inline) || len(resp.TransferEncoding) == 0 {
		t.Errorf("streamed gzip page decodes to %d bytes, want %d, chunked", len(d), text.Len()+len(m.Inline))
	}
	resp, _ = get(t, g.url+"/", "Sec-Fetch-Dest: document")
	hresp, _ := fetchAt(t, "HEAD", g.url+"/", "", "Sec-Fetch-Dest: document")
	if hresp.Header.Get("Content-Length") != resp.Header.Get("Content-Length") {
		t.Errorf("HEAD Content-Length %q, GET %q", hresp.Header.Get("Content-Length"), resp.Header.Get("Content-Length"))
	}
	for _, tt := range []struct {
		path    string
		headers []string
	}{
		{"/", []string{"Sec-Fetch-Dest: empty"}},
		{"/xhtml", nil},
		{"/missing", nil},
		{"/br", []string{"Sec-Fetch-Dest: empty", "Accept-Encoding: br"}},
	} {
		direct, dbody := get(t, "http://"+up.addr+tt.path, tt.headers...)
		resp, body := get(t, g.url+tt.path, tt.headers...)
		if !bytes.Equal(body, dbody) || resp.Header.Get("ETag") != direct.Header.Get("ETag") {
			t.Errorf("%s %v: changed (%d bytes, upstream %d)", tt.path, tt.headers, len(body), len(dbody))
		}
	}
	// A site without the mirror: the upstream's bytes, whatever the request.
	g2 := startGate(t, "http://"+up.addr, siteConfig())
	for _, p := range []string{"/", "/gzip"} {
		_, dbody := get(t, "http://"+up.addr+p, "Accept-Encoding: gzip")
		if _, body := get(t, g2.url+p, "Accept-Encoding: gzip", "Sec-Fetch-Dest: document"); !bytes.Equal(body, dbody) {
			t.Errorf("%s through a site without the mirror differs", p)
		}
	}
}

// TestMirrorCookieEnforced: the mirror's cookie is a source of its own on
// a site with the mirror, and nothing on one without.
func TestMirrorCookieEnforced(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		ctx.SetBodyString(guardedPage)
	})
	g := startGate(t, "http://"+up.addr, siteConfig("    mirror: true\n"))
	resp, body := get(t, g.url+"/", "Cookie: consentgate_mirror=1.1.-.t")
	if d := resp.Header.Get("Consentgate-Decision"); !strings.Contains(d, "opted_out=?1") || !strings.Contains(d, "sources=(mirror)") {
		t.Errorf("decision %q", d)
	}
	if m := guardTag.FindSubmatch(body); m == nil {
		t.Errorf("not enforced:\n%s", body)
	} else if _, js := get(t, g.url+string(m[1])); !bytes.Contains(js, []byte("__consentgateMirror")) {
		t.Errorf("the guard of a mirror site does not carry the mirror")
	}
	if bytes.Contains(body, []byte("__consentgateMirror")) {
		t.Errorf("an enforced page got the mirror appended too")
	}
	g2 := startGate(t, "http://"+up.addr, siteConfig())
	resp, _ = get(t, g2.url+"/", "Cookie: consentgate_mirror=1.1.-.t")
	if d := resp.Header.Get("Consentgate-Decision"); !strings.Contains(d, "opted_out=?0") {
		t.Errorf("a site without the mirror read its cookie: %q", d)
	}
}

// fetchAt is get with a method and, when not "", a Host.
func fetchAt(t testing.TB, method, url, host string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestMirrorTruncatedUpstream: a page cut short upstream reaches the
// visitor of a mirror site cut short, plain or gzip, small or streamed,
// and without the mirror: a tail would make a cut page look whole.
func TestMirrorTruncatedUpstream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rnd := rand.New(rand.NewPCG(1, 2))
	var text strings.Builder
	for text.Len() < 1<<20 { // incompressible enough that the gzip body streams
		fmt.Fprintf(&text, "<p>%x</p>\n", rnd.Uint64())
	}
	big, small := text.String(), strings.Repeat("<p>hello world</p>\n", 50)
	gz := func(s string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s)) //nolint:errcheck
		zw.Close()          //nolint:errcheck
		return b.String()
	}
	pages := map[string]string{"/big": big, "/small": small, "/big.gz": gz(big), "/small.gz": gz(small)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				page := pages[req.URL.Path]
				enc := ""
				if strings.HasSuffix(req.URL.Path, ".gz") {
					enc = "Content-Encoding: gzip\r\n"
				}
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n%sContent-Length: %d\r\n\r\n%s", enc, len(page), page[:len(page)/2])
			}(c)
		}
	}()
	g := startGate(t, "http://"+ln.Addr().String(), siteConfig("    mirror: true\n"))
	for _, path := range []string{"/big", "/small", "/big.gz", "/small.gz"} {
		req, _ := http.NewRequest("GET", g.url+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == 200 {
			t.Errorf("%s: the client read a complete response from a truncated upstream", path)
		}
		if bytes.Contains(body, []byte("__consentgateMirror")) {
			t.Errorf("%s: the mirror follows a cut page", path)
		}
	}
}

// BenchmarkMirrorPage is what the consent mirror costs on a page of a
// visitor who has not opted out: a real news page (foxnews.com, 21 KB
// gzipped, 113 KB plain) through a site without the mirror and with it,
// identity and gzip. B/page is the body the visitor gets.
//
//	go test ./proxy -run '^$' -bench MirrorPage -count 6
//
// Wall times on a shared machine vary widely; compare CPU with
// -benchtime 20000x -cpuprofile (docs/signals.md has the numbers).
func BenchmarkMirrorPage(b *testing.B) {
	raw, err := os.ReadFile("../../shared/data/pages/foxnews.com-eb62ac84.html.gz")
	if err != nil {
		b.Skip("no saved pages under ../../shared/data/pages")
	}
	plain := []byte(decodeBody(b, "gzip", raw))
	up := startUpstream(b, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		if string(ctx.Path()) == "/gz" && strings.Contains(string(ctx.Request.Header.Peek("Accept-Encoding")), "gzip") {
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			ctx.SetBody(raw)
			return
		}
		ctx.SetBody(plain)
	})
	for _, page := range []string{"/plain", "/gz"} {
		for _, mirror := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/mirror=%v", strings.TrimPrefix(page, "/"), mirror), func(b *testing.B) {
				g := startGate(b, "http://"+up.addr, fmt.Sprintf(`sites: [{name: s, hosts: ["*"], mirror: %v}]`, mirror))
				benchPage(b, g, page, "Accept-Encoding", "gzip", "Sec-Fetch-Dest", "document")
			})
		}
	}
}
