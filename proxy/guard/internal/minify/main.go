// Command minify writes the served forms of the runtime guard's scripts
// with esbuild: guard.min.js from guard.js, and the signal scripts
// propagate.min.js and mirror.min.js from propagate.js and mirror.js. Run
// it through go generate in package proxy/guard; TestMinifiedIsCurrent and
// TestSignalScriptsMinifiedAreCurrent fail when one is stale.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/consentgate/consentgate/proxy/guard/internal/jsmin"
)

func main() {
	for _, name := range []string{"guard.js", "propagate.js", "mirror.js"} {
		src, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "minify:", err)
			os.Exit(1)
		}
		out, err := jsmin.Minify(src)
		if err != nil {
			fmt.Fprintf(os.Stderr, "minify: %s: %v\n", name, err)
			os.Exit(1)
		}
		if err := os.WriteFile(strings.TrimSuffix(name, ".js")+".min.js", out, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "minify:", err)
			os.Exit(1)
		}
	}
}
