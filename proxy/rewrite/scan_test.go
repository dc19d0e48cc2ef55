package rewrite

import (
	"bytes"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules/urlhost"
)

// TestWordScans compares the word-at-a-time scans with byte loops, for
// every byte value at every position of short inputs.
func TestWordScans(t *testing.T) {
	ref := func(in []byte, i int, stop uint8) int {
		for i < len(in) && class[in[i]]&stop == 0 {
			i++
		}
		return i
	}
	for n := 0; n <= 20; n++ {
		for p := 0; p < max(n, 1); p++ {
			for c := 0; c < 256; c++ {
				in := bytes.Repeat([]byte{'a'}, n)
				if p < n {
					in[p] = byte(c)
				}
				for i := 0; i <= n; i++ {
					if got, want := nameEnd(in, i), ref(in, i, cNameEnd); got != want {
						t.Fatalf("nameEnd(%q, %d) = %d, want %d", in, i, got, want)
					}
					if got, want := attrNameEnd(in, i), ref(in, i, cAttrEnd); got != want {
						t.Fatalf("attrNameEnd(%q, %d) = %d, want %d", in, i, got, want)
					}
					if got := urlEnd(in, i); got < i || got > n || !urlStop(in, i, got) {
						t.Fatalf("urlEnd(%q, %d) = %d skips white space or a byte clean changes", in, i, got)
					}
					for _, q := range []byte{'"', '\''} {
						if got, want := quote(in[i:], q), bytes.IndexByte(in[i:], q); got != want {
							t.Fatalf("quote(%q, %q) = %d, want %d", in[i:], q, got, want)
						}
					}
				}
			}
		}
	}
}

// urlStop reports whether urlEnd may skip in[i:j]: no byte there is white
// space or one that clean changes in a list.
func urlStop(in []byte, i, j int) bool {
	for _, c := range in[i:j] {
		if uclass[c]&(uSpace|uRef) != 0 {
			return false
		}
	}
	return true
}

func TestLookup(t *testing.T) {
	for e := elScript; int(e) < len(elemNames); e++ {
		n := elemNames[e]
		for _, s := range []string{n, strings.ToUpper(n), strings.ToUpper(n[:1]) + n[1:]} {
			if got := lookupElem([]byte(s)); got != e {
				t.Errorf("lookupElem(%q) = %v, want %v", s, got, e)
			}
		}
		for _, s := range []string{n[:len(n)-1], n + "x", n[:len(n)-1] + string(n[len(n)-1]^0x20^0x40)} {
			if got := lookupElem([]byte(s)); got != elOther {
				t.Errorf("lookupElem(%q) = %v, want elOther", s, got)
			}
		}
	}
	for k := aSrc; int(k) < len(attrNames); k++ {
		n := attrNames[k]
		for _, s := range []string{n, strings.ToUpper(n)} {
			if got := lookupAttr([]byte(s)); got != k {
				t.Errorf("lookupAttr(%q) = %v, want %v", s, got, k)
			}
		}
	}
	for _, s := range []string{"", "s", "sr", "classes", "data_src", "xlink\x1ahref", "data\rsrc", "srcsetx", "decoding"} {
		if got := lookupAttr([]byte(s)); got != aOther {
			t.Errorf("lookupAttr(%q) = %v, want aOther", s, got)
		}
	}
}

// TestURLHostPrefix checks what the host cache relies on: urlhost.Find
// reads nothing past the '/' that ends the host, so URLs that agree up to
// there have the same host.
func TestURLHostPrefix(t *testing.T) {
	for _, p := range []string{
		"https://cdn.example.com", "http://a.b", "//www.googletagmanager.com", "HTTPS://X.Y",
		"https://user:pw@host.example", "https://[::1]", "host.example.com", " https://a.example",
		"https://a.example:8080", "https://a.example?", "https:a.example",
	} {
		u := []byte(p + "/")
		h := string(urlhost.Find(u))
		for _, x := range []string{"", "x", "@evil.example", ":80", "\\x", "a?b#c", "  ", "/", "%2e"} {
			if got := string(urlhost.Find([]byte(p + "/" + x))); got != h {
				t.Errorf("Find(%q) = %q, Find(%q) = %q", p+"/"+x, got, u, h)
			}
		}
	}
}
