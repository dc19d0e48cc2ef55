package realpages

import (
	"strings"
	"testing"
)

const testList = `[Adblock Plus 2.0]
! comment
||tracker.example^
||thirdonly.example^$third-party
||firstonly.example^$~third-party
||scripts.example^$script
||noimage.example^$~image
||onnews.example^$domain=news.example|~sports.news.example
||notnews.example^$domain=~news.example
||lifted.example^
@@||ok.lifted.example^$image
||strong.example^$important
@@||strong.example^
||cancelled.example^$third-party
||cancelled.example^$third-party,badfilter
||path.example/ads/*
||wild*.example^
||redirect.example^$script,redirect=noop.js
@@||page.example^$document
example.com##.ad
/regex/
plain-substring
||slash.example/
`

func TestListMatch(t *testing.T) {
	l, err := ParseList(strings.NewReader(testList))
	if err != nil {
		t.Fatal(err)
	}
	f := func(host, page, typ, frame, wantRule, wantExc string) {
		t.Helper()
		rule, exc := l.Match(ListRequest{Host: host, PageHost: page, Type: typ, Frame: frame})
		if rule != wantRule || exc != wantExc {
			t.Errorf("Match(%s on %s, %s in %s) = %q, %q; want %q, %q", host, page, typ, frame, rule, exc, wantRule, wantExc)
		}
	}
	const page = "www.news.example"
	f("tracker.example", page, "Script", "main", "||tracker.example^", "")
	f("a.b.tracker.example", page, "Image", "frame", "||tracker.example^", "")
	f("nottracker.example", page, "Script", "main", "", "")
	f("tracker.example.org", page, "Script", "main", "", "")
	f("", page, "Script", "main", "", "")

	f("cdn.thirdonly.example", page, "Script", "main", "||thirdonly.example^$third-party", "")
	f("cdn.thirdonly.example", "www.thirdonly.example", "Script", "main", "", "")
	f("x.firstonly.example", page, "Script", "main", "", "")
	f("x.firstonly.example", "firstonly.example", "Script", "main", "||firstonly.example^$~third-party", "")

	f("scripts.example", page, "Script", "worker", "||scripts.example^$script", "")
	f("scripts.example", page, "Image", "main", "", "")
	f("noimage.example", page, "Image", "main", "", "")
	f("noimage.example", page, "XHR", "main", "||noimage.example^$~image", "")
	f("noimage.example", page, "Fetch", "main", "||noimage.example^$~image", "")

	f("onnews.example", page, "Script", "main", "||onnews.example^$domain=news.example|~sports.news.example", "")
	f("onnews.example", "sports.news.example", "Script", "main", "", "")
	f("onnews.example", "other.example", "Script", "main", "", "")
	f("notnews.example", page, "Script", "main", "", "")
	f("notnews.example", "other.example", "Script", "main", "||notnews.example^$domain=~news.example", "")

	f("lifted.example", page, "Image", "main", "||lifted.example^", "")
	f("ok.lifted.example", page, "Image", "main", "", "@@||ok.lifted.example^$image")
	f("ok.lifted.example", page, "Script", "main", "||lifted.example^", "")
	f("strong.example", page, "Script", "main", "||strong.example^$important", "")

	f("cancelled.example", page, "Script", "main", "", "")
	f("path.example", page, "Script", "main", "", "")
	f("wildcard.example", page, "Script", "main", "", "")
	f("redirect.example", page, "Script", "main", "", "")
	f("slash.example", page, "Script", "main", "||slash.example/", "")

	// Resource types: a document in a child frame is a subdocument.
	f("scripts.example", page, "Document", "frame", "", "")

	st := l.Stats
	if st.Block != 10 || st.Exceptions != 2 {
		t.Errorf("took %d blocking rules and %d exceptions, want 10 and 2", st.Block, st.Exceptions)
	}
	for reason, n := range map[string]int{
		"path": 1, "wildcard or odd host": 1, "option redirect": 1, "page-level exception": 1,
		"cosmetic filter": 1, "regular expression or path": 1, "not anchored at a host": 1,
		"cancelled by $badfilter": 1,
	} {
		if st.Skipped[reason] != n {
			t.Errorf("skipped for %q: %d, want %d (all: %v)", reason, st.Skipped[reason], n, st.Skipped)
		}
	}
}

func TestResourceType(t *testing.T) {
	for _, c := range []struct {
		typ, frame string
		want       typeMask
	}{
		{"Document", "main", tDocument},
		{"Document", "frame", tSubdocument},
		{"Script", "worker", tScript},
		{"XHR", "main", tXHR},
		{"Fetch", "worker", tXHR},
		{"Ping", "main", tPing},
		{"WebSocket", "main", tWebSocket},
		{"EventSource", "main", tOther},
		{"Connection", "", tOther},
	} {
		if got := resourceType(c.typ, c.frame); got != c.want {
			t.Errorf("resourceType(%s, %s) = %b, want %b", c.typ, c.frame, got, c.want)
		}
	}
}

// FuzzParseRule: any line parses without panic; a rule taken has a plain
// host and a type, and a blocking rule that no option confines matches a
// request to its host (and to a subdomain) of every type.
func FuzzParseRule(f *testing.F) {
	for _, line := range strings.Split(testList, "\n") {
		f.Add(line)
	}
	f.Add("||a.b^$domain=|~,script")
	f.Add("@@||x^$~third-party,~first-party")
	f.Fuzz(func(t *testing.T, line string) {
		if len(line) > 4096 {
			return
		}
		r, badfilter, reason := parseRule(strings.TrimSpace(line))
		if reason != "" {
			if r != nil {
				t.Fatalf("%q: skipped (%s) but returned a rule", line, reason)
			}
			return
		}
		if !plainHost(r.host) {
			t.Fatalf("%q: took host %q", line, r.host)
		}
		if !badfilter && r.types == 0 {
			t.Fatalf("%q: a rule for no type", line)
		}
		if badfilter || strings.HasPrefix(strings.TrimSpace(line), "@@") || r.types != tAll || r.party != 0 || len(r.domains)+len(r.notDomains) > 0 {
			return
		}
		l, err := ParseList(strings.NewReader(line))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{r.host, "sub." + r.host} {
			if rule, _ := l.Match(ListRequest{Host: h, PageHost: "page.example", Type: "Image", Frame: "main"}); rule != r.text {
				t.Fatalf("%q: a request to %s matched %q, want the rule", line, h, rule)
			}
		}
	})
}
