package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const explainTestPage = `<!doctype html><html><head><title>t</title>
<script id="boot">var SITE = {}; SITE.cb = {"src":"//static.chartbeat.com/js/chartbeat.js"};</script>
<script class="ga x">(function(i,s,o,g,r,a,m){i['GoogleAnalyticsObject']=r;a=s.createElement(o);a.src=g;s.head.appendChild(a)})(window,document,'script','https://www.google-analytics.com/analytics.js','ga');</script>
<script type="application/json">{"a":"https://connect.facebook.net/x.js"}</script>
<script>// https://connect.facebook.net/en_US/fbevents.js
document.title = "x";</script>
</head><body><p>x</p></body></html>`

func explainPage(t *testing.T, args ...string) pageReport {
	t.Helper()
	code, out, stderr := runCmd(t, "", append([]string{"explain-page"}, append(args, "--json")...)...)
	if code != 0 {
		t.Fatalf("explain-page %v: exit %d: %s", args, code, stderr)
	}
	var rep pageReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("explain-page %v: not JSON: %v\n%s", args, err, out)
	}
	return rep
}

func TestExplainPage(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "page.html")
	if err := os.WriteFile(page, []byte(explainTestPage), 0o644); err != nil {
		t.Fatal(err)
	}
	type want struct{ decision, reason, vendor, id, class, evidence string }
	check := func(rep pageReport, ws []want) {
		t.Helper()
		if len(rep.Scripts) != len(ws) {
			t.Fatalf("%d scripts, want %d: %+v", len(rep.Scripts), len(ws), rep.Scripts)
		}
		for i, w := range ws {
			s := rep.Scripts[i]
			ev := ""
			if s.Evidence != nil {
				ev = s.Evidence.Kind + " " + s.Evidence.Text
			}
			got := want{s.Decision, s.Reason, s.Vendor, s.ID, s.Class, ev}
			if got != w {
				t.Errorf("script %d: %+v, want %+v", i, got, w)
			}
			content := explainTestPage[strings.Index(explainTestPage[s.Offset:], ">")+int(s.Offset)+1:]
			if len(s.SHA256) != 64 || int64(len(content)) < s.Size {
				t.Errorf("script %d: sha256 %q, size %d", i, s.SHA256, s.Size)
			}
		}
	}
	boot := want{"removed", "no-guard", "chartbeat", "boot", "", `url "//static.chartbeat.com/js/chartbeat.js"`}
	ga := want{"removed", "loader", "google-analytics", "", "ga x", `url 'https://www.google-analytics.com/analytics.js'`}
	data := want{"data", "data-type", "", "", "", ""}
	comment := want{"kept", "no-evidence", "", "", "", ""}
	rep := explainPage(t, page)
	if rep.Guard || strings.Join(rep.Denied, ",") != "advertising,analytics,social" || rep.Site != "default" {
		t.Errorf("report header: %+v", rep)
	}
	check(rep, []want{boot, ga, data, comment})
	// Flags after the page, as the usage line writes them.
	bootKept := boot
	bootKept.decision, bootKept.reason = "kept", "first-party"
	check(explainPage(t, page, "--guard"), []want{bootKept, ga, data, comment})
	noAnalytics := []want{{"kept", "no-evidence", "", "boot", "", ""}, {"kept", "no-evidence", "", "", "ga x", ""}, data, comment}
	check(explainPage(t, page, "--deny", "advertising"), noAnalytics)

	// The printed hash, pasted into keep_scripts, keeps the script.
	sum := explainPage(t, page).Scripts[1].SHA256
	cfg := filepath.Join(dir, "consentgate.yaml")
	os.WriteFile(cfg, []byte("upstream: http://127.0.0.1:1\nsites:\n  - name: s\n    hosts: [\"*\"]\n    keep_scripts:\n      - sha256: "+sum+"\n      - id: boot\n"), 0o644)
	kept := explainPage(t, page, "--config", cfg)
	if s := kept.Scripts[1]; s.Decision != "kept" || s.Reason != "keep-scripts" {
		t.Errorf("keep_scripts by hash: %s %s", s.Decision, s.Reason)
	}
	if s := kept.Scripts[0]; s.Decision != "kept" || s.Reason != "keep-scripts" {
		t.Errorf("keep_scripts by id: %s %s", s.Decision, s.Reason)
	}

	// Text output names the reason, the evidence and the hash.
	code, out, _ := runCmd(t, "", "explain-page", page)
	for _, s := range []string{"4 inline scripts", `id="boot"`, "removed: a loader or snippet of google-analytics", `url 'https://www.google-analytics.com/analytics.js' of google-analytics (analytics)`, "first-party state: declares SITE, assigns SITE", "sha256: " + sum} {
		if code != 0 || !strings.Contains(out, s) {
			t.Errorf("text output lacks %q:\n%s", s, out)
		}
	}

	// A URL is fetched, and its host selects the site.
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, explainTestPage) }) //nolint:errcheck
	mux.HandleFunc("/missing", http.NotFound)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()
	check(explainPage(t, base+"/page"), []want{boot, ga, data, comment})
	if code, _, stderr := runCmd(t, "", "explain-page", base+"/missing"); code != 1 || !strings.Contains(stderr, "404") {
		t.Errorf("a missing page: exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{{}, {"a", "b"}, {page, "--deny", "nonsense"}, {page, "--url", "nope"}} {
		if code, _, _ := runCmd(t, "", append([]string{"explain-page"}, args...)...); code != 2 {
			t.Errorf("explain-page %v: exit %d, want 2", args, code)
		}
	}
	if code, _, _ := runCmd(t, "", "explain-page", filepath.Join(dir, "none.html")); code != 1 {
		t.Errorf("a missing file: exit %d, want 1", code)
	}
}

func TestReadCapped(t *testing.T) {
	if _, err := readCapped(io.LimitReader(zeros{}, explainMaxPage), "x"); err != nil {
		t.Errorf("a page of exactly the limit: %v", err)
	}
	if _, err := readCapped(io.LimitReader(zeros{}, explainMaxPage+1), "x"); !errors.Is(err, errPageTooLarge) {
		t.Errorf("a page past the limit: %v, want errPageTooLarge", err)
	}
	if b, err := readCapped(bytes.NewReader([]byte("<p>")), "x"); err != nil || string(b) != "<p>" {
		t.Errorf("readCapped: %q, %v", b, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
