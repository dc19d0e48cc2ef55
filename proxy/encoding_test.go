package proxy_test

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/proxy"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
)

const trackedPage = `<!DOCTYPE html><html><head><script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></head><body><h1>Compressed</h1><img src="https://px.ads.linkedin.com/collect?pid=1"></body></html>`

func encode(t testing.TB, enc string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "br":
		w = brotli.NewWriter(&buf)
	case "zstd":
		w, _ = zstd.NewWriter(&buf)
	case "deflate": // HTTP's deflate: zlib-wrapped
		w = zlib.NewWriter(&buf)
	case "raw-deflate":
		w, _ = flate.NewWriter(&buf, 5)
	default:
		return b
	}
	w.Write(b) //nolint:errcheck
	w.Close()
	return buf.Bytes()
}

func decodeBody(t testing.TB, enc string, b []byte) string {
	t.Helper()
	if enc == "" {
		return string(b)
	}
	if enc != "gzip" {
		t.Fatalf("unexpected Content-Encoding %q to the client", enc)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip body from the proxy: %v", err)
	}
	return string(out)
}

// TestCompressedHTML: every encoding the upstream may use is decoded,
// rewritten and (gzip, for a client that takes it) re-encoded; a body in an
// unknown encoding is served under a third-party-blocking CSP.
func TestCompressedHTML(t *testing.T) {
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		enc := strings.TrimPrefix(string(ctx.Path()), "/")
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		if enc != "identity" {
			ctx.Response.Header.Set("Content-Encoding", strings.TrimPrefix(enc, "raw-"))
		}
		ctx.SetBody(encode(t, enc, []byte(trackedPage)))
	})
	g := startGate(t, "http://"+up.addr, "")
	for _, enc := range []string{"identity", "gzip", "br", "zstd", "deflate", "raw-deflate"} {
		for _, ae := range []string{"gzip", "identity"} {
			resp, body := get(t, g.url+"/"+enc, "Sec-GPC: 1", "Accept-Encoding: "+ae)
			got := decodeBody(t, resp.Header.Get("Content-Encoding"), body)
			if strings.Contains(got, "googletagmanager") || strings.Contains(got, "px.ads.linkedin.com") || !strings.Contains(got, "<h1>Compressed</h1>") {
				t.Errorf("%s body, client accepts %s: not rewritten: %q", enc, ae, got)
			}
			if ae == "identity" && resp.Header.Get("Content-Encoding") != "" {
				t.Errorf("%s body to a client without gzip came %s-encoded", enc, resp.Header.Get("Content-Encoding"))
			}
		}
	}
	// An encoding the proxy cannot read: fail closed with a CSP.
	resp, body := get(t, g.url+"/x-custom", "Sec-GPC: 1")
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || string(body) != trackedPage {
		t.Errorf("unknown encoding: CSP %q, body changed %v", csp, string(body) != trackedPage)
	}
	// A visitor without a signal gets the upstream's bytes whatever the encoding.
	resp, body = get(t, g.url+"/gzip", "Accept-Encoding: gzip")
	if !bytes.Equal(body, encode(t, "gzip", []byte(trackedPage))) || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("pass-through of a gzip body changed it")
	}
}

// TestDecompressionBomb: a small gzip body that inflates past the cap is
// refused (a 502: small bodies are read whole before anything is sent) or
// cut visibly when streamed, and counted, at flat memory.
func TestDecompressionBomb(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write([]byte("<html><body>"))           //nolint:errcheck
	zw.Write(bytes.Repeat([]byte{' '}, 8<<20)) //nolint:errcheck
	zw.Close()
	bomb := buf.Bytes()
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		ctx.Response.Header.Set("Content-Encoding", "gzip")
		ctx.SetBody(bomb)
	})
	g := startGate(t, "http://"+up.addr, "", func(o *proxy.Options) { o.MaxDecodedBody = 1 << 20 })
	req, _ := http.NewRequest("GET", g.url+"/", nil)
	req.Header.Set("Sec-GPC", "1")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode == 200 {
		t.Errorf("a %d-byte body inflating to 8 MiB was served whole past a 1 MiB cap", len(bomb))
	}
}

// TestStubAllowedByCSP: the stub's hash is added to a page's script-src so
// it may run; a policy with plain 'unsafe-inline' is left as it is.
func TestStubAllowedByCSP(t *testing.T) {
	csps := map[string]string{
		"/strict": "default-src 'self'; script-src 'self' 'nonce-abc'",
		"/inline": "script-src 'self' 'unsafe-inline'",
		"/none":   "",
	}
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		if c := csps[string(ctx.Path())]; c != "" {
			ctx.Response.Header.Set("Content-Security-Policy", c)
		}
		ctx.SetBodyString(`<html><head><script src="https://connect.facebook.net/en_US/fbevents.js"></script></head><body><script>fbq('track','X')</script></body></html>`)
	})
	g := startGate(t, "http://"+up.addr, "")
	resp, body := get(t, g.url+"/strict", "Sec-GPC: 1")
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.HasPrefix(csp, "default-src 'self'; script-src 'self' 'nonce-abc' 'sha256-") {
		t.Errorf("strict CSP not extended with the stub hash: %q", csp)
	}
	if !strings.Contains(string(body), "fbq") || strings.Contains(string(body), "connect.facebook.net") {
		t.Errorf("stub missing or tracker kept: %s", body)
	}
	resp, _ = get(t, g.url+"/inline", "Sec-GPC: 1")
	if csp := resp.Header.Get("Content-Security-Policy"); csp != csps["/inline"] {
		t.Errorf("'unsafe-inline' policy changed to %q", csp)
	}
	resp, _ = get(t, g.url+"/none", "Sec-GPC: 1")
	if csp := resp.Header.Get("Content-Security-Policy"); csp != "" {
		t.Errorf("CSP added where the page had none: %q", csp)
	}
}

// TestPlainBodyIsNotCapped: the decoded-size cap is for compressed bodies;
// a plain page larger than it streams through whole.
func TestPlainBodyIsNotCapped(t *testing.T) {
	page := "<html><body>" + strings.Repeat("<p>paragraph of a long page</p>\n", 100000) + "</body></html>"
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		ctx.SetBodyStream(strings.NewReader(page), -1)
	})
	g := startGate(t, "http://"+up.addr, "", func(o *proxy.Options) { o.MaxDecodedBody = 1 << 20 })
	_, body := get(t, g.url+"/", "Sec-GPC: 1")
	if len(body) < len(page) || !strings.HasSuffix(string(body), page[len(page)/2:]) {
		t.Errorf("a %d-byte plain page arrived with %d bytes under a 1 MiB decode cap", len(page), len(body))
	}
}

// TestGzipPageWithNothingToRemove: a small gzip page without trackers is
// served as the upstream's own bytes to an opted-out visitor when the site
// serves no runtime guard: no re-encoding; one with trackers is rewritten
// and re-encoded. With the guard (the default) the clean page carries it.
func TestGzipPageWithNothingToRemove(t *testing.T) {
	clean := []byte(`<!DOCTYPE html><html><head><title>x</title></head><body><p>no trackers here</p></body></html>`)
	pages := map[string][]byte{"/clean": encode(t, "gzip", clean), "/tracked": encode(t, "gzip", []byte(trackedPage))}
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		ctx.Response.Header.Set("Content-Encoding", "gzip")
		ctx.SetBody(pages[string(ctx.Path())])
	})
	guarded := startGate(t, "http://"+up.addr, "")
	resp, body := get(t, guarded.url+"/clean", "Sec-GPC: 1", "Accept-Encoding: gzip")
	if got := decodeBody(t, resp.Header.Get("Content-Encoding"), body); !strings.Contains(got, `<script src="/.consentgate/guard/`) {
		t.Errorf("clean gzip page without the guard: %q", got)
	}
	g := startGate(t, "http://"+up.addr, "sites: [{name: s, hosts: [\"*\"], guard: \"off\"}]")
	resp, body = get(t, g.url+"/clean", "Sec-GPC: 1", "Accept-Encoding: gzip")
	if !bytes.Equal(body, pages["/clean"]) || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("clean gzip page was re-encoded or changed (%d bytes, upstream %d)", len(body), len(pages["/clean"]))
	}
	resp, body = get(t, g.url+"/tracked", "Sec-GPC: 1", "Accept-Encoding: gzip")
	if got := decodeBody(t, resp.Header.Get("Content-Encoding"), body); strings.Contains(got, "googletagmanager") || !strings.Contains(got, "<h1>Compressed</h1>") {
		t.Errorf("tracked gzip page not rewritten: %q", got)
	}
}

// negotiating answers like an origin that compresses: in the coding the
// request offers first among zstd, br, gzip and deflate (the server's
// preference, as nginx and CDNs choose), else plain.
func negotiating(t testing.TB, contentType string, body []byte) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType(contentType)
		ae := strings.ToLower(string(ctx.Request.Header.Peek("Accept-Encoding")))
		for _, enc := range []string{"zstd", "br", "gzip", "deflate"} {
			for _, f := range strings.Split(ae, ",") {
				name, q, _ := strings.Cut(strings.TrimSpace(f), ";")
				_, qv, _ := strings.Cut(q, "=")
				if v, err := strconv.ParseFloat(strings.TrimSpace(qv), 64); strings.TrimSpace(name) == enc && (qv == "" || err == nil && v > 0) {
					ctx.Response.Header.Set("Content-Encoding", enc)
					ctx.SetBody(encode(t, enc, body))
					return
				}
			}
		}
		ctx.SetBody(body)
	}
}

// decodeAny decodes a body in any coding the proxy may send.
func decodeAny(t testing.TB, enc string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch enc {
	case "":
		return b
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(b))
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	case "zstd":
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(b))
		if err == nil {
			defer d.Close()
			r = d
		}
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(b))
	default:
		t.Fatalf("Content-Encoding %q", enc)
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s body: %v", enc, err)
	}
	return out
}

// TestResponseCodingFollowsTheClient: whatever the visitor (opted out or
// not), a response comes in a coding its Accept-Encoding takes. An
// opted-out request used to go upstream with "gzip, br, zstd, deflate"
// whatever the visitor sent, and a script, relayed unchanged, reached a
// visitor who takes gzip alone as zstd (Safari takes no zstd).
func TestResponseCodingFollowsTheClient(t *testing.T) {
	script := []byte("console.log('the site\\'s own script');\n" + strings.Repeat("/* padding */\n", 200))
	page := []byte(trackedPage)
	mux := map[string]fasthttp.RequestHandler{
		"/app.js":    negotiating(t, "text/javascript", script),
		"/page.html": negotiating(t, "text/html; charset=utf-8", page),
	}
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) { mux[string(ctx.Path())](ctx) })
	g := startGate(t, "http://"+up.addr, "")
	for _, c := range []struct {
		ae    string
		takes []string // codings the client takes besides identity
	}{
		{"gzip", []string{"gzip"}},
		{"gzip, deflate", []string{"gzip", "deflate"}},
		{"br;q=1.0, gzip;q=0.8", []string{"br", "gzip"}},
		{"gzip, zstd;q=0, br;q=0.000", []string{"gzip"}},
		{"identity", nil},
		{"", nil},
		{"*", []string{"gzip", "br", "zstd", "deflate"}},
		{"*, zstd;q=0", []string{"gzip", "br", "deflate"}},
		{"gzip, deflate, br, zstd", []string{"gzip", "br", "zstd", "deflate"}},
	} {
		for _, path := range []string{"/app.js", "/page.html"} {
			for _, signal := range []string{"Sec-GPC: 1", "Sec-GPC: 0"} {
				headers := []string{signal}
				if c.ae != "" {
					headers = append(headers, "Accept-Encoding: "+c.ae)
				}
				resp, body := get(t, g.url+path, headers...)
				enc := resp.Header.Get("Content-Encoding")
				if enc != "" && !slices.Contains(c.takes, enc) {
					t.Errorf("%s, %s, Accept-Encoding %q: the response came %s-encoded", path, signal, c.ae, enc)
					continue
				}
				got := decodeAny(t, enc, body)
				if path == "/app.js" && !bytes.Equal(got, script) {
					t.Errorf("%s, %s, Accept-Encoding %q: script changed", path, signal, c.ae)
				}
				if path == "/page.html" && !bytes.Contains(got, []byte("<h1>Compressed</h1>")) {
					t.Errorf("%s, %s, Accept-Encoding %q: page lost: %q", path, signal, c.ae, got)
				}
			}
		}
	}
}

// TestUndecodableBodyPassesUnderTheCSP: a body that says gzip and is not
// reaches an opted-out visitor as it came, under the third-party-blocking
// CSP, and is counted: small (read whole first) or streamed, broken in its
// header or right after it. A small one used to get a 502: the bytes read
// to decode it were lost to the relay. A streamed body that breaks after
// it decoded into the page is cut visibly, its raw rest never sent.
func TestUndecodableBodyPassesUnderTheCSP(t *testing.T) {
	page := encode(t, "gzip", []byte(trackedPage))
	badData := append([]byte(nil), page...)
	for i := 10; i < len(badData)-8; i++ {
		badData[i] = 0xff // a valid header, then no valid deflate stream
	}
	long := bytes.Repeat([]byte("<p>a page longer than a body read whole</p>\n"), 20000)
	late := encode(t, "gzip", long)
	late = append(late[:len(late)/2:len(late)/2], bytes.Repeat([]byte{0xff}, 4096)...)
	bodies := map[string][]byte{
		"/header":      []byte("<html><body>not gzip at all</body></html>"),
		"/data":        badData,
		"/big-header":  long,
		"/short-magic": {0x1f},
		"/late":        late,
	}
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		path, chunked := strings.CutSuffix(string(ctx.Path()), "/chunked")
		ctx.Response.Header.SetContentType("text/html")
		ctx.Response.Header.Set("Content-Encoding", "gzip")
		if chunked {
			ctx.SetBodyStream(bytes.NewReader(bodies[path]), -1)
			return
		}
		ctx.SetBody(bodies[path])
	})
	g := startGate(t, "http://"+up.addr, "")
	for path, want := range bodies {
		for _, suffix := range []string{"", "/chunked"} {
			resp, body, err := getPartial(g.url+path+suffix, "Sec-GPC: 1", "Accept-Encoding: gzip")
			if err != nil && resp == nil {
				t.Fatalf("%s%s: %v", path, suffix, err)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if path == "/late" && suffix != "" {
				// Streamed and decoded into the page before it broke: sent
				// rewritten, then cut.
				if err == nil || bytes.Contains(body, late[len(late)-4096:]) {
					t.Errorf("%s%s: a body that broke after decoding ended whole (%v) or carried raw bytes", path, suffix, err)
				}
				continue
			}
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, want) || !strings.Contains(csp, "default-src 'self'") ||
				resp.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("%s%s: status %d, %d of %d bytes as sent (%v), CSP %q, Content-Encoding %q", path, suffix, resp.StatusCode,
					len(body), len(want), err, csp, resp.Header.Get("Content-Encoding"))
			}
		}
	}
	if n := testutil.ToFloat64(g.metrics.FailClosed.WithLabelValues("default", "undecodable")); n != 9 {
		t.Errorf("consentgate_fail_closed_total{reason=\"undecodable\"} = %v, want 9", n)
	}
}

// getPartial is get for a response that may break off: the error of reading the
// body is returned with what came.
func getPartial(url string, headers ...string) (*http.Response, []byte, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// TestPageWithNothingRemoved: an opted-out page the rewriter removes
// nothing from, on a site without the runtime guard, reaches the visitor
// as the upstream sent it, without the stub (nothing was removed for it to
// stand in for), in a coding the visitor takes: a gzip page to a visitor
// who does not take gzip, from an upstream that sends gzip whatever it is
// asked (a precompressed file), decoded. Before, the plain page got the
// stub (1.7 KB for the default catalogue) and the gzip page reached such a
// visitor gzip-encoded. A page that loses something keeps the stub, and
// on a site with the guard the guard goes into every opted-out page: it
// refuses what page code loads, which no start tag shows.
func TestPageWithNothingRemoved(t *testing.T) {
	clean := []byte(`<!DOCTYPE html><html><head><title>x</title></head><body><script>var site = 1;</script><p>no trackers here</p></body></html>`)
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("text/html")
		path, chunked := strings.CutSuffix(string(ctx.Path()), "/chunked")
		page := clean
		if strings.HasPrefix(path, "/tracked") {
			page = []byte(trackedPage)
		}
		if strings.HasSuffix(path, ".gz") {
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			page = encode(t, "gzip", page)
		}
		if chunked {
			ctx.SetBodyStream(bytes.NewReader(page), -1)
			return
		}
		ctx.SetBody(page)
	})
	off := startGate(t, "http://"+up.addr, `sites: [{name: s, hosts: ["*"], guard: "off"}]`)
	guarded := startGate(t, "http://"+up.addr, "")
	for _, c := range []struct {
		g          *gate
		path, ae   string
		wantEnc    string
		wantBody   []byte // exactly, when not nil
		wantInBody string // else contained in the decoded body
	}{
		{off, "/clean", "gzip", "", clean, ""},
		{off, "/clean", "", "", clean, ""},
		{off, "/clean.gz", "gzip", "gzip", encode(t, "gzip", clean), ""},
		{off, "/clean.gz", "identity", "", clean, ""},
		{off, "/clean.gz", "", "", clean, ""},
		{off, "/clean.gz", "br, zstd", "", clean, ""},
		{off, "/clean.gz/chunked", "identity", "", nil, "no trackers here"},
		{off, "/tracked", "gzip", "", nil, "<script>"},
		{off, "/tracked.gz", "identity", "", nil, "<script>"},
		{guarded, "/clean", "gzip", "", nil, `<script src="/.consentgate/guard/`},
		{guarded, "/clean.gz", "", "", nil, `<script src="/.consentgate/guard/`},
	} {
		name := c.path + " Accept-Encoding " + strconv.Quote(c.ae)
		if c.g == guarded {
			name += " (guard)"
		}
		headers := []string{"Sec-GPC: 1"}
		if c.ae != "" {
			headers = append(headers, "Accept-Encoding: "+c.ae)
		}
		resp, body := get(t, c.g.url+c.path, headers...)
		if enc := resp.Header.Get("Content-Encoding"); resp.StatusCode != 200 || enc != c.wantEnc {
			t.Errorf("%s: status %d, Content-Encoding %q, want %q", name, resp.StatusCode, enc, c.wantEnc)
			continue
		}
		if c.wantBody != nil {
			if !bytes.Equal(body, c.wantBody) {
				t.Errorf("%s: got %q, want the upstream's page as it is", name, body)
			}
			continue
		}
		if got := decodeBody(t, c.wantEnc, body); !strings.Contains(got, c.wantInBody) || strings.Contains(got, "googletagmanager") {
			t.Errorf("%s: got %q, want it to hold %q", name, got, c.wantInBody)
		}
	}
}
