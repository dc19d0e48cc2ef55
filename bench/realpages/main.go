// Command realpages prints how consentgate does on real saved news pages in
// a real browser: each page is served through consentgate and loaded in
// headless Chromium without a signal and with Sec-GPC: 1, and the table
// shows, per page, the requests to trackers (by the catalogue and by
// EasyPrivacy/EasyList), the exceptions and console errors the opted-out
// load has that the unsignalled one does not, and the rendered text ratio.
// See package proxy/browsertest/realpages and docs/browser-measure.md.
//
//	go run ./bench/realpages                  # the table, 97 pages
//	go run ./bench/realpages -v -page bbc     # every leaking request of the bbc pages
//	go run ./bench/realpages -md > table.md   # for docs
//	go run ./bench/realpages -json > run.json # everything recorded
//	go run ./bench/realpages -from run.json -md  # the table of a saved run
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/consentgate/consentgate/proxy/browsertest/realpages"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "realpages:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("realpages", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("pages", "", "directory of *.html.gz pages (default: $CONSENTGATE_PAGES, else ../shared/data/pages from the repository root)")
	parallel := fs.Int("p", 2, "browsers loading pages at once")
	filter := fs.String("page", "", "measure only the pages whose name contains this")
	asJSON := fs.Bool("json", false, "print everything recorded as JSON")
	asMD := fs.Bool("md", false, "print the table as Markdown (for docs)")
	verbose := fs.Bool("v", false, "also list, per page, every tracker request with Sec-GPC: 1 and every new exception and console error")
	lists := fs.String("lists", strings.Join(realpages.DefaultLists, ","), "the tracker list files (Adblock Plus syntax), comma-separated")
	chromium := fs.String("chromium", "", "the Chromium executable (default: $CHROMIUM, /usr/bin/chromium, or chromium on PATH)")
	timeout := fs.Duration("timeout", 15*time.Minute, "give up after this long")
	from := fs.String("from", "", "print a report saved with -json instead of measuring")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *asJSON && *asMD {
		return errors.New("-json and -md exclude each other")
	}
	if *from != "" {
		rep, err := readReport(*from)
		if err != nil {
			return err
		}
		return write(rep, stdout, *asJSON, *asMD, *verbose)
	}
	if *dir == "" {
		d, err := realpages.DefaultPagesDir()
		if err != nil {
			return err
		}
		*dir = d
	}
	pages, err := realpages.ReadPages(*dir)
	if err != nil {
		return err
	}
	if *filter != "" {
		var sel []*realpages.Page
		for _, p := range pages {
			if strings.Contains(p.Name, *filter) {
				sel = append(sel, p)
			}
		}
		if len(sel) == 0 {
			return fmt.Errorf("no page in %s matches %q", *dir, *filter)
		}
		pages = sel
	}
	exe := *chromium
	if exe == "" {
		if exe, err = realpages.FindChromium(); err != nil {
			return err
		}
	}
	list, err := realpages.ReadLists(strings.Split(*lists, ",")...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	done := 0
	rep, err := realpages.Measure(ctx, realpages.Options{
		Pages:    pages,
		Chromium: exe,
		List:     list,
		Parallel: *parallel,
		Progress: func(r *realpages.Result) {
			done++
			fmt.Fprintf(stderr, "\r%d/%d pages", done, len(pages))
		},
	})
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	return write(rep, stdout, *asJSON, *asMD, *verbose)
}

func write(rep *realpages.Report, w io.Writer, asJSON, asMD, verbose bool) error {
	switch {
	case asJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case asMD:
		return rep.WriteMarkdown(w)
	}
	return rep.WriteText(w, verbose)
}

func readReport(file string) (*realpages.Report, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var rep realpages.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("reading the report %s: %w", file, err)
	}
	return &rep, nil
}
