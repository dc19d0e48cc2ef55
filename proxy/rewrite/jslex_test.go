package rewrite

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/tdewolff/parse/v2"
	"github.com/tdewolff/parse/v2/js"
)

// lexAll returns the tokens of src as "kind:text".
func lexAll(src string) []string {
	l := jsLexer{src: []byte(src)}
	var out []string
	for {
		t := l.next()
		if t.kind == tkEOF {
			return out
		}
		out = append(out, string("?INSTRPC"[t.kind])+":"+src[t.start:t.end])
	}
}

func TestJSLexer(t *testing.T) {
	f := func(src string, want ...string) {
		t.Helper()
		if got := lexAll(src); !slices.Equal(got, want) {
			t.Errorf("lex %q\n got %q\nwant %q", src, got, want)
		}
	}
	f(`var a = "x\"y", b='it\'s';`, "I:var", "I:a", "P:=", `S:"x\"y"`, "P:,", "I:b", "P:=", `S:'it\'s'`, "P:;")
	// Regular expressions and divisions.
	f(`x = a / b / c`, "I:x", "P:=", "I:a", "P:/", "I:b", "P:/", "I:c")
	f(`x = /ab+c/gi.test(y)`, "I:x", "P:=", "R:/ab+c/gi", "P:.", "I:test", "P:(", "I:y", "P:)")
	f(`return /[/]x/`, "I:return", "R:/[/]x/")
	f(`f(a)/2`, "I:f", "P:(", "I:a", "P:)", "P:/", "N:2")
	f(`if(a){b()}/^x/.test(c)`, "I:if", "P:(", "I:a", "P:)", "P:{", "I:b", "P:(", "P:)", "P:}", "R:/^x/", "P:.", "I:test", "P:(", "I:c", "P:)")
	f("a = b\n/c/", "I:a", "P:=", "I:b", "P:/", "I:c", "P:/")
	f("x = /unterminated\ny", "I:x", "P:=", "P:/", "I:unterminated", "I:y")
	f(`i++/2`, "I:i", "P:++", "P:/", "N:2")
	f(`x = "a/*b*/c" // d`, "I:x", "P:=", `S:"a/*b*/c"`, "C:// d")
	f("/* a\n b */x", "C:/* a\n b */", "I:x")
	// Template literals, nested.
	f("`a${b}c`", "T:`a${", "I:b", "T:}c`")
	f("`a${ {x:`y${z}`}.x }b`", "T:`a${", "P:{", "I:x", "P::", "T:`y${", "I:z", "T:}`", "P:}", "P:.", "I:x", "T:}b`")
	f("`//cdn.taboola.com/${x}/loader.js`", "T:`//cdn.taboola.com/${", "I:x", "T:}/loader.js`")
	// HTML-like comments (Annex B.1.1).
	f("<!-- hide\nx()\n--> done\ny", "C:<!-- hide", "I:x", "P:(", "P:)", "C:--> done", "I:y")
	f(`a-->b`, "I:a", "P:--", "P:>", "I:b")
	// Numbers, operators.
	f(`1.5e+3.toString()`, "N:1.5e+3.toString", "P:(", "P:)")
	f(`0x1e+1`, "N:0x1e", "P:+", "N:1")
	f(`a ??= b?.c ?? d`, "I:a", "P:??=", "I:b", "P:?.", "I:c", "P:??", "I:d")
	f(`a >>>= b === c`, "I:a", "P:>>>=", "I:b", "P:===", "I:c")
	f(`x = () => {}`, "I:x", "P:=", "P:(", "P:)", "P:=>", "P:{", "P:}")
	// An unterminated string ends at its line.
	f("'abc\nd", "S:'abc", "I:d")
	f("'a\\\nb'", "S:'a\\\nb'")
	f("'a\\", "S:'a\\")
	f("`a\\", "T:`a\\")
	// Non-ASCII white space and identifiers.
	f("a\u00a0b\u2028c", "I:a", "I:b", "I:c")
	f("café=1", "I:café", "P:=", "N:1")
}

// TestJSLexerAgainstParser lexes every executable inline script of the
// corpus that github.com/tdewolff/parse/v2/js parses, and checks that the
// lexer finds the same string literals and regular expressions as the
// parser: what a full parser knows about where a regular expression can
// stand is what the heuristic must get right on real scripts.
func TestJSLexerAgainstParser(t *testing.T) {
	if testing.Short() {
		t.Skip("parses the corpus")
	}
	pages := corpusPages(t)
	p := optOut(t, false)
	w := NewWriter(io.Discard, p)
	checked, skipped := 0, 0
	for name, page := range pages {
		w.Reset(io.Discard, p)
		w.Write(page)
		w.Close()
		for _, s := range w.Scripts() {
			if s.Decision == Data || s.Foreign || s.Content.End < 0 {
				continue
			}
			src := page[s.Content.Start:s.Content.End]
			ast, err := js.Parse(parse.NewInputBytes(src), js.Options{})
			if err != nil {
				skipped++
				continue
			}
			checked++
			var v litVisitor
			js.Walk(&v, ast)
			var strs, res []string
			l := jsLexer{src: src}
			for tk := l.next(); tk.kind != tkEOF; tk = l.next() {
				switch tk.kind {
				case tkStr:
					strs = append(strs, string(src[tk.start:tk.end]))
				case tkRegex:
					res = append(res, string(src[tk.start:tk.end]))
				}
			}
			for _, l := range [][]string{strs, res, v.strs, v.res} {
				slices.Sort(l)
			}
			// The parser drops the quotes of string property names: those
			// are the lexer's alone.
			if bad := minus(v.strs, strs); len(bad) > 0 || !slices.Equal(res, v.res) {
				t.Errorf("%s, script at %d: lexer and parser disagree\n strings the lexer missed: %q\n regexps, lexer only: %q\n regexps, parser only: %q",
					name, s.Tag.Start, clip(bad), clip(minus(res, v.res)), clip(minus(v.res, res)))
			}
		}
	}
	t.Logf("%d scripts compared, %d the parser rejects", checked, skipped)
	if checked < 1000 {
		t.Errorf("only %d scripts compared", checked)
	}
}

type litVisitor struct{ strs, res []string }

func (v *litVisitor) Enter(n js.INode) js.IVisitor {
	switch n := n.(type) {
	case *js.PropertyName:
		if n.Computed == nil {
			return nil
		}
	case *js.DirectivePrologueStmt:
		v.strs = append(v.strs, string(n.Value))
	case *js.LiteralExpr:
		switch n.TokenType {
		case js.StringToken:
			v.strs = append(v.strs, string(n.Data))
		case js.RegExpToken:
			v.res = append(v.res, string(n.Data))
		}
	}
	return v
}

func (v *litVisitor) Exit(js.INode) {}

// minus returns the elements of a (sorted) not matched in b (sorted).
func minus(a, b []string) []string {
	var out []string
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j < len(b) && b[j] == x {
			j++
			continue
		}
		out = append(out, x)
	}
	return out
}

func clip(s []string) []string {
	for i, x := range s {
		if len(x) > 60 {
			s[i] = x[:60] + "…"
		}
	}
	if len(s) > 5 {
		s = append(s[:5], strings.Repeat(".", 3))
	}
	return s
}

// corpusScripts returns the text of the executable inline scripts of the
// corpus.
func corpusScripts(tb testing.TB) [][]byte {
	tb.Helper()
	pages := corpusPages(tb)
	p := optOut(tb, false)
	w := NewWriter(io.Discard, p)
	var out [][]byte
	for _, page := range pages {
		w.Reset(io.Discard, p)
		w.Write(page)
		w.Close()
		for _, s := range w.Scripts() {
			if s.Decision != Data && s.Content.End >= 0 {
				out = append(out, page[s.Content.Start:s.Content.End])
			}
		}
	}
	return out
}

// BenchmarkJSLex compares the lexer with github.com/tdewolff/parse/v2/js's
// on the inline scripts of the corpus, driven the same way: every token,
// with the same choice between a regular expression and a division.
func BenchmarkJSLex(b *testing.B) {
	scripts := corpusScripts(b)
	n := 0
	for _, s := range scripts {
		n += len(s)
	}
	b.Run("hand", func(b *testing.B) {
		b.SetBytes(int64(n))
		b.ReportAllocs()
		toks := 0
		for b.Loop() {
			for _, s := range scripts {
				l := jsLexer{src: s}
				for t := l.next(); t.kind != tkEOF; t = l.next() {
					toks++
				}
			}
		}
	})
	b.Run("tdewolff", func(b *testing.B) {
		b.SetBytes(int64(n))
		b.ReportAllocs()
		toks := 0
		for b.Loop() {
			for _, s := range scripts {
				l := js.NewLexer(parse.NewInputBytes(s))
				prev := js.ErrorToken
				for {
					tt, _ := l.Next()
					if tt == js.ErrorToken {
						break
					}
					if (tt == js.DivToken || tt == js.DivEqToken) && tdRegexOK(prev) {
						tt, _ = l.RegExp()
						if tt == js.ErrorToken {
							break
						}
					}
					if tt != js.WhitespaceToken && tt != js.LineTerminatorToken && tt != js.CommentToken {
						prev = tt
					}
					toks++
				}
			}
		}
	})
}

// tdRegexOK is the lexer's choice between a regular expression and a
// division (regexOK), for the tdewolff tokens.
func tdRegexOK(prev js.TokenType) bool {
	switch {
	case prev == js.ErrorToken:
		return true
	case prev == js.CloseParenToken || prev == js.CloseBracketToken || prev == js.IncrToken || prev == js.DecrToken:
		return false
	case prev == js.IdentifierToken || prev == js.StringToken || prev == js.RegExpToken || prev == js.TemplateToken || prev == js.TemplateEndToken || js.IsNumeric(prev):
		return false
	}
	return true
}

// FuzzJSLexer checks that the tokens of any text are in order, not empty,
// within the text, and that only white space lies between them.
func FuzzJSLexer(f *testing.F) {
	for _, s := range []string{"var a = 'x';", "x = /re/g.test(`a${b}c`) // c", "<!-- a\n--> b", "'\\", "`${", "a\u00a0b\u2028c/*\n*/", "}`", "/[/]/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		l := jsLexer{src: []byte(src)}
		prev := 0
		for n := 0; ; n++ {
			tk := l.next()
			if tk.start < prev || tk.end < tk.start || tk.end > len(src) {
				t.Fatalf("token %d at [%d,%d) after %d in %q", n, tk.start, tk.end, prev, src)
			}
			gap := []byte(src[prev:tk.start])
			for i := 0; i < len(gap); {
				if jclass[gap[i]]&(jcSpace|jcLine) != 0 {
					i++
					continue
				}
				if !jsSpaceAt(gap, i) {
					t.Fatalf("%q between tokens of %q", gap, src)
				}
				i += 2 + int(gap[i]>>5&1)
			}
			if tk.kind == tkEOF {
				if tk.start != len(src) {
					t.Fatalf("EOF at %d of %d in %q", tk.start, len(src), src)
				}
				return
			}
			if tk.end == tk.start {
				t.Fatalf("empty token %d at %d in %q", tk.kind, tk.start, src)
			}
			prev = tk.end
		}
	})
}
