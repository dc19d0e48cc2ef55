// Command minify writes guard.min.js from guard.js with esbuild: the form
// of the runtime guard the proxy serves. Run it through go generate in
// package proxy/guard; TestMinifiedIsCurrent fails when guard.min.js is
// stale.
package main

import (
	"fmt"
	"os"

	"github.com/consentgate/consentgate/proxy/guard/internal/jsmin"
)

func main() {
	src, err := os.ReadFile("guard.js")
	if err != nil {
		fmt.Fprintln(os.Stderr, "minify:", err)
		os.Exit(1)
	}
	out, err := jsmin.Minify(src)
	if err != nil {
		fmt.Fprintln(os.Stderr, "minify: guard.js:", err)
		os.Exit(1)
	}
	if err := os.WriteFile("guard.min.js", out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "minify:", err)
		os.Exit(1)
	}
}
