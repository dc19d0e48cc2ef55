package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
)

// Bounds of the page explain-page fetches.
const (
	explainFetchTimeout = 30 * time.Second
	explainMaxPage      = 32 << 20
)

// pageScript is one inline script as explain-page prints it.
type pageScript struct {
	Index    int    `json:"index"`
	Offset   int64  `json:"offset"` // of the start tag in the page
	Size     int64  `json:"size"`   // of the content
	ID       string `json:"id,omitempty"`
	Class    string `json:"class,omitempty"`
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
	// Vendor and Category are those of the loader evidence, if any.
	Vendor     string          `json:"vendor,omitempty"`
	Category   string          `json:"category,omitempty"`
	Evidence   *pageEvidence   `json:"evidence,omitempty"`
	FirstParty []pageFirstName `json:"first_party"`
	// NumFirstParty counts all the first-party state read; FirstParty
	// lists the first of it.
	NumFirstParty int    `json:"num_first_party"`
	SVG           bool   `json:"svg,omitempty"`
	SHA256        string `json:"sha256"`
}

type pageEvidence struct {
	Kind   string `json:"kind"` // signature, url or host-part
	Text   string `json:"text"`
	Offset int64  `json:"offset"`
}

type pageFirstName struct {
	Kind   string `json:"kind"` // declares, assigns, configures or handler
	Name   string `json:"name"`
	Offset int64  `json:"offset"`
}

// pageReport is what explain-page prints as JSON.
type pageReport struct {
	Page    string       `json:"page"`
	Site    string       `json:"site"`
	Denied  []string     `json:"denied"`
	Guard   bool         `json:"guard"`
	Scripts []pageScript `json:"scripts"`
}

func cmdExplainPage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("explain-page", stdout, stderr)
	config := fs.String("config", "", "config file (default: built-in catalogue and default policy)")
	deny := fs.String("deny", "", "categories the visitor denies, comma-separated (default: what the site's opt-out denies)")
	rawURL := fs.String("url", "", "URL whose host selects the site (default: the page's URL, or https://www.example.com/ for a file)")
	guard := fs.Bool("guard", false, "the page gets the runtime guard, as the proxy serves it then (keeps scripts that define the site's own state)")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: consentgate explain-page URL|FILE [--config FILE] [--deny CATEGORY,...] [--url URL] [--guard] [--json]\n\n"+
			"Prints, for each inline script of the page, what the rewriter decides and why, with the\n"+
			"SHA-256 of its content for the site's keep_scripts.\n\n")
		fs.PrintDefaults()
	}
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return &usageError{"explain-page needs one page: a URL (http or https) or a file"}
	}
	src := pos[0]
	isURL := strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")
	siteURL := *rawURL
	if siteURL == "" {
		siteURL = "https://www.example.com/"
		if isURL {
			siteURL = src
		}
	}
	u, err := url.Parse(siteURL)
	if err != nil || u.Host == "" {
		return &usageError{fmt.Sprintf("--url %q: want an absolute URL", siteURL)}
	}
	set, err := loadSet(*config)
	if err != nil {
		return err
	}
	site := set.Site([]byte(u.Host))
	if site == nil {
		return fmt.Errorf("no site answers for host %q (give --url with one of the site's hosts)", u.Host)
	}
	cats := site.Deny
	if *deny != "" {
		if cats, err = rules.ParseCategories(*deny); err != nil {
			return &usageError{fmt.Sprintf("--deny: %v", err)}
		}
	}
	var page []byte
	if isURL {
		page, err = fetchPage(ctx, src)
	} else {
		page, err = readPage(src)
	}
	if err != nil {
		return err
	}
	w := rewrite.NewWriter(io.Discard, rewrite.Policy{Set: set, Site: site, Deny: cats, Guard: *guard, Explain: true})
	if _, err := w.Write(page); err != nil {
		return fmt.Errorf("cannot rewrite %s: %w", src, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("cannot rewrite %s: %w", src, err)
	}
	rep := pageReport{Page: src, Site: site.Name, Denied: cats.Names(), Guard: *guard, Scripts: []pageScript{}}
	for i, s := range w.Scripts() {
		rep.Scripts = append(rep.Scripts, describeScript(page, i, s))
	}
	if *asJSON {
		return writeJSON(stdout, rep, true)
	}
	return printPageReport(stdout, rep)
}

// describeScript turns a decision into what explain-page prints.
func describeScript(page []byte, i int, s rewrite.Script) pageScript {
	span := func(sp rewrite.Span) string {
		if sp.Start < 0 || sp.End < sp.Start || sp.End > int64(len(page)) {
			return ""
		}
		return string(page[sp.Start:sp.End])
	}
	end := s.Content.End
	if end < 0 {
		end = int64(len(page))
	}
	content := page[s.Content.Start:end]
	sum := sha256.Sum256(content)
	ps := pageScript{
		Index: i, Offset: s.Tag.Start, Size: int64(len(content)),
		ID: html.UnescapeString(span(s.ID)), Class: html.UnescapeString(span(s.Class)),
		Decision: s.Decision.String(), Reason: s.Reason.String(),
		FirstParty: []pageFirstName{}, NumFirstParty: s.NumFirstParty,
		SVG: s.Foreign, SHA256: hex.EncodeToString(sum[:]),
	}
	if s.Vendor != nil {
		ps.Vendor, ps.Category = s.Vendor.ID, s.Vendor.Category.String()
		ev := &pageEvidence{Kind: s.Evidence.String(), Offset: s.At.Start, Text: span(s.At)}
		if s.Evidence == rewrite.EvidenceSignature && s.Signature >= 0 {
			ev.Text = s.Vendor.Signatures[s.Signature]
		}
		if len(ev.Text) > 120 {
			ev.Text = ev.Text[:120] + "…"
		}
		ps.Evidence = ev
	}
	for _, fp := range s.FirstParty[:min(s.NumFirstParty, len(s.FirstParty))] {
		ps.FirstParty = append(ps.FirstParty, pageFirstName{Kind: fp.Kind.String(), Name: span(fp.Span), Offset: fp.Start})
	}
	return ps
}

func printPageReport(w io.Writer, rep pageReport) error {
	b := bufio.NewWriter(w)
	guard := "off"
	if rep.Guard {
		guard = "on"
	}
	fmt.Fprintf(b, "%s: %d inline scripts (site %s, denied %s, runtime guard %s)\n", rep.Page, len(rep.Scripts), rep.Site, strings.Join(rep.Denied, ","), guard)
	for _, s := range rep.Scripts {
		fmt.Fprintf(b, "\n#%d at byte %d, %d bytes", s.Index, s.Offset, s.Size)
		if s.ID != "" {
			fmt.Fprintf(b, ", id=%q", s.ID)
		}
		if s.Class != "" {
			fmt.Fprintf(b, ", class=%q", s.Class)
		}
		if s.SVG {
			b.WriteString(", in SVG")
		}
		fmt.Fprintf(b, "\n  %s: %s\n", s.Decision, reasonText(s))
		if s.Evidence != nil {
			fmt.Fprintf(b, "  loader evidence: %s %s of %s (%s) at byte %d\n", s.Evidence.Kind, s.Evidence.Text, s.Vendor, s.Category, s.Evidence.Offset)
		}
		if len(s.FirstParty) > 0 {
			var names []string
			for _, n := range s.FirstParty {
				if nm := n.Kind + " " + n.Name; !slices.Contains(names, nm) {
					names = append(names, nm)
				}
			}
			more := ""
			if s.NumFirstParty > len(s.FirstParty) {
				more = fmt.Sprintf(" (and %d more)", s.NumFirstParty-len(s.FirstParty))
			}
			fmt.Fprintf(b, "  first-party state: %s%s\n", strings.Join(names, ", "), more)
		}
		fmt.Fprintf(b, "  sha256: %s\n", s.SHA256)
	}
	return b.Flush()
}

// reasonText says in words why a script was decided as it was.
func reasonText(s pageScript) string {
	switch s.Reason {
	case "loader":
		return "a loader or snippet of " + s.Vendor + ", with no state of the site's own"
	case "first-party":
		if s.Vendor != "" {
			return "it defines state of the site's own; its loads of " + s.Vendor + " are left to the runtime guard"
		}
		return "it defines state of the site's own"
	case "no-guard":
		return "it loads " + s.Vendor + "; it also defines state of the site's own, but the page has no runtime guard"
	case "keep-scripts":
		return "the site's keep_scripts names it"
	case "data-type":
		return "a data block (its type), never run"
	}
	if s.Decision == "oversize-kept" {
		return fmt.Sprintf("longer than %d bytes and not decided a tracker in them: passed through", rewrite.MaxScript)
	}
	return "nothing in it loads a denied vendor"
}

// readPage reads a page from a file ("-" for standard input is not
// offered: the command needs the whole page, and a file says where it
// came from).
func readPage(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the page: %w", err)
	}
	defer f.Close()
	return readCapped(f, path)
}

// fetchPage gets a page over HTTP or HTTPS, within explainFetchTimeout and
// explainMaxPage.
func fetchPage(ctx context.Context, rawURL string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, explainFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &usageError{fmt.Sprintf("%q is not a URL: %v", rawURL, err)}
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5")
	req.Header.Set("User-Agent", "consentgate-explain-page/1")
	client := &http.Client{CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if r.URL.Scheme != "http" && r.URL.Scheme != "https" || len(via) >= 10 {
			return fmt.Errorf("redirect to %s not followed", r.URL)
		}
		return nil
	}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot fetch the page: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cannot fetch the page: %s answered %s", rawURL, resp.Status)
	}
	return readCapped(resp.Body, rawURL)
}

var errPageTooLarge = errors.New("page too large")

func readCapped(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, explainMaxPage+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", name, err)
	}
	if len(b) > explainMaxPage {
		return nil, fmt.Errorf("cannot explain %s: %w (more than %d MiB)", name, errPageTooLarge, explainMaxPage>>20)
	}
	return b, nil
}
