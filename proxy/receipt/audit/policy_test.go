package audit

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/signals"
)

// seedGlob is the real cookie policy the project tests with (see its
// README); it is read where it is, never copied into the repository.
const seedGlob = "../../../../shared/seeds/000_*.txt"

// seedPolicy returns the seed's text, or ends the test: a skip on a
// developer's machine without ../shared, a failure in CI.
func seedPolicy(t *testing.T) []byte {
	t.Helper()
	files, _ := filepath.Glob(seedGlob)
	if len(files) == 0 {
		msg := "the seed cookie policy " + seedGlob + " is not there (it sits beside the repository in ../shared/seeds)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var (
	// The table's rows run their columns together: website, name, purpose,
	// duration, category, with no separator.
	seedSite     = regexp.MustCompile(`^(All Websites|www\.[a-z]+\.(?:com\.ru|com)(?:(?:, | & )www\.[a-z]+\.com)*)`)
	seedCategory = regexp.MustCompile(`(Analyse|Functionality/Preference|Targeting ?/Advertising|Essential)$`)
	seedDuration = regexp.MustCompile(`(\d+(?:\.\d+)? ?(?:jaar|years?|months?|minutes?|min|dagen|days?|weken|weeks?)|Session)$`)
	camelBreak   = regexp.MustCompile(`[a-z0-9.]\p{Lu}`)
)

// extractSeedTable turns the seed's "List of Cookies used on the Websites"
// into CSV (name, category, duration): the name ends where the purpose,
// a capitalised sentence, starts inside the first word that runs two
// together ("LiveIntentCapture conversions" is LiveIntent, "Capture …").
func extractSeedTable(t *testing.T, text []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	w.Write([]string{"name", "category", "duration", "website"})
	sc := bufio.NewScanner(bytes.NewReader(text))
	in := false
	rows := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "Website Name(s)Cookie Name"):
			in = true
			continue
		case !in:
			continue
		case line == "":
			if rows > 0 {
				in = false
			}
			continue
		}
		site := seedSite.FindString(line)
		cat := seedCategory.FindString(line)
		if site == "" || cat == "" {
			t.Fatalf("seed row not understood: %q", line)
		}
		rest := strings.TrimSuffix(line[len(site):], cat)
		dur := seedDuration.FindString(rest)
		rest = strings.TrimSuffix(rest, dur)
		name := rest
		for _, word := range strings.Fields(rest) {
			if locs := camelBreak.FindAllStringIndex(word, -1); len(locs) > 0 {
				cut := strings.Index(rest, word) + locs[len(locs)-1][0] + 1
				name = rest[:cut]
				break
			}
		}
		w.Write([]string{strings.TrimSpace(name), cat, dur, site})
		rows++
	}
	w.Flush()
	if rows == 0 {
		t.Fatal("no table rows found in the seed")
	}
	return out.Bytes()
}

func TestSeedCookiePolicy(t *testing.T) {
	table := extractSeedTable(t, seedPolicy(t))
	path := filepath.Join(t.TempDir(), "zendesk-cookies.csv")
	if err := os.WriteFile(path, table, 0o644); err != nil {
		t.Fatal(err)
	}
	decl, err := rules.ReadDeclaration(path)
	if err != nil {
		t.Fatalf("importing the seed's table: %v\n%s", err, table)
	}
	if len(decl.Rows) != 53 {
		t.Errorf("%d rows imported from the seed's table, want 53", len(decl.Rows))
	}
	names := map[string]bool{}
	for _, r := range decl.Rows {
		names[r.Name] = true
	}
	for _, n := range []string{"Google Analytics", "Twitter Advertising", "LiveIntent", "popupHide", "homeType", "_zendesk_shared_session", "Simpli.fi", "Pendo", "AppNexus"} {
		if !names[n] {
			t.Errorf("the extracted table has no row named %q", n)
		}
	}
	set := testSet(t)
	rep, err := Policy(set, set.Sites()[0], decl, nil, PolicyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	findings := map[string]string{}
	for _, f := range rep.Rows {
		findings[f.Name] = f.Finding + " " + f.Vendor
	}
	// What the seed's README names: three vendors declared Essential that
	// an opt-out denies, and Pendo declared Targeting (analytics here).
	for name, want := range map[string]string{
		"Twitter Advertising": FindingExempts + " x-ads",
		"Facebook Connect":    FindingExempts + " meta-pixel",
		"Eloqua":              FindingExempts + " eloqua",
		"Pendo":               FindingDiffers + " pendo",
		"Google Analytics":    FindingAgrees + " google-analytics",
		"Vimeo":               FindingAgrees + " vimeo",
		"_zendesk_session":    FindingUnknown + " ",
	} {
		if findings[name] != want {
			t.Errorf("%s: %q, want %q", name, findings[name], want)
		}
	}
	var md bytes.Buffer
	if err := WritePolicyMarkdown(&md, []*PolicyReport{rep}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows, %d disagreements with the catalogue:\n%s", len(rep.Rows), rep.Disagreements, md.String())
	if !strings.Contains(md.String(), "| Twitter Advertising | Essential (necessary) | x-ads | advertising |") {
		t.Error("the report does not show Twitter Advertising declared Essential against the catalogue's advertising")
	}

	// A site that follows its table with vendor_categories: still
	// declared exempt against the catalogue, and the report says the proxy
	// enforces the site's category.
	cfg, err := config.Parse([]byte("upstream: http://127.0.0.1:1\nsites:\n  - name: www\n    hosts: ['*']\n    vendor_categories: {x-ads: necessary}\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	own, err := rules.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = Policy(own, own.Sites()[0], decl, nil, PolicyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Rows {
		if f.Name == "Twitter Advertising" && (f.Finding != FindingExempts || f.Enforced != "necessary") {
			t.Errorf("with vendor_categories: %+v", f)
		}
	}
}

// TestPolicyObservedCookies: cookie names the upstream set, gathered in
// receipts, against the declared table: names only, the top ones with
// counts, the rest counted together.
func TestPolicyObservedCookies(t *testing.T) {
	set := testSet(t)
	decl, err := rules.ParseDeclaration([]byte("name,category\nGoogle Analytics,Analytics\nnw_session,Essential\n"), "t.csv")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l, err := receipt.Open(receipt.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	add := func(site string, names ...string) {
		e := receipt.Acquire()
		e.Kind, e.Time, e.Site, e.OptedOut, e.Denied, e.Sources = receipt.KindResponse, at, site, true, rules.DefaultDeny, signals.GPC
		for _, n := range names {
			e.SetCookie([]byte(n))
		}
		l.Add(e)
	}
	for range 5 {
		add("www", "_ga", "_ga_X1", "nw_session", "_fbp", "ab_test")
	}
	for i := range 30 {
		add("www", "sess_"+strings.Repeat("x", i%7+1))
	}
	add("blog", "_gcl_au")
	add("www", strings.Repeat("y", receipt.MaxNameLen+1))
	l.Close()
	files, _ := receipt.Files(dir)
	inv, err := ReadInventory(files)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Policy(set, set.Sites()[0], decl, inv, PolicyOptions{Top: 3})
	if err != nil {
		t.Fatal(err)
	}
	ob := rep.Observed
	var got []string
	for _, c := range ob.Undeclared {
		got = append(got, c.Name+"="+strings.TrimSpace(strings.Split(c.Category+" ", " ")[0]))
	}
	// _ga and _ga_X1 are google-analytics's, which the table declares;
	// nw_session is declared by name.
	if strings.Join(got, " ") != "_fbp=meta-pixel ab_test= sess_x=" || ob.OtherNames != 6 || ob.Uncounted != 1 || ob.Responses != 36 {
		t.Errorf("undeclared %v, other %d names, uncounted %d, responses %d", got, ob.OtherNames, ob.Uncounted, ob.Responses)
	}
}
