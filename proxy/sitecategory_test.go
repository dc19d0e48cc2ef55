package proxy_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestSiteVendorCategories: a site that declares X's conversion tracking
// necessary (as the seed cookie policy does) keeps its tag, snippet and
// cookies for an opted-out visitor, while the same page on a site that
// declares nothing loses them; a vendor the site declares advertising is
// handled with advertising's action and labelled so.
func TestSiteVendorCategories(t *testing.T) {
	const page = `<!doctype html><html><head>
<script src="https://static.ads-twitter.com/uwt.js"></script>
<script>twq('config','o1234');</script>
<script src="https://connect.facebook.net/en_US/fbevents.js"></script>
<script src="https://cdn.pendo.io/agent/static/abc/pendo.js"></script>
</head><body><p>Hello</p></body></html>`
	up := startUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Add("Set-Cookie", "personalization_id=v1; Path=/")
		ctx.Response.Header.Add("Set-Cookie", "_fbp=fb.1; Path=/")
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		ctx.SetBodyString(page)
	})
	declared := startGate(t, "http://"+up.addr, `
sites:
  - name: www
    hosts: ["*"]
    vendor_categories: {x-ads: necessary, pendo: advertising}
    actions: {advertising: neutralise}
`)
	plain := startGate(t, "http://"+up.addr, "")
	for _, c := range []struct {
		g          *gate
		keepX      bool
		pendoAttrs string
	}{
		{declared, true, `<script type="text/plain" data-consent-category="advertising" data-src="https://cdn.pendo.io/`},
		{plain, false, ""},
	} {
		req, _ := http.NewRequest("GET", c.g.url+"/", nil)
		req.Header.Set("Sec-GPC", "1")
		req.Header.Set("Cookie", "personalization_id=v0; _fbp=fb.0; session=s")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			body.WriteString(string(buf[:n]))
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		b := body.String()
		upCookie := up.lastHeader()
		setCookies := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
		for _, x := range []struct {
			what string
			got  bool
		}{
			{"uwt.js tag", strings.Contains(b, `<script src="https://static.ads-twitter.com/uwt.js"></script>`)},
			{"twq snippet", strings.Contains(b, `<script>twq('config','o1234');</script>`)},
			{"personalization_id sent upstream", strings.Contains(upCookie, "personalization_id=v0")},
			{"personalization_id set", strings.Contains(setCookies, "personalization_id=v1")},
		} {
			if x.got != c.keepX {
				t.Errorf("%s: %s kept = %v, want %v\nbody: %s\nupstream: %s\nset-cookie: %s", c.g.url, x.what, x.got, c.keepX, b, upCookie, setCookies)
			}
		}
		if strings.Contains(b, " src=\"https://connect.facebook.net") || strings.Contains(upCookie, "_fbp=fb.0") || strings.Contains(setCookies, "_fbp=fb.1") {
			t.Errorf("%s: meta-pixel not enforced:\n%s\n%s\n%s", c.g.url, b, upCookie, setCookies)
		}
		if c.pendoAttrs != "" && !strings.Contains(b, c.pendoAttrs) {
			t.Errorf("%s: pendo not neutralised as advertising (%s):\n%s", c.g.url, c.pendoAttrs, b)
		}
		if c.pendoAttrs == "" && strings.Contains(b, "pendo.io") {
			t.Errorf("%s: pendo not removed:\n%s", c.g.url, b)
		}
	}
}
