// Command consentgate is an edge proxy that enforces visitors' privacy
// opt-outs (Global Privacy Control, "Do Not Sell or Share" cookies, IAB
// consent strings) on a website it sits in front of. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal starts a graceful shutdown; a second one ends
		// the process at once, with the status a death by that signal
		// gives (130 for SIGINT, 143 for SIGTERM). Both are read from one
		// buffered channel, so a second signal that comes before the
		// shutdown has begun still counts.
		<-sigs
		cancel()
		s := <-sigs
		code := 128 + 15
		if s == os.Interrupt {
			code = 128 + 2
		}
		os.Exit(code)
	}()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	signal.Stop(sigs)
	cancel()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitError carries an exit status without a message (the command printed
// what it had to say).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		if ue.msg != "" {
			fmt.Fprintln(stderr, "consentgate:", ue.msg)
		}
		return 2
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "consentgate:", err)
	return 1
}

const usage = `consentgate enforces visitors' privacy opt-outs in front of a website.

Usage:
  consentgate demo    [--listen ADDR] [--admin ADDR]
  consentgate serve   --listen ADDR --upstream URL --admin ADDR [--config FILE] [--receipts DIR]
  consentgate explain [--config FILE] [-H 'Name: value']... [--url URL]
  consentgate rules match [--config FILE] URL_OR_HOST...
  consentgate rules list [--config FILE] [--json]
  consentgate rewrite [--config FILE] --deny CATEGORY[,CATEGORY] [--url URL] [--guard] < page.html
  consentgate explain-page URL|FILE [--config FILE] [--deny CATEGORY,...] [--url URL] [--guard] [--json]
  consentgate check   --config FILE [--upstream URL]
  consentgate audit verify FILE_OR_DIR...
  consentgate audit report --from DAY --to DAY [--site NAME] [--format md|json|html] FILE_OR_DIR...
  consentgate audit policy [--config FILE] [--declared CSV] [--site NAME] [--receipts DIR] [FILE...]
  consentgate version (or --version)

Run "consentgate COMMAND -h" for the flags of a command.
`

// run is the whole program; main only maps its error to an exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "explain":
		return cmdExplain(rest, stdout, stderr)
	case "rules":
		return cmdRules(rest, stdout, stderr)
	case "rewrite":
		return cmdRewrite(rest, stdin, stdout, stderr)
	case "explain-page":
		return cmdExplainPage(ctx, rest, stdout, stderr)
	case "check":
		return cmdCheck(rest, stdout, stderr)
	case "audit":
		return cmdAudit(rest, stdout, stderr)
	case "version", "-version", "--version":
		return cmdVersion(stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return &usageError{fmt.Sprintf("unknown command or flag %q", cmd)}
}
