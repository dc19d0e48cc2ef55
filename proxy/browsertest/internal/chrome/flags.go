package chrome

import (
	"io"
	"path/filepath"

	"github.com/chromedp/chromedp"
)

// Flags are the allocator options every browser check starts Chromium
// with: exe, headless without sandbox or GPU, a profile under dir, no
// QUIC, no background traffic of its own (sync, component updates, default
// apps, extensions, metrics), a 1280×900 window and its combined output to
// out. Callers add the host-resolver rules that send every other host to
// their Sink, and the features they disable.
func Flags(exe, dir string, out io.Writer) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(out),
	}
}
