package guard

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"

	"github.com/consentgate/consentgate/rules"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/dgraph-io/ristretto/v2.(*Cache[...]).processItems"),
		goleak.IgnoreAnyFunction("github.com/dgraph-io/ristretto/v2.(*defaultPolicy[...]).processItems"),
	)
}

// chromium returns the browser's path, or ends the test: a skip on a
// developer's machine, a failure in CI.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped in -short mode")
	}
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not installed: apt-get install chromium")
	}
	t.Skip("chromium not installed: apt-get install chromium")
	return ""
}

// TestClassifierMatchesClassifyInChromium runs the served guard's own
// classifier in Chromium over every host of the table, subdomains,
// look-alikes, public suffixes, first-party hosts and imported entries
// more specific than catalogue ones, for several denials, and compares
// each answer with rules.Set.Classify. The browser's URL parser reads each
// host, as it reads the URLs the guard checks.
func TestClassifierMatchesClassifyInChromium(t *testing.T) {
	exe := chromium(t)
	set, news := testPolicy(t)
	type policy struct {
		site *rules.Site
		deny rules.Categories
	}
	policies := []policy{{news, rules.DefaultDeny}, {news, rules.AllButNecessary}, {news, rules.Of(rules.Advertising)}, {nil, rules.DefaultDeny}}
	pages := map[string][]byte{}
	for i, p := range policies {
		pages["/"+string(rune('a'+i))] = append(append([]byte("<!doctype html><title>t</title>"), Compile(set, p.site, p.deny).Inline...), "<p>x</p>"...)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.SetBody(pages[string(ctx.Path())])
	}}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }() //nolint:errcheck
	defer func() { srv.Shutdown(); <-done }()        //nolint:errcheck

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	defer chromedp.Cancel(bctx) //nolint:errcheck

	for i, p := range policies {
		hosts := hostsToCheck(set, p.site)
		arg, _ := json.Marshal(hosts)
		var got []string
		err := chromedp.Run(bctx,
			chromedp.Navigate("http://"+ln.Addr().String()+"/"+string(rune('a'+i))),
			chromedp.Evaluate(`(function(hs){return hs.map(function(h){return __consentgate.vendor("https://"+h+"/x")})})(`+string(arg)+`)`, &got))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(hosts) {
			t.Fatalf("%d answers for %d hosts", len(got), len(hosts))
		}
		var bad []string
		blocked := 0
		for j, h := range hosts {
			want := ""
			if v := set.Classify(p.site, []byte(h)); v != nil && p.deny.Has(p.site.Category(v)) {
				want = v.ID
				blocked++
			}
			if got[j] != want {
				bad = append(bad, h+": guard "+got[j]+", Classify "+want)
			}
		}
		if len(bad) > 0 {
			t.Errorf("policy %d (deny %v): %d of %d hosts differ:\n  %s", i, p.deny, len(bad), len(hosts), strings.Join(bad, "\n  "))
		}
		if blocked == 0 || blocked == len(hosts) {
			t.Errorf("policy %d: %d of %d hosts blocked: vacuous", i, blocked, len(hosts))
		}
		t.Logf("policy %d (site %s, deny %v): %d hosts, %d denied, the guard agrees with Classify on all", i, siteName(p.site), p.deny, len(hosts), blocked)
	}
}
