package rewrite

import (
	"slices"
	"testing"
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
