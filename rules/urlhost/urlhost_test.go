package urlhost

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// form is a line of testdata/forms.txt.
type form struct{ in, host, vendor string }

// readForms reads testdata/forms.txt (see its header).
func readForms(t testing.TB) []form {
	t.Helper()
	f, err := os.Open("testdata/forms.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []form
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if l := sc.Text(); l != "" && l[0] != '#' {
			var c form
			if _, err := fmt.Sscanf(l, "%q %q %q", &c.in, &c.host, &c.vendor); err != nil {
				t.Fatalf("testdata/forms.txt: %q: %v", l, err)
			}
			out = append(out, c)
		}
	}
	return out
}

func TestFind(t *testing.T) {
	forms := readForms(t)
	if len(forms) < 50 {
		t.Fatalf("%d forms, want at least 50", len(forms))
	}
	for _, c := range forms {
		got := Find([]byte(c.in))
		if c.host == "-" {
			if got != nil {
				t.Errorf("Find(%q) = %q, want nil", c.in, got)
			}
			continue
		}
		if got == nil || string(got) != c.host {
			t.Errorf("Find(%q) = %q, want %q", c.in, got, c.host)
		}
	}
}

func TestCanonical(t *testing.T) {
	f := func(host, want string) {
		t.Helper()
		var buf Buf
		got := buf.Canonical([]byte(host))
		if want == "-" {
			if got != nil {
				t.Errorf("Canonical(%.40q) = %q, want nil", host, got)
			}
			return
		}
		if string(got) != want {
			t.Errorf("Canonical(%.40q) = %q, want %q", host, got, want)
		}
	}
	f("WWW.Shop.Example:8443", "www.shop.example")
	f("www.facebook.com.", "www.facebook.com")
	f("www。facebook。com", "www.facebook.com")
	f("ｗｗｗ.ｆａｃｅｂｏｏｋ.ｃｏｍ", "www.facebook.com")
	f("www.f%61cebook.com", "www.facebook.com")
	f("www%2Efacebook%2ecom", "www.facebook.com")
	f("face\u00adbook.com", "facebook.com")
	f("bücher.example", "xn--bcher-kva.example")
	f("www.face\u200dbook.com", "-")
	f("www.facebook.com%2F", "-")
	f("www.facebook.com\xff", "-")
	f("[2001:db8::1]:443", "-")
	f("", "-")
	f(strings.Repeat("a", 254), "-")
	f(strings.Repeat("a", 253), strings.Repeat("a", 253))
	f("www.face"+strings.Repeat("\u00ad", 2000)+"book.com", "www.facebook.com")
}

// TestCanonicalEscapedASCIIDoesNotAllocate: only a host with a byte >=
// 0x80 may allocate; an ASCII one written with escapes is decoded on the
// stack.
func TestCanonicalEscapedASCIIDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, h := range []string{"www.f%61cebook.com", "WWW%2EFACEBOOK.COM.", "www.facebook.com%2F", strings.Repeat("%61", 400)} {
		b := []byte(h)
		if n := testing.AllocsPerRun(100, func() {
			var buf Buf
			sinkLen = len(buf.Canonical(b))
		}); n != 0 {
			t.Errorf("Canonical(%.40q): %v allocs per run, want 0", h, n)
		}
	}
}

var sinkLen int

func TestNormalise(t *testing.T) {
	f := func(in, want, wantErr string) {
		t.Helper()
		got, err := NormaliseEntry(in)
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("NormaliseEntry(%q) = %q, %v; want an error with %q", in, got, err, wantErr)
			}
			return
		}
		if err != nil || got != want {
			t.Errorf("NormaliseEntry(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	f(" Doubleclick.NET. ", "doubleclick.net", "")
	f("x_y.example.com", "x_y.example.com", "")
	f("", "", "empty host")
	f("a..example.com", "", "empty label")
	f("exa mple.com", "", "not a host name")
	f("co.uk", "", "public suffix")
	f("github.io", "", "public suffix")
	f(strings.Repeat("a.", 32)+"com", "", "more than 32 labels")
}

// FuzzCanonical feeds arbitrary URLs and hosts to Find and Canonical: no
// panic, a host that Find returns is a part of its input, and a canonical
// host that is nil or ASCII, lower-case and at most MaxLen bytes (an ASCII
// host is only lower-cased: garbage stays garbage and matches no table
// entry, as entries are validated host names).
func FuzzCanonical(f *testing.F) {
	for _, c := range readForms(f) {
		f.Add(c.in)
	}
	f.Add("www.FACEBOOK.com.:8443")
	f.Add("xn--www-8m7a.facebook.com")
	f.Fuzz(func(t *testing.T, in string) {
		u := []byte(in)
		if h := Find(u); h != nil && !strings.Contains(in, string(h)) {
			t.Fatalf("Find(%q) = %q, not a part of its input", in, h)
		}
		var buf Buf
		c := buf.Canonical(u)
		if len(c) > MaxLen {
			t.Fatalf("Canonical(%q) = %q: %d bytes", in, c, len(c))
		}
		for _, b := range c {
			if b >= 0x80 || 'A' <= b && b <= 'Z' {
				t.Fatalf("Canonical(%q) = %q: byte %q", in, c, b)
			}
		}
	})
}
