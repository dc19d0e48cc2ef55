package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/consentgate/consentgate/proxy/receipt"
)

// chromium finds the browser, or ends the test: a skip on a developer's
// machine, a failure in CI.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped in -short mode")
	}
	path := "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if path, err = exec.LookPath("chromium"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("chromium not installed: apt-get install chromium")
			}
			t.Skip("chromium not installed: apt-get install chromium")
		}
	}
	return path
}

// TestHTMLReportInChromium renders the report of a simulated week in
// headless Chromium: the page must load with no console message, no
// exception, no request but its own file and no failed load, and show its
// charts. It keeps a screenshot (docs/audit-report.png with -update).
func TestHTMLReportInChromium(t *testing.T) {
	exe := chromium(t)
	set := testSet(t)
	dir := t.TempDir()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	simulate(t, dir, set, start, 7)
	files, err := receipt.Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := BuildReport(files, ReportOptions{From: start, To: start.AddDate(0, 0, 6), Site: "www"})
	if err != nil {
		t.Fatal(err)
	}
	rep.Generated = time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC)
	for i := range rep.Files {
		rep.Files[i] = filepath.Base(rep.Files[i])
	}
	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	file := filepath.Join(out, "report.html")
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(filepath.Join(out, "profile")),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1100, 900),
	)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	var (
		mu       sync.Mutex
		problems []string
		requests []string
	)
	note := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	chromedp.ListenTarget(bctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			note("console.%s", e.Type)
		case *runtime.EventExceptionThrown:
			note("exception: %s", e.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			note("log %s: %s", e.Entry.Level, e.Entry.Text)
		case *network.EventLoadingFailed:
			note("failed load: %s", e.ErrorText)
		case *network.EventRequestWillBeSent:
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	})
	url := "file://" + file
	var charts, rows int
	var title string
	var shot []byte
	err = chromedp.Run(bctx,
		network.Enable(), runtime.Enable(), log.Enable(),
		chromedp.Navigate(url),
		chromedp.WaitReady("body", chromedp.ByQuery),
		chromedp.Title(&title),
		chromedp.Evaluate(`document.querySelectorAll("svg rect").length`, &charts),
		chromedp.Evaluate(`document.querySelectorAll("table tr").length`, &rows),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatal(err)
	}
	closeCtx, closeCancel := context.WithTimeout(bctx, 5*time.Second)
	defer closeCancel()
	if err := chromedp.Cancel(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("closing the browser: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("the report page: %s", p)
	}
	for _, r := range requests {
		if r != url {
			t.Errorf("the report page requested %s: it must need nothing but itself", r)
		}
	}
	if !strings.Contains(title, "2026-03-02 to 2026-03-08") || charts < 3*3 || rows < 6 {
		t.Errorf("rendered page: title %q, %d chart bars, %d table rows", title, charts, rows)
	}
	if len(shot) < 1000 || !bytes.HasPrefix(shot, []byte("\x89PNG")) {
		t.Fatalf("screenshot: %d bytes, not a PNG", len(shot))
	}
	keep := filepath.Join(out, "audit-report.png")
	if *update {
		keep = filepath.Join("..", "docs", "audit-report.png")
	}
	if err := os.WriteFile(keep, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the report: %s (%d bytes)", keep, len(shot))
}
