package rewrite

import (
	"bytes"
	"sync"
	"testing"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
)

var (
	setOnce       sync.Once
	removeSet     *rules.Set
	neutraliseSet *rules.Set
)

const neutraliseConfig = `
upstream: http://127.0.0.1:1
sites:
  - name: neutral
    hosts: ["*"]
    actions: {analytics: neutralise, advertising: neutralise, social: neutralise}
`

func sets(tb testing.TB) (*rules.Set, *rules.Set) {
	tb.Helper()
	setOnce.Do(func() {
		var err error
		removeSet, err = rules.Compile(config.Default("http://127.0.0.1:1"))
		if err != nil {
			panic(err)
		}
		cfg, err := config.Parse([]byte(neutraliseConfig), "neutralise.yaml")
		if err != nil {
			panic(err)
		}
		neutraliseSet, err = rules.Compile(cfg)
		if err != nil {
			panic(err)
		}
	})
	return removeSet, neutraliseSet
}

// optOut is the policy for an opted-out visitor with the default actions.
func optOut(tb testing.TB, stub bool) Policy {
	s, _ := sets(tb)
	return Policy{Set: s, Site: s.Sites()[0], Deny: rules.DefaultDeny, Stub: stub}
}

// neutral is optOut with every denied category neutralised.
func neutral(tb testing.TB, stub bool) Policy {
	_, s := sets(tb)
	return Policy{Set: s, Site: s.Sites()[0], Deny: rules.DefaultDeny, Stub: stub}
}

func rewriteString(tb testing.TB, in string, p Policy) (string, []Removal) {
	tb.Helper()
	var out bytes.Buffer
	rm, err := Rewrite(&out, []byte(in), p)
	if err != nil {
		tb.Fatal(err)
	}
	return out.String(), rm
}

// removals is the number of elements w removed or neutralised.
func removals(w *Writer) int {
	n := 0
	for _, r := range w.Removed() {
		n += r.Count
	}
	return n
}
