package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/proxy/receipt/audit"
	"github.com/consentgate/consentgate/rules"
)

func cmdAudit(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{"audit needs a subcommand: verify, report or policy"}
	}
	switch args[0] {
	case "verify":
		return cmdAuditVerify(args[1:], stdout, stderr)
	case "report":
		return cmdAuditReport(args[1:], stdout, stderr)
	case "policy":
		return cmdAuditPolicy(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return &usageError{fmt.Sprintf("unknown audit subcommand %q: want verify, report or policy", args[0])}
}

// receiptFiles expands the arguments: a directory stands for its receipt
// files in chain order, a file for itself.
func receiptFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("cannot read receipts: %w", err)
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		files, err := receipt.Files(a)
		if err != nil {
			return nil, fmt.Errorf("cannot list receipts: %w", err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s holds no receipts-*.jsonl files", a)
		}
		out = append(out, files...)
	}
	return out, nil
}

func cmdAuditVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit verify", stdout, stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return &usageError{"audit verify needs receipt files (in chain order, e.g. DIR/receipts-*.jsonl) or a directory"}
	}
	files, err := receiptFiles(fs.Args())
	if err != nil {
		return err
	}
	s, err := receipt.Verify(files)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(stdout, s, true); err != nil {
			return err
		}
	} else {
		for _, b := range s.Breaks {
			fmt.Fprintln(stdout, b)
		}
		for _, w := range s.Warnings {
			if w.File == "" {
				fmt.Fprintf(stdout, "warning: %s: %s\n", w.What, w.Detail)
			} else {
				fmt.Fprintf(stdout, "warning: %s\n", w)
			}
		}
		state := "intact"
		if !s.OK() {
			state = fmt.Sprintf("BROKEN at %d places", len(s.Breaks))
		}
		start := "from the first record"
		if !s.Genesis {
			start = "starting mid-chain (earlier files not given)"
		}
		fmt.Fprintf(stdout, "%d records in %d files, seq %d to %d, %s; head %s; chain %s\n",
			s.Records, s.Files, s.FirstSeq, s.LastSeq, start, s.Head, state)
	}
	if !s.OK() {
		return &exitError{1}
	}
	return nil
}

// parseDay reads a --from or --to day.
func parseDay(flag, v string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, &usageError{fmt.Sprintf("--%s %q: want a day such as 2026-03-01", flag, v)}
	}
	return t, nil
}

func cmdAuditReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit report", stdout, stderr)
	from := fs.String("from", "", "first day (UTC) of the report, e.g. 2026-03-01 (required)")
	to := fs.String("to", "", "last day (UTC) of the report, included (required)")
	site := fs.String("site", "", "report only this site (its name in the config)")
	format := fs.String("format", "md", "output: md, json or html (one self-contained page)")
	out := fs.String("o", "", "write to this file instead of stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return &usageError{"audit report needs --from and --to"}
	}
	if fs.NArg() == 0 {
		return &usageError{"audit report needs receipt files (in chain order) or a directory"}
	}
	f, err := parseDay("from", *from)
	if err != nil {
		return err
	}
	t, err := parseDay("to", *to)
	if err != nil {
		return err
	}
	if *format != "md" && *format != "json" && *format != "html" {
		return &usageError{fmt.Sprintf("--format %q: want md, json or html", *format)}
	}
	files, err := receiptFiles(fs.Args())
	if err != nil {
		return err
	}
	rep, err := audit.BuildReport(files, audit.ReportOptions{From: f, To: t, Site: *site})
	if err != nil {
		return err
	}
	w := stdout
	if *out != "" {
		file, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("cannot write the report: %w", err)
		}
		defer file.Close()
		w = file
	}
	switch *format {
	case "json":
		err = rep.WriteJSON(w)
	case "html":
		err = rep.WriteHTML(w)
	default:
		err = rep.WriteMarkdown(w)
	}
	if err != nil {
		return fmt.Errorf("cannot write the report: %w", err)
	}
	if *out != "" {
		fmt.Fprintf(stderr, "consentgate: report written to %s\n", filepath.Clean(*out))
	}
	return nil
}

func cmdAuditPolicy(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit policy", stdout, stderr)
	config := fs.String("config", "", "config file whose sites and declared_cookies are audited (default: built-in catalogue, one site)")
	declared := fs.String("declared", "", "a cookie table (CSV: name, category, duration) to audit instead of the sites' declared_cookies")
	site := fs.String("site", "", "audit only this site (required with --declared when the config has several)")
	receipts := fs.String("receipts", "", "a receipts directory or file: compare the cookie names the upstream set with the table")
	top := fs.Int("top", 50, "list at most this many undeclared cookie names (the rest are counted)")
	format := fs.String("format", "md", "output: md or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *format != "md" && *format != "json" {
		return &usageError{fmt.Sprintf("--format %q: want md or json", *format)}
	}
	set, err := loadSet(*config)
	if err != nil {
		return err
	}
	var decl *rules.Declaration
	if *declared != "" {
		if decl, err = rules.ReadDeclaration(*declared); err != nil {
			return err
		}
	}
	var sites []*rules.Site
	for _, s := range set.Sites() {
		if *site != "" && s.Name != *site {
			continue
		}
		if decl == nil && s.Declared == nil {
			continue
		}
		sites = append(sites, s)
	}
	switch {
	case *site != "" && len(sites) == 0:
		return fmt.Errorf("no site %q with a declared cookie table in %s", *site, configName(*config))
	case decl != nil && len(sites) > 1:
		return &usageError{"--declared with several sites: name one with --site"}
	case len(sites) == 0:
		return &usageError{"nothing to audit: give --declared CSV, or a --config whose sites have declared_cookies"}
	}
	var inv *audit.Inventory
	var files []string
	if *receipts != "" {
		files, err = receiptFiles([]string{*receipts})
		if err != nil {
			return err
		}
	}
	files = append(files, fs.Args()...)
	if len(files) > 0 {
		if inv, err = audit.ReadInventory(files); err != nil {
			return err
		}
	}
	var reps []*audit.PolicyReport
	for _, s := range sites {
		r, err := audit.Policy(set, s, decl, inv, audit.PolicyOptions{Top: *top})
		if err != nil {
			return err
		}
		reps = append(reps, r)
	}
	if *format == "json" {
		return audit.WritePolicyJSON(stdout, reps)
	}
	return audit.WritePolicyMarkdown(stdout, reps)
}

func configName(p string) string {
	if p == "" {
		return "the built-in defaults"
	}
	return p
}
