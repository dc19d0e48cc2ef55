package main

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/consentgate/consentgate/proxy/demo"
	"github.com/valyala/fasthttp"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stdout, stderr)
	var f serveFlags
	f.register(fs.FlagSet, "127.0.0.1:8080", "127.0.0.1:9090")
	site := fs.String("site", "127.0.0.1:0", "address of the demo site itself (the upstream)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.applyEnv(fs.FlagSet); err != nil {
		return err
	}
	if err := f.checkServe(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *site)
	if err != nil {
		return fmt.Errorf("cannot start the demo site on %s: %w", *site, err)
	}
	up := &fasthttp.Server{Handler: demo.Handler, Name: "northwind-demo"}
	go up.Serve(ln) //nolint:errcheck
	defer func() {
		up.Shutdown() //nolint:errcheck
		ln.Close()    // Shutdown returns at once if Serve has not taken ln yet
	}()
	if f.upstream == "" {
		f.upstream = "http://" + ln.Addr().String()
	}
	// The demo's own policy: placeholders for removed embeds, the GPC
	// notice (proxy/demo/consentgate.yaml), unless a config is given.
	f.builtinConfig = demo.Config
	if !f.explicit["log-level"] {
		f.logLevel = "warn" // keep the terminal for the instructions
	}
	return serve(ctx, f, stderr, serveHooks{ready: func(public, admin string) {
		p, a := "http://"+hostPort(public), "http://"+hostPort(admin)
		fmt.Fprintf(stdout, `consentgate demo is running.

  Demo site through consentgate:  %[1]s/
  Admin (metrics, health):        %[2]s/metrics
  Demo site without the proxy:    http://%[3]s/

See the difference a Global Privacy Control signal makes:
  curl -s %[1]s/ | grep -o 'https://[a-z.]*\(googletagmanager\|facebook\|licdn\|hotjar\)[a-z.]*' | sort | uniq -c
  curl -s -H 'Sec-GPC: 1' %[1]s/ | grep -o 'https://[a-z.]*\(googletagmanager\|facebook\|licdn\|hotjar\)[a-z.]*' | sort | uniq -c
  curl -s -H 'Sec-GPC: 1' %[1]s/ | grep -o '<span class="consentgate-placeholder-text">[^<]*'
    (the YouTube tour: a placeholder, its iframe inert in a <template> until "Load video")
  curl -s -D - -o /dev/null -H 'Sec-GPC: 1' -H 'Cookie: _ga=GA1.1.1; nw_cart=2' %[1]s/pricing
  curl -s -H 'Sec-GPC: 1' %[1]s/.consentgate/status
  curl -s %[2]s/metrics | grep '^consentgate_'

In a browser, open %[1]s/ and click "Do Not Sell or Share My Personal Information"
in the footer: a page confirms the opt-out, and the same pages come back without
their trackers; the YouTube tour shows what it would share, and loads on a click.
Press Ctrl-C to stop.
`, p, a, ln.Addr().String())
	}})
}
