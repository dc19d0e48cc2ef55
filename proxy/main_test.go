package proxy_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/consentgate/consentgate/rules"
	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: a body
// stream never closed, an upstream connection never released, a signals
// reader or registry never closed. The rules package's two process-wide
// lookup caches are closed first (rules.CloseCaches), so their workers are
// not excused; fasthttp's idle-connection and address cleaners, its date
// updater and a stopped worker pool's last sleep end on their own schedule
// after the servers are gone, so they are.
func TestMain(m *testing.M) {
	code := m.Run()
	rules.CloseCaches()
	if code == 0 {
		if err := goleak.Find(
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
			// toxiproxy's own links between its two sides: a link whose toxic
			// swallowed the data (timeout) outlives Proxy.Stop. They hold no
			// connection of consentgate's: those close with the test servers.
			goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).read"),
			goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run"),
		); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
