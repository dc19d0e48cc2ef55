package rules

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// naiveEach is the reference: every vendor with a signature in text.
func naiveEach(vendors []*Vendor, text []byte) []string {
	var out []string
	for _, v := range vendors {
		for _, s := range v.Signatures {
			if s != "" && bytes.Contains(text, []byte(s)) {
				out = append(out, v.ID)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

func collect(m *Matcher, text []byte) []string {
	var out []string
	m.Each(text, func(v *Vendor) bool { out = append(out, v.ID); return true })
	return out
}

func TestMatcherAgainstNaive(t *testing.T) {
	vs := []*Vendor{
		{ID: "a", Signatures: []string{"he", "she"}},
		{ID: "b", Signatures: []string{"his", "hers"}},
		{ID: "c", Signatures: []string{"ushers"}},
		{ID: "d", Signatures: []string{"\x00\xff", "aaaa"}},
		{ID: "e"},
	}
	m := NewMatcher(vs)
	f := func(text string) {
		t.Helper()
		got := collect(m, []byte(text))
		slices.Sort(got)
		if want := naiveEach(vs, []byte(text)); !slices.Equal(got, want) {
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
}

func TestMatcherOrderAndStop(t *testing.T) {
	vs := []*Vendor{{ID: "a", Signatures: []string{"alpha"}}, {ID: "b", Signatures: []string{"beta"}}}
	m := NewMatcher(vs)
	if got := collect(m, []byte("beta alpha beta alpha")); !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("order = %v, want [b a] (order of first match in text)", got)
	}
	n := 0
	m.Each([]byte("beta alpha"), func(*Vendor) bool { n++; return false })
	if n != 1 {
		t.Errorf("fn called %d times after returning false, want 1", n)
	}
	var nilM *Matcher
	nilM.Each([]byte("alpha"), func(*Vendor) bool { t.Error("nil matcher matched"); return true })
	if nilM.MaxLen() != 0 || m.MaxLen() != 5 {
		t.Errorf("MaxLen = %d, %d; want 0, 5", nilM.MaxLen(), m.MaxLen())
	}
}

// TestMatchStateSplits feeds a real snippet split at every offset, and one
// byte at a time, and wants what one Each call finds.
func TestMatchStateSplits(t *testing.T) {
	s := testSet(t)
	m := s.Signatures()
	text := []byte(gtmSnippet + fbSnippet)
	want := collect(m, text)
	if len(want) < 2 {
		t.Fatalf("snippets found %v, want several vendors", want)
	}
	feed := func(chunks ...[]byte) []string {
		var got []string
		st := m.Start()
		for _, c := range chunks {
			st.Feed(c, func(v *Vendor) bool { got = append(got, v.ID); return true })
		}
		return got
	}
	for i := 0; i <= len(text); i++ {
		if got := feed(text[:i], text[i:]); !slices.Equal(got, want) {
			t.Fatalf("split at %d: %v, want %v", i, got, want)
		}
	}
	var ones [][]byte
	for i := range text {
		ones = append(ones, text[i:i+1])
	}
	if got := feed(ones...); !slices.Equal(got, want) {
		t.Errorf("1-byte chunks: %v, want %v", got, want)
	}
	st := m.Start()
	st.Feed(text, func(*Vendor) bool { return true })
	st.Reset()
	n := 0
	st.Feed(text, func(*Vendor) bool { n++; return true })
	if n != len(want) {
		t.Errorf("after Reset found %d, want %d", n, len(want))
	}
}

// TestMatcherManyVendors passes the inline seen-set (256 vendors).
func TestMatcherManyVendors(t *testing.T) {
	var vs []*Vendor
	var text strings.Builder
	for i := range 600 {
		id := "v" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + itoa(i)
		vs = append(vs, &Vendor{ID: id, Signatures: []string{"<" + id + ">"}})
		text.WriteString("<" + id + ">")
	}
	m := NewMatcher(vs)
	got := collect(m, []byte(text.String()+text.String()))
	if len(got) != 600 {
		t.Errorf("found %d vendors, want 600", len(got))
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func FuzzMatcher(f *testing.F) {
	f.Add([]byte(gtmSnippet), 5)
	f.Add([]byte("fbq('init', '1');"), 3)
	vs, err := Catalogue()
	if err != nil {
		f.Fatal(err)
	}
	m := NewMatcher(vs)
	f.Fuzz(func(t *testing.T, text []byte, split int) {
		if len(text) > 1<<16 {
			return
		}
		got := collect(m, text)
		sorted := slices.Clone(got)
		slices.Sort(sorted)
		if want := naiveEach(vs, text); !slices.Equal(sorted, want) {
			t.Fatalf("Each = %v, naive = %v", sorted, want)
		}
		if split < 0 || split > len(text) {
			split = len(text) / 2
		}
		var parts []string
		st := m.Start()
		for _, c := range [][]byte{text[:split], text[split:]} {
			st.Feed(c, func(v *Vendor) bool { parts = append(parts, v.ID); return true })
		}
		if !slices.Equal(parts, got) {
			t.Fatalf("split at %d: %v, want %v", split, parts, got)
		}
	})
}

const gtmSnippet = `<!-- Google Tag Manager -->
(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':
new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],
j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=
'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-XXXX');
`

const fbSnippet = `!function(f,b,e,v,n,t,s)
{if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};
if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';
n.queue=[];t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];
s.parentNode.insertBefore(t,s)}(window, document,'script',
'https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '123456789');
fbq('track', 'PageView');
`

// benchScript is an inline script of ordinary application code with one
// vendor snippet at the end: the common case is scanning bytes that match
// nothing.
func benchScript() []byte {
	var b strings.Builder
	for b.Len() < 16<<10 {
		b.WriteString(`function render(items){var out=[];for(var i=0;i<items.length;i++){out.push("<li class=\"item\">"+items[i].title+"</li>")}document.getElementById("list").innerHTML=out.join("");}` + "\n")
	}
	b.WriteString(fbSnippet)
	return []byte(b.String())
}

func BenchmarkMatcher(b *testing.B) {
	vs, err := Catalogue()
	if err != nil {
		b.Fatal(err)
	}
	m := NewMatcher(vs)
	text := benchScript()
	b.Run("aho-corasick", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(text)))
		fn := func(*Vendor) bool { return true }
		for b.Loop() {
			m.Each(text, fn)
		}
	})
	b.Run("naive", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(text)))
		pats := make([][]byte, 0, 512)
		for _, v := range vs {
			for _, s := range v.Signatures {
				pats = append(pats, []byte(s))
			}
		}
		for b.Loop() {
			for _, p := range pats {
				bytes.Contains(text, p)
			}
		}
	})
	b.Logf("%d signatures, %d vendors, automaton %d KiB", m.Len(), len(m.Vendors()), m.MemSize()>>10)
}
