package rewrite

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// xnetEnd returns the length of the first token x/net/html reads from s.
func xnetEnd(s string) int {
	z := html.NewTokenizer(strings.NewReader(s))
	z.Next()
	return len(z.Raw())
}

// markupEnd runs the tokenizer's markup declaration and comment states
// over s, which starts with "<!", given a byte at a time when bytewise,
// and returns where the comment (or CDATA section, or bogus comment)
// ends, or -1.
func markupEnd(s string, foreign, bytewise bool) int {
	t := tokenizer{st: sMarkupDecl}
	in := []byte(s)
	for i := 2; i < len(in); {
		lim := len(in)
		if bytewise {
			lim = i + 1
		}
		switch t.st {
		case sMarkupDecl:
			i += t.markupDecl(in[i], foreign)
		case sComment, sCDATA:
			i = t.comment(in[:lim], i)
		case sBogusComment:
			j := bytes.IndexByte(in[i:], '>')
			if j < 0 {
				return -1
			}
			t.st = sText
			i += j + 1
		}
		if t.st == sText {
			return i
		}
	}
	return -1
}

// TestTokenizerComment: a comment ends where x/net/html (the HTML
// tokenizer) ends it, whether it comes whole or a byte at a time; CDATA
// sections are read in foreign content only.
func TestTokenizerComment(t *testing.T) {
	for _, c := range []string{
		"<!---->x", "<!-->x", "<!--->x", "<!-- a -->x", "<!-- a --!>x", "<!-- a -- >-->x",
		"<!-- -> --->x", "<!--->-->x", "<!-- <!-- -->x", "<!-- a ->x-->", "<!--!>-->x",
		"<!-- ]]> -->x", "<!-x>", "<!DOCTYPE html>x", "<![CDATA[ > ]]>x", "<!-->-->x",
		"<!-- a --!->-->x", "<!-- a ---->x", "<!-- a --->x", "<!---!>-->x",
	} {
		want := xnetEnd(c)
		for _, bytewise := range []bool{false, true} {
			if got := markupEnd(c, false, bytewise); got != want {
				t.Errorf("%q (bytewise %v): comment ends at %d, want %d", c, bytewise, got, want)
			}
		}
	}
	for _, c := range []struct {
		in   string
		want int
	}{
		{"<![CDATA[ > ]]>x", 15},
		{"<![CDATA[ ]] > ]>]]]>x", 21},
		{"<![CDAT[ > ]]>x", 10}, // a bogus comment
		{"<![CDATA[ ]]", -1},
	} {
		for _, bytewise := range []bool{false, true} {
			if got := markupEnd(c.in, true, bytewise); got != c.want {
				t.Errorf("%q in SVG (bytewise %v): ends at %d, want %d", c.in, bytewise, got, c.want)
			}
		}
	}
}

// escFragments are the pieces of script data that move the tokenizer
// between its escaped and double-escaped states.
var escFragments = []string{
	"<!--", "-->", "--", "-", "<", ">", "/", "<script>", "<script ", "<SCRIPT/", "</script ",
	"</scripts>", "<scrip>", "</script/", "a", " ", "<!", "<!-", "--!>", "</", "<s", "</style>",
}

// TestTokenizerScriptEnd: inline script content ends where x/net/html ends
// it, through "<!--" and "<script>" in its text (the escaped and
// double-escaped states), for bodies built from escFragments, given
// whole and a byte at a time.
func TestTokenizerScriptEnd(t *testing.T) {
	bodies := []string{
		"", "a", "<!-- <script> </script> -->", "<!-- <script> -->", "<!-- <script> --> </script>",
		"<!--<script></script>", "<!-- </script", "<!--><script>", "<!-- -- > <script>x</script -->",
	}
	r := rand.New(rand.NewPCG(17, 14))
	for range 400 {
		var b strings.Builder
		for range 1 + r.IntN(8) {
			b.WriteString(escFragments[r.IntN(len(escFragments))])
		}
		bodies = append(bodies, b.String())
	}
	p := optOut(t, false)
	for _, body := range bodies {
		if xnetDeviates(body) {
			continue
		}
		page := "<script>" + body + "</script><p>"
		z := html.NewTokenizer(strings.NewReader(page))
		z.Next() // <script>
		want := int64(len("<script>"))
		if z.Next() == html.TextToken {
			want += int64(len(z.Raw()))
		}
		for _, step := range []int{len(page), 1} {
			w := NewWriter(&bytes.Buffer{}, p)
			for i := 0; i < len(page); i += step {
				w.Write([]byte(page[i:min(i+step, len(page))]))
			}
			w.Close()
			s := w.Scripts()
			if len(s) == 0 {
				t.Errorf("%q: no script recorded", page)
				continue
			}
			if got := s[0].Content.End; got != want {
				t.Errorf("%q (writes of %d): script content ends at %d, want %d", page, step, got, want)
			}
		}
	}
}

// xnetDeviates reports whether body has, after a "<!--", a '<' followed
// by neither '/' nor a letter. In the escaped state the HTML tokenizer
// reconsumes such a byte in the escaped state (script data escaped
// less-than sign state, "anything else"); x/net/html goes back to script
// data, so it is no reference there. TestTokenizerEscaped covers it.
func xnetDeviates(body string) bool {
	i := strings.Index(body, "<!--")
	if i < 0 {
		return false
	}
	s := body[i+4:]
	for j := 0; j < len(s); j++ {
		if s[j] == '<' && (j+1 == len(s) || s[j+1] != '/' && !isAlpha(s[j+1])) {
			return j+1 < len(s) // the last '<' is followed by "</script>"
		}
	}
	return false
}

// TestTokenizerEscaped: the escaped states one byte at a time, against the
// HTML tokenizer's transitions.
func TestTokenizerEscaped(t *testing.T) {
	for _, c := range []struct {
		from sstate
		c    byte
		to   sstate
		n    int
		lt   bool
	}{
		{rEscStart, '-', rEscStartDash, 1, false},
		{rEscStart, 'x', rData, 0, false},
		{rEscStartDash, '-', rEscDashDash, 1, false},
		{rEscStartDash, 'x', rData, 0, false},
		{rEsc, '-', rEscDash, 1, false},
		{rEsc, '<', rEscLt, 1, true},
		{rEsc, '>', rEsc, 1, false},
		{rEscDash, '-', rEscDashDash, 1, false},
		{rEscDash, 'x', rEsc, 1, false},
		{rEscDashDash, '-', rEscDashDash, 1, false},
		{rEscDashDash, '>', rData, 1, false},
		{rEscDashDash, '<', rEscLt, 1, true},
		{rEscLt, '/', rEndName, 1, false},
		{rEscLt, 's', rDblStart, 0, false},
		{rEscLt, '!', rEsc, 0, false},
		{rDbl, '-', rDblDash, 1, false},
		{rDbl, '<', rDblLt, 1, false},
		{rDblDash, '-', rDblDashDash, 1, false},
		{rDblDash, 'x', rDbl, 1, false},
		{rDblDashDash, '>', rData, 1, false},
		{rDblDashDash, '-', rDblDashDash, 1, false},
		{rDblLt, '/', rDblEnd, 1, false},
		{rDblLt, 'x', rDbl, 0, false},
		{rDblStart, 'x', rDblStart, 1, false},
		{rDblStart, ' ', rEsc, 1, false}, // no name: not "script"
		{rDblStart, '!', rEsc, 0, false},
		{rDblEnd, '>', rDbl, 1, false},
		{rDblEnd, '!', rDbl, 0, false},
	} {
		tk := tokenizer{ss: c.from}
		n, lt := tk.escaped(c.c)
		if tk.ss != c.to || n != c.n || lt != c.lt {
			t.Errorf("state %d, %q: state %d, consumed %d, lt %v; want %d, %d, %v", c.from, c.c, tk.ss, n, lt, c.to, c.n, c.lt)
		}
	}
	for _, c := range []struct {
		from sstate
		name string
		to   sstate
	}{
		{rDblStart, "script", rDbl}, {rDblStart, "SCRIPT", rDbl}, {rDblStart, "scripts", rEsc},
		{rDblEnd, "script", rEsc}, {rDblEnd, "scrip", rDbl},
	} {
		tk := tokenizer{ss: c.from}
		for i := range len(c.name) {
			if n, _ := tk.escaped(c.name[i]); n != 1 {
				t.Fatalf("%q: name byte %q not consumed", c.name, c.name[i])
			}
		}
		if tk.escaped('>'); tk.ss != c.to {
			t.Errorf("state %d, %q then '>': state %d, want %d", c.from, c.name, tk.ss, c.to)
		}
	}
}

// TestSkipAttrs: where skipAttrs finds the end of a tag, it is where
// x/net/html ends it, self-closing alike; tags of the usual shape are
// read, the others (unquoted values, style, a cut) left to the attribute
// states.
func TestSkipAttrs(t *testing.T) {
	frags := []string{
		` a="x"`, ` b='y>'`, `/`, ` c`, ` = `, `="q"`, ` d=e`, ` style="s"`, "\t", `"`, `'`, `>`, `x`,
		` STYLE='a'`, ` e = "f"`, ` g="h"i='j'`, ` styles="k"`, ` /`, `=`, ` l=`, ` m= '>'`, "\n",
	}
	for _, c := range []struct {
		tag string
		end int
		sc  bool
	}{
		{`<div class="a b" id='c'>`, 23, false},
		{`<use href="#i"/>`, 15, true},
		{`<div hidden data-x = "1" / >`, 27, false},
		{`<div a="1"b="2">`, 15, false},
		{`<div a=1>`, -1, false},
		{`<div style="x">`, -1, false},
		{`<div a="x`, -1, false},
		{`<div a=>`, -1, false},
		{`<div =a>`, -1, false},
	} {
		end, sc := skipAttrs([]byte(c.tag), 4, false)
		if end != c.end || sc != c.sc {
			t.Errorf("%s: ends at %d, self-closing %v; want %d, %v", c.tag, end, sc, c.end, c.sc)
		}
	}
	if end, _ := skipAttrs([]byte(`<a href="/" PING="/p">`), 2, true); end != -1 {
		t.Errorf("a link with ping: skipAttrs ends it at %d, want -1", end)
	}
	if end, _ := skipAttrs([]byte(`<a href="/" pings="/p">`), 2, true); end != 22 {
		t.Errorf("a link without ping: skipAttrs ends it at %d, want 22", end)
	}
	r := rand.New(rand.NewPCG(17, 17))
	read := 0
	for range 3000 {
		var b strings.Builder
		b.WriteString("<div")
		for range 1 + r.IntN(6) {
			b.WriteString(frags[r.IntN(len(frags))])
		}
		b.WriteString(">z")
		tag := b.String()
		end, sc := skipAttrs([]byte(tag), 4, false)
		if end < 0 {
			continue
		}
		read++
		z := html.NewTokenizer(strings.NewReader(tag))
		tt := z.Next()
		if want := len(z.Raw()) - 1; end != want || sc != (tt == html.SelfClosingTagToken) {
			t.Errorf("%q: ends at %d, self-closing %v; x/net/html: %d, %v", tag, end, sc, want, tt == html.SelfClosingTagToken)
		}
	}
	if read < 300 {
		t.Errorf("skipAttrs read %d of 3000 random tags", read)
	}
}
