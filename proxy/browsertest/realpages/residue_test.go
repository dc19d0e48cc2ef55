package realpages

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
)

func TestGoldenRoundTrip(t *testing.T) {
	g := Golden{
		"b.example-1": {Catalogue: []string{"x.doubleclick.net"}, List: []string{"stats.wp.com", "b.scorecardresearch.com"}, Exceptions: []string{"ReferenceError: a is not defined"}, LowText: true, Text: 0},
		"a.example-2": {LowText: true, Text: 97},
		"c.example-3": {}, // no residue: not written
	}
	var b bytes.Buffer
	if err := g.Write(&b); err != nil {
		t.Fatal(err)
	}
	got, err := ParseGolden(&b, "golden")
	if err != nil {
		t.Fatal(err)
	}
	want := Golden{
		"b.example-1": {Catalogue: []string{"x.doubleclick.net"}, List: []string{"b.scorecardresearch.com", "stats.wp.com"}, Exceptions: []string{"ReferenceError: a is not defined"}, LowText: true, Text: 0},
		"a.example-2": {LowText: true, Text: 97},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseGoldenErrors(t *testing.T) {
	for _, in := range []string{
		"page\tcatalogue",
		"page\thost\tx.example",
		"page\ttext\t99",
		"page\ttext\tlow",
		"\tlist\tx.example",
		"page\tlist\t",
	} {
		if _, err := ParseGolden(strings.NewReader(in+"\n"), "golden"); err == nil || !strings.Contains(err.Error(), "golden:1:") {
			t.Errorf("ParseGolden(%q) = %v, want an error at golden:1", in, err)
		}
	}
}

func TestBeyond(t *testing.T) {
	known := Residue{Catalogue: []string{"a.example"}, List: []string{"b.example"}, Exceptions: []string{"E1"}, LowText: true, Text: 95}
	f := func(got, want Residue) {
		t.Helper()
		if b := known.Beyond(got); !reflect.DeepEqual(b, want) {
			t.Errorf("Beyond(%+v) = %+v, want %+v", got, b, want)
		}
	}
	f(Residue{}, Residue{})
	f(known, Residue{})
	f(Residue{Catalogue: []string{"a.example", "c.example"}}, Residue{Catalogue: []string{"c.example"}})
	f(Residue{List: []string{"a.example"}}, Residue{List: []string{"a.example"}})
	f(Residue{Exceptions: []string{"E2", "E1"}}, Residue{Exceptions: []string{"E2"}})
	f(Residue{LowText: true, Text: 96}, Residue{})
	f(Residue{LowText: true, Text: 94}, Residue{LowText: true, Text: 94})
	f(Residue{LowText: true, Text: 0}, Residue{LowText: true, Text: 0})
	// A page with no known residue: everything is beyond.
	if b := (Residue{}).Beyond(Residue{LowText: true, Text: 98}); !b.LowText || b.Text != 98 {
		t.Errorf("a new low text ratio is not beyond an empty residue: %+v", b)
	}
}

func TestUnion(t *testing.T) {
	a := Residue{Catalogue: []string{"b.example", "a.example"}, Exceptions: []string{"E1"}, LowText: true, Text: 97}
	b := Residue{Catalogue: []string{"a.example", "c.example"}, List: []string{"l.example"}, LowText: true, Text: 95}
	want := Residue{Catalogue: []string{"a.example", "b.example", "c.example"}, List: []string{"l.example"}, Exceptions: []string{"E1"}, LowText: true, Text: 95}
	if got := a.Union(b); !reflect.DeepEqual(got, want) {
		t.Errorf("Union = %+v, want %+v", got, want)
	}
	if got := (Residue{}).Union(Residue{}); !got.Empty() {
		t.Errorf("the union of nothing is %+v", got)
	}
}

func TestResultResidue(t *testing.T) {
	r := &Result{
		Plain: &Load{},
		GPC: &Load{
			Requests: []Request{
				{Host: "x.doubleclick.net", Vendor: "doubleclick"},
				{Host: "x.doubleclick.net", Vendor: "doubleclick", Rule: "||doubleclick.net^"},
				{Host: "stats.wp.com", Rule: "||stats.wp.com^"},
				{Host: "cdn.example"},
			},
			ConnectOnly: []Request{{Host: "pre.tracker.example", Vendor: "t"}, {Host: "accounts.google.com"}},
		},
		NewExceptions: []string{"E"},
		TextRatio:     0.98999,
	}
	want := Residue{Catalogue: []string{"pre.tracker.example", "x.doubleclick.net"}, List: []string{"stats.wp.com", "x.doubleclick.net"}, Exceptions: []string{"E"}, LowText: true, Text: 98}
	if got := r.Residue(); !reflect.DeepEqual(got, want) {
		t.Errorf("Residue() = %+v, want %+v", got, want)
	}
	for ratio, want := range map[float64]int{1: 100, 0.99: 99, 0.9899999: 98, 0: 0, 1.2: 120} {
		if got := TextPercent(ratio); got != want {
			t.Errorf("TextPercent(%v) = %d, want %d", ratio, got, want)
		}
	}
}

func TestNormalise(t *testing.T) {
	for in, want := range map[string]string{
		"Uncaught Error: at http://127.0.0.1:41235/p/x.example-1:12":      "Uncaught Error: at ORIGIN/p/x.example-1:12",
		"blob:http://localhost:3000/0f8fad5b-d9cb-469f-a165-70867728950e": "blob:ORIGIN/UUID",
		"id 1733512345678 of   3\nlines":                                  "id N of 3 lines",
		"TypeError: Cannot read properties of undefined (reading 'cmd')":  "TypeError: Cannot read properties of undefined (reading 'cmd')",
	} {
		if got := normalise(in); got != want {
			t.Errorf("normalise(%q) = %q, want %q", in, got, want)
		}
	}
	if got := normalise(strings.Repeat("x", 1000)); len(got) != 300 {
		t.Errorf("a long message is cut to %d bytes, want 300", len(got))
	}
}

func TestMetaCharset(t *testing.T) {
	for in, want := range map[string]string{
		`<html><head><meta charset="UTF-8"><title>`:                                        "utf-8",
		`<head><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=windows-1251">`: "windows-1251",
		`<head><meta charset=euc-kr>`:                                                      "euc-kr",
		`<head><title>t</title></head><body><meta charset="utf-8">`:                        "utf-8",
		`no markup at all`: "",
	} {
		if got := metaCharset([]byte(in)); got != want {
			t.Errorf("metaCharset(%q) = %q, want %q", in, got, want)
		}
	}
	if p := (&Page{}); p.contentType() != "text/html" {
		t.Errorf("no charset: %q", p.contentType())
	}
	if p := (&Page{Charset: "utf-8"}); p.contentType() != "text/html; charset=utf-8" {
		t.Errorf("utf-8: %q", p.contentType())
	}
}

func TestFirstFrame(t *testing.T) {
	guard := &runtime.CallFrame{URL: "http://127.0.0.1:4000/.consentgate/guard/52c5a7dc.js", LineNumber: 0}
	inline := &runtime.CallFrame{URL: "http://127.0.0.1:4000/p/x.example-1", LineNumber: 41}
	for _, c := range []struct {
		name string
		st   *runtime.StackTrace
		want *runtime.CallFrame
	}{
		{"inline", &runtime.StackTrace{CallFrames: []*runtime.CallFrame{inline}}, inline},
		{"through the guard", &runtime.StackTrace{CallFrames: []*runtime.CallFrame{guard, inline}}, inline},
		{"async parent", &runtime.StackTrace{Parent: &runtime.StackTrace{CallFrames: []*runtime.CallFrame{guard, inline}}}, inline},
		{"only the guard", &runtime.StackTrace{CallFrames: []*runtime.CallFrame{guard}}, guard},
		{"empty", &runtime.StackTrace{}, nil},
	} {
		if got := firstFrame(c.st); got != c.want {
			t.Errorf("%s: firstFrame = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestMechanism(t *testing.T) {
	const page = "x.example-1"
	pageURL := "http://127.0.0.1:4000/p/" + page
	for _, c := range []struct {
		q    Request
		want string
	}{
		{Request{Initiator: "parser", InitiatorURL: pageURL, InitiatorLine: 12, Frame: "main"}, "markup (line 12)"},
		{Request{Initiator: "script", InitiatorURL: pageURL + "#top", InitiatorLine: 40, Frame: "main"}, "inline script (line 40)"},
		{Request{Initiator: "script", InitiatorURL: "", Frame: "main"}, "eval'd script"},
		{Request{Initiator: "script", InitiatorURL: "https://cdn.example/app.js", InitiatorLine: 3, Frame: "main"}, "script https://cdn.example/app.js"},
		{Request{Initiator: "parser", InitiatorURL: "http://localhost:4000/p/frame", Frame: "frame"}, "iframe: markup of /p/frame"},
		{Request{Initiator: "script", InitiatorURL: "blob:http://127.0.0.1:4000/uuid", Frame: "worker"}, "worker: script blob:http://127.0.0.1:4000/uuid"},
		{Request{Initiator: "other", Frame: "main"}, "other"},
	} {
		if got := c.q.Mechanism(page); got != c.want {
			t.Errorf("Mechanism(%+v) = %q, want %q", c.q, got, c.want)
		}
	}
}

// TestJudge checks both judgements on hosts whose verdicts are stable: the
// catalogue's Google Analytics (analytics, denied by default), the list's
// third-party rules, the page's own loopback origin and a first-party list
// hit.
func TestJudge(t *testing.T) {
	list, err := ParseList(strings.NewReader("||google-analytics.com^\n||et.news.example^\n||pixel.listed.example^$third-party\n"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Compile(config.Default("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	j := &judge{set: set, policy: set.Site([]byte("127.0.0.1:1")), list: list}
	for _, c := range []struct {
		host                   string
		vendor, rule, excluded string
	}{
		{"www.google-analytics.com", "google-analytics", "||google-analytics.com^", ""},
		{"127.0.0.1", "", "", ""},
		{"localhost", "", "", ""},
		{"a.et.news.example", "", "", FirstParty},
		{"pixel.listed.example", "", "||pixel.listed.example^$third-party", ""},
		{"cdn.example", "", "", ""},
	} {
		q := Request{Host: c.host, Type: "Script", Frame: "main"}
		j.verdict(&q, "www.news.example")
		if q.Vendor != c.vendor || q.Rule != c.rule || q.Excluded != c.excluded {
			t.Errorf("%s: vendor %q, rule %q, excluded %q; want %q, %q, %q", c.host, q.Vendor, q.Rule, q.Excluded, c.vendor, c.rule, c.excluded)
		}
	}
}
