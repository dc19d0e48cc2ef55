package proxy_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/proxy/demo"
	"github.com/consentgate/consentgate/proxy/guard"
	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"
)

// withReceipts makes a gate write receipts to a Log in a temporary
// directory; the returned function closes the Log and reads the records.
func withReceipts(t *testing.T, token string) (func(*proxy.Options), func() []receipt.Record) {
	t.Helper()
	dir := t.TempDir()
	l, err := receipt.Open(receipt.Options{Dir: dir, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	read := func() []receipt.Record {
		t.Helper()
		l.Close()
		files, err := receipt.Files(dir)
		if err != nil {
			t.Fatal(err)
		}
		s, err := receipt.Verify(files)
		if err != nil || !s.OK() {
			t.Fatalf("receipts do not verify: %v %v", err, s.Breaks)
		}
		var out []receipt.Record
		err = receipt.ReadRecords(files, func(l receipt.Line, r *receipt.Record, err error) error {
			if err != nil {
				return err
			}
			if r.Kind == "response" {
				out = append(out, *r)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	return func(o *proxy.Options) { o.Receipts = l; o.CanaryToken = token }, read
}

// bigPage is an HTML page over the proxy's buffering limit, so it streams,
// with trackers throughout.
func bigPage() []byte {
	var b bytes.Buffer
	b.WriteString(`<!doctype html><html><head><script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script></head><body>`)
	for i := 0; b.Len() < 600<<10; i++ {
		fmt.Fprintf(&b, `<p>Paragraph %d of a long article, with enough words to make it a real page.</p>`, i)
		if i%500 == 0 {
			b.WriteString(`<img src="https://www.facebook.com/tr?id=1&ev=PageView" width="1" height="1">`)
		}
	}
	b.WriteString(`</body></html>`)
	return b.Bytes()
}

// siteHandler is the demo site plus /big (streamed, chunked) and /big.gz
// (the same, gzip-encoded, chunked).
func siteHandler(big []byte) fasthttp.RequestHandler {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(big)
	zw.Close()
	return func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/big", "/big.gz":
			body := big
			if string(ctx.Path()) == "/big.gz" {
				body = gz.Bytes()
				ctx.Response.Header.Set("Content-Encoding", "gzip")
			}
			ctx.Response.Header.SetContentType("text/html; charset=utf-8")
			ctx.Response.Header.Add("Set-Cookie", "_ga=GA1.1.1.1; Path=/; Max-Age=600")
			ctx.SetBodyStream(bytes.NewReader(body), -1) // chunked: streamed through the proxy
		default:
			demo.Handler(ctx)
		}
	}
}

func TestReceiptsOfEnforcedResponses(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	opt, read := withReceipts(t, "")
	g := startGate(t, "http://"+up.addr, "", opt)
	get(t, g.url+"/", "Sec-GPC: 1", "Cookie: _ga=GA1.1.1.1; _fbp=fb.1.1.1; nw_session=x")
	get(t, g.url+"/assets/app.js", "Sec-GPC: 1")
	get(t, g.url+"/pricing") // no signal: no receipt
	get(t, g.url+"/.consentgate/status", "Sec-GPC: 1")
	recs := read()
	if len(recs) != 2 {
		t.Fatalf("%d response receipts, want 2 (the opted-out page and asset): %+v", len(recs), recs)
	}
	page, asset := recs[0], recs[1]
	if !page.HTML || page.Status != 200 || !page.OptedOut || strings.Join(page.Sources, ",") != "gpc" || page.Site != "default" ||
		page.Rules != g.set.Version() || page.Shadow {
		t.Errorf("page receipt: %+v", page)
	}
	if asset.HTML || len(asset.Removed) != 0 {
		t.Errorf("asset receipt: html=%v removed=%v, want neither", asset.HTML, asset.Removed)
	}
	// What the receipt says was removed is what the metrics counted.
	got := map[string]int{}
	for _, r := range page.Removed {
		got[r.Vendor+"/"+r.Category+"/"+r.Action] += r.N()
	}
	want := map[string]int{}
	for _, m := range gather(t, g.reg, "consentgate_rewrite_elements_total") {
		want[label(m, "vendor")+"/"+label(m, "category")+"/"+label(m, "action")] += int(m.GetCounter().GetValue())
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) < 4 {
		t.Errorf("removed per vendor\n receipt %v\n metrics %v", got, want)
	}
	cookies := map[string]string{}
	for _, c := range page.Cookies {
		cookies[c.Vendor] = fmt.Sprintf("req %d resp %d exp %d", c.DroppedRequest, c.DroppedResponse, c.Expired)
	}
	if cookies["google-analytics"] != "req 1 resp 2 exp 1" || cookies["meta-pixel"] != "req 1 resp 1 exp 1" {
		t.Errorf("cookies %v: want _ga and _fbp dropped from the request and expired, _ga, _ga_… and _fbp dropped from the response", cookies)
	}
	names := append([]string(nil), page.SetCookies...)
	sort.Strings(names)
	if strings.Join(names, ",") != "_fbp,_ga,_ga_NW4DEMO01,_gcl_au,nw_cart,nw_session" {
		t.Errorf("set_cookies %v: want every name the upstream set", names)
	}
	raw, _ := json.Marshal(recs)
	for _, secret := range []string{"s3ss10n", "GA1.1", "fb.1", "127.0.0.1", "/pricing", "app.js"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("a receipt carries %q: values, addresses and paths must never be recorded", secret)
		}
	}
}

// gather returns the metrics of one family.
func gather(t *testing.T, reg *prometheus.Registry, name string) []*dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.Metric
		}
	}
	return nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestShadowMatchesEnforcing sends the same requests to one site that
// enforces and one in shadow mode, both in front of the same upstream: the
// shadow site must pass the upstream's bytes through unchanged while its
// metrics and receipts say exactly what the enforcing site did.
func TestShadowMatchesEnforcing(t *testing.T) {
	big := bigPage()
	up := startUpstream(t, siteHandler(big))
	opt, read := withReceipts(t, "")
	g := startGate(t, "http://"+up.addr, `sites:
  - name: enforcing
    hosts: [enforcing.test]
  - name: shadow
    hosts: [shadow.test]
    shadow: true
`, opt)
	visitor := []string{"Sec-GPC: 1", "Cookie: _ga=GA1.1.1.1; _fbp=fb.1.1.1; nw_session=x"}
	type req struct {
		path string
		gzip bool
	}
	reqs := []req{{"/", false}, {"/", true}, {"/product", false}, {"/pricing", true}, {"/assets/app.js", false},
		{"/big", false}, {"/big.gz", true}, {"/big", true}}
	for _, r := range reqs {
		hdr := visitor
		if r.gzip {
			hdr = append(hdr[:len(hdr):len(hdr)], "Accept-Encoding: gzip")
		}
		direct, directBody := hostGet(t, "http://"+up.addr+r.path, "shadow.test", hdr...)
		shadow, shadowBody := hostGet(t, g.url+r.path, "shadow.test", hdr...)
		_, enforcedBody := hostGet(t, g.url+r.path, "enforcing.test", hdr...)
		if !bytes.Equal(shadowBody, directBody) {
			t.Errorf("%s (gzip %v): the shadow site changed the body (%d bytes, upstream %d)", r.path, r.gzip, len(shadowBody), len(directBody))
		}
		if a, b := strings.Join(shadow.Header.Values("Set-Cookie"), "\n"), strings.Join(direct.Header.Values("Set-Cookie"), "\n"); a != b {
			t.Errorf("%s: the shadow site changed Set-Cookie:\n%s\nupstream:\n%s", r.path, a, b)
		}
		if shadow.Header.Get("Cache-Control") != direct.Header.Get("Cache-Control") {
			t.Errorf("%s: the shadow site changed Cache-Control", r.path)
		}
		if strings.HasSuffix(r.path, ".js") == bytes.Equal(enforcedBody, directBody) != true {
			t.Errorf("%s: the enforcing site's body %s the upstream's", r.path, map[bool]string{true: "equals", false: "differs from"}[bytes.Equal(enforcedBody, directBody)])
		}
	}
	// Metrics: every family the enforcer counts, per site.
	for _, fam := range []string{"consentgate_rewrite_elements_total", "consentgate_cookies_dropped_total", "consentgate_cookies_expired_total", "consentgate_rewrite_bytes_total"} {
		per := map[string]map[string]float64{}
		for _, m := range gather(t, g.reg, fam) {
			site := label(m, "site")
			var key []string
			for _, l := range m.Label {
				if l.GetName() != "site" {
					key = append(key, l.GetName()+"="+l.GetValue())
				}
			}
			if per[site] == nil {
				per[site] = map[string]float64{}
			}
			per[site][strings.Join(key, ",")] += m.GetCounter().GetValue()
		}
		if len(per["enforcing"]) == 0 || fmt.Sprint(per["enforcing"]) != fmt.Sprint(per["shadow"]) {
			t.Errorf("%s:\n enforcing %v\n shadow    %v", fam, per["enforcing"], per["shadow"])
		}
	}
	// Receipts: the same, but for the site and the shadow flag.
	var enf, shd []string
	for _, r := range read() {
		site, shadow := r.Site, r.Shadow
		r.Site, r.Shadow, r.Seq, r.Prev, r.Time = "", false, 0, "", time.Time{} // requests a moment apart may straddle a second
		b, _ := json.Marshal(r)
		switch {
		case site == "enforcing" && !shadow:
			enf = append(enf, string(b))
		case site == "shadow" && shadow:
			shd = append(shd, string(b))
		default:
			t.Errorf("receipt of site %q with shadow=%v", site, shadow)
		}
	}
	if len(enf) != len(reqs) || strings.Join(enf, "\n") != strings.Join(shd, "\n") {
		t.Errorf("receipts differ (%d enforcing, %d shadow, want %d each):\nenforcing:\n%s\nshadow:\n%s", len(enf), len(shd), len(reqs),
			strings.Join(enf, "\n"), strings.Join(shd, "\n"))
	}
}

// hostGet GETs url with headers ("Name: value") and a Host header ("" for
// the URL's host) through client, and reads the whole body.
func hostGet(t testing.TB, url, host string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp, body
}

func TestDecisionHeaderAndStatus(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	g := startGate(t, "http://"+up.addr, `sites:
  - name: told
    hosts: [told.test]
    decision_header: true
  - name: quiet
    hosts: [quiet.test]
  - name: shadow
    hosts: [shadow.test]
    shadow: true
    decision_header: true
`)
	f := func(host, want string, headers ...string) {
		t.Helper()
		resp, _ := hostGet(t, g.url+"/pricing", host, headers...)
		if got := resp.Header.Get(proxy.DecisionHeader); got != want {
			t.Errorf("%s %v: %s = %q, want %q", host, headers, proxy.DecisionHeader, got, want)
		}
	}
	f("told.test", "opted_out=?1, sources=(gpc), denied=(advertising analytics social), mode=opt-out, shadow=?0", "Sec-GPC: 1")
	f("told.test", "opted_out=?1, sources=(gpc optout_cookie), denied=(advertising analytics social), mode=opt-out, shadow=?0",
		"Sec-GPC: 1", "Cookie: consentgate_optout=1")
	f("told.test", "opted_out=?0, sources=(), denied=(), mode=opt-out, shadow=?0")
	f("quiet.test", "", "Sec-GPC: 1")
	f("shadow.test", "opted_out=?1, sources=(gpc), denied=(advertising analytics social), mode=opt-out, shadow=?1", "Sec-GPC: 1")

	for _, c := range []struct {
		host, enforced string
		shadow         bool
	}{{"told.test", "advertising,analytics,social", false}, {"shadow.test", "", true}} {
		_, body := hostGet(t, g.url+"/.consentgate/status", c.host, "Sec-GPC: 1")
		var st struct {
			OptedOut bool     `json:"opted_out"`
			Site     string   `json:"site"`
			Shadow   bool     `json:"shadow"`
			Enforced []string `json:"enforced"`
			Denied   []string `json:"denied"`
			Rules    string   `json:"rules"`
			Mode     string   `json:"mode"`
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatalf("status: %v\n%s", err, body)
		}
		if !st.OptedOut || st.Shadow != c.shadow || strings.Join(st.Enforced, ",") != c.enforced || len(st.Denied) != 3 ||
			st.Rules != g.set.Version() || st.Mode != "opt-out" || st.Site == "" {
			t.Errorf("status of %s: %+v", c.host, st)
		}
	}
}

func TestCanaryRequestsAreMarked(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	opt, read := withReceipts(t, "t0k3n")
	g := startGate(t, "http://"+up.addr, "", opt)
	get(t, g.url+"/", "Sec-GPC: 1", proxy.CanaryHeader+": t0k3n")
	if h := up.lastHeader(); strings.Contains(strings.ToLower(h), "consentgate-canary") {
		t.Errorf("the canary token reached the upstream:\n%s", h)
	}
	get(t, g.url+"/", "Sec-GPC: 1", proxy.CanaryHeader+": forged")
	recs := read()
	if len(recs) != 2 || !recs[0].Canary || recs[1].Canary {
		t.Errorf("canary flags %v, want the first request only (the second has the wrong token)", []bool{recs[0].Canary, len(recs) > 1 && recs[1].Canary})
	}
}

// TestRecordGuard: the runtime guard's validated reports become guard
// receipts through Options.OnRuntimeBlocked.
func TestRecordGuard(t *testing.T) {
	up := startUpstream(t, demo.Handler)
	dir := t.TempDir()
	l, err := receipt.Open(receipt.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	set := startGate(t, "http://"+up.addr, "").set
	r := signals.NewReader()
	t.Cleanup(r.Close)
	srv, err := proxy.New(proxy.Options{Rules: proxy.StaticRules{Set: set}, Signals: r, Receipts: l})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(t.Context()) }) //nolint:errcheck // its response cache
	var ctx fasthttp.RequestCtx
	ga, fb := set.VendorByID("google-analytics"), set.VendorByID("meta-pixel")
	srv.RecordGuard(&ctx, set.Sites()[0], []guard.Block{{Vendor: ga, Count: 3}, {Vendor: fb, Count: 1}})
	srv.RecordGuard(&ctx, set.Sites()[0], nil)
	l.Close()
	files, _ := receipt.Files(dir)
	var guards []receipt.Record
	receipt.ReadRecords(files, func(_ receipt.Line, r *receipt.Record, _ error) error {
		if r != nil && r.Kind == "guard" {
			guards = append(guards, *r)
		}
		return nil
	})
	if len(guards) != 1 {
		t.Fatalf("%d guard receipts, want 1", len(guards))
	}
	got := map[string]int{}
	for _, g := range guards[0].Guard {
		got[g.Vendor+"/"+g.Category] = g.N
	}
	if fmt.Sprint(got) != "map[google-analytics/analytics:3 meta-pixel/advertising:1]" || guards[0].Site != set.Sites()[0].Name {
		t.Errorf("guard receipt %+v", guards[0])
	}
}
