package matcher

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// owner is a value with patterns, as a vendor is one with signatures.
type owner struct {
	id   string
	pats []string
}

func patterns(o *owner) []string { return o.pats }

// naiveEach is the reference: every owner with a pattern in text.
func naiveEach(owners []*owner, text []byte) []string {
	var out []string
	for _, o := range owners {
		for _, p := range o.pats {
			if p != "" && bytes.Contains(text, []byte(p)) {
				out = append(out, o.id)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

func collect(m *Matcher[*owner], text []byte) []string {
	var out []string
	m.Each(text, func(o *owner) bool { out = append(out, o.id); return true })
	return out
}

func TestMatcherAgainstNaive(t *testing.T) {
	os := []*owner{
		{"a", []string{"he", "she"}},
		{"b", []string{"his", "hers"}},
		{"c", []string{"ushers"}},
		{"d", []string{"\x00\xff", "aaaa"}},
		{"e", nil},
	}
	m := New(os, patterns)
	f := func(text string) {
		t.Helper()
		got := collect(m, []byte(text))
		slices.Sort(got)
		if want := naiveEach(os, []byte(text)); !slices.Equal(got, want) {
			t.Errorf("Each(%q) = %v, want %v", text, got, want)
		}
	}
	for _, s := range []string{"", "ushers", "his hers", "xhex", "aaa", "aaaaa", "\x00\xff", "sh", "h"} {
		f(s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "ehirsua\x00\xff "
	for range 2000 {
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		f(string(b))
	}
	if got := m.Values(); len(got) != 4 || m.Len() != 7 {
		t.Errorf("Values() has %d, Len() = %d; want 4 values with 7 patterns", len(got), m.Len())
	}
}

func TestMatcherOrderAndStop(t *testing.T) {
	m := New([]*owner{{"a", []string{"alpha"}}, {"b", []string{"beta"}}}, patterns)
	if got := collect(m, []byte("beta alpha beta alpha")); !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("order = %v, want [b a] (order of first match in text)", got)
	}
	n := 0
	m.Each([]byte("beta alpha"), func(*owner) bool { n++; return false })
	if n != 1 {
		t.Errorf("fn called %d times after returning false, want 1", n)
	}
	var nilM *Matcher[*owner]
	nilM.Each([]byte("alpha"), func(*owner) bool { t.Error("nil matcher matched"); return true })
	if nilM.MaxLen() != 0 || m.MaxLen() != 5 {
		t.Errorf("MaxLen = %d, %d; want 0, 5", nilM.MaxLen(), m.MaxLen())
	}
}

// TestMatcherManyValues passes the inline seen-set (256 values).
func TestMatcherManyValues(t *testing.T) {
	var os []*owner
	var text strings.Builder
	for i := range 600 {
		id := "v" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strconv.Itoa(i)
		os = append(os, &owner{id, []string{"<" + id + ">"}})
		text.WriteString("<" + id + ">")
	}
	m := New(os, patterns)
	got := collect(m, []byte(text.String()+text.String()))
	if len(got) != 600 {
		t.Errorf("found %d values, want 600", len(got))
	}
	st := m.Start()
	n := 0
	st.Feed([]byte(text.String()), func(*owner) bool { n++; return true })
	st.Reset()
	st.Feed([]byte(text.String()), func(*owner) bool { n++; return true })
	if n != 1200 {
		t.Errorf("found %d values in two texts with a Reset between, want 1200", n)
	}
}

// FuzzMatcher compares Each with the naive search for any patterns (one a
// line of pats) and text, and Feed of the text in two chunks with Each.
func FuzzMatcher(f *testing.F) {
	f.Add("googletagmanager.com/gtm.js\nfbq('init'\nconnect.facebook.net", []byte("fbq('init', '1'); x.src='https://connect.facebook.net/en_US/fbevents.js'"), 5)
	f.Add("he\nshe\nhis\nhers", []byte("ushers"), 3)
	f.Add("aaaa\naa", []byte("aaaaaaa"), 2)
	f.Fuzz(func(t *testing.T, pats string, text []byte, split int) {
		if len(text) > 1<<16 || len(pats) > 1<<12 {
			return
		}
		var os []*owner
		for i, p := range strings.Split(pats, "\n") {
			os = append(os, &owner{strconv.Itoa(i), []string{p}})
		}
		m := New(os, patterns)
		got := collect(m, text)
		sorted := slices.Clone(got)
		slices.Sort(sorted)
		if want := naiveEach(os, text); !slices.Equal(sorted, want) {
			t.Fatalf("Each = %v, naive = %v", sorted, want)
		}
		if split < 0 || split > len(text) {
			split = len(text) / 2
		}
		var parts []string
		st := m.Start()
		for _, c := range [][]byte{text[:split], text[split:]} {
			st.Feed(c, func(o *owner) bool { parts = append(parts, o.id); return true })
		}
		if !slices.Equal(parts, got) {
			t.Fatalf("split at %d: %v, want %v", split, parts, got)
		}
	})
}
