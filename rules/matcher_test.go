package rules

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func collect(m *Matcher, text []byte) []string {
	var out []string
	m.Each(text, func(v *Vendor) bool { out = append(out, v.ID); return true })
	return out
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
	b.Logf("%d signatures, %d vendors, automaton %d KiB", m.Len(), len(m.Values()), m.MemSize()>>10)
}
