package rewrite

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// callWriter records each Write call.
type callWriter struct{ calls []string }

func (c *callWriter) Write(p []byte) (int, error) {
	c.calls = append(c.calls, string(p))
	return len(p), nil
}

// TestHoldBuf drives a holdBuf as the Writer does and checks what reaches
// the destination, write by write.
func TestHoldBuf(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(b *holdBuf)
		want []string
	}{{
		name: "pass through in one write per Write",
		run: func(b *holdBuf) {
			b.begin([]byte("<p>hello"))
			b.end()
			b.done()
			b.begin([]byte(" world</p>"))
			b.end()
			b.done()
		},
		want: []string{"<p>hello", " world</p>"},
	}, {
		name: "a region held across Writes, released",
		run: func(b *holdBuf) {
			b.begin([]byte("ab<img sr"))
			b.startHold(2)
			if !b.end() {
				t.Error("end: nothing held")
			}
			b.done()
			b.begin([]byte("c=x>cd"))
			if got := string(b.region(4)); got != "<img src=x>" {
				t.Errorf("region = %q", got)
			}
			b.release()
			b.end()
			b.done()
		},
		want: []string{"ab", "<img src=x>", "cd"},
	}, {
		name: "a region replaced",
		run: func(b *holdBuf) {
			b.begin([]byte("ab<img src=x>cd"))
			b.startHold(2)
			b.replace(13, []byte("[img]"))
			b.end()
		},
		want: []string{"ab", "[img]", "cd"},
	}, {
		name: "a region replaced by nothing, across Writes",
		run: func(b *holdBuf) {
			b.begin([]byte("ab<scr"))
			b.startHold(2)
			b.end()
			b.done()
			b.begin([]byte("ipt>x</script>cd"))
			b.replace(14, nil)
			b.end()
		},
		want: []string{"ab", "cd"},
	}, {
		name: "dropped output",
		run: func(b *holdBuf) {
			b.begin([]byte("ab<iframe>x</iframe>cd"))
			b.emitTo(2)
			b.drop = true
			b.emitTo(20)
			b.drop = false
			b.end()
		},
		want: []string{"ab", "cd"},
	}, {
		name: "a held copy edited in place",
		run: func(b *holdBuf) {
			b.begin([]byte("ab<i style=x>cd"))
			b.startHold(2)
			tag := b.own(13)
			copy(tag[3:], tag[10:])
			b.setLen(4)
			b.release()
			b.end()
		},
		want: []string{"ab", "<i >", "cd"},
	}, {
		name: "inserted bytes",
		run: func(b *holdBuf) {
			b.begin([]byte("<head><title>"))
			b.startHold(6)
			b.flush()
			b.insert([]byte("<script>stub</script>"))
			b.release()
			b.end()
		},
		want: []string{"<head>", "<script>stub</script>", "<title>"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var c callWriter
			var b holdBuf
			b.reset(&c)
			tc.run(&b)
			if strings.Join(c.calls, "|") != strings.Join(tc.want, "|") {
				t.Errorf("writes %q, want %q", c.calls, tc.want)
			}
		})
	}
}

// TestHoldBufOffsets checks off, at and origin against one another for a
// region that spans Writes.
func TestHoldBufOffsets(t *testing.T) {
	var b holdBuf
	b.reset(&callWriter{})
	b.begin([]byte("0123<567"))
	b.startHold(4)
	if b.off(6) != 2 || b.at(2) != 6 || b.origin() != 4 {
		t.Errorf("first Write: off(6) %d, at(2) %d, origin %d; want 2, 6, 4", b.off(6), b.at(2), b.origin())
	}
	b.end()
	b.done()
	b.begin([]byte("89>"))
	if b.off(1) != 5 || b.at(5) != 1 || b.at(0) != -4 || b.origin() != 4 {
		t.Errorf("second Write: off(1) %d, at(5) %d, at(0) %d, origin %d; want 5, 1, -4, 4", b.off(1), b.at(5), b.at(0), b.origin())
	}
	if got := string(b.region(3)); got != "<56789>" {
		t.Errorf("region %q", got)
	}
	b.keepFrom(3)
	if got := string(b.region(3)); got != "789>" || b.origin() != 7 {
		t.Errorf("after keepFrom(3): region %q, origin %d; want 789>, 7", got, b.origin())
	}
}

// TestHoldBufLarge: a region past smallHeld takes a pooled buffer, and the
// buffer goes back when the region ends, so the holdBuf keeps no more than
// smallHeld.
func TestHoldBufLarge(t *testing.T) {
	var out bytes.Buffer
	var b holdBuf
	b.reset(&out)
	chunk := bytes.Repeat([]byte("x"), 48<<10)
	b.begin([]byte("<script>"))
	b.startHold(0)
	b.end()
	b.done()
	for range 4 {
		b.begin(chunk)
		b.end()
		b.done()
	}
	if cap(b.held) <= smallHeld || b.heldBox == nil {
		t.Fatalf("held %d bytes in a buffer of %d, pooled %v: want a pooled one", len(b.held), cap(b.held), b.heldBox != nil)
	}
	b.begin(nil)
	b.release()
	if cap(b.held) > smallHeld || b.heldBox != nil {
		t.Errorf("after release: buffer of %d, pooled %v; want the own buffer back", cap(b.held), b.heldBox != nil)
	}
	if out.Len() != len("<script>")+4*len(chunk) {
		t.Errorf("%d bytes out, want %d", out.Len(), len("<script>")+4*len(chunk))
	}
}

// TestHoldBufError: the first error of the destination is kept and
// nothing more is written.
func TestHoldBufError(t *testing.T) {
	f := &failWriter{n: 1}
	var b holdBuf
	b.reset(f)
	b.begin([]byte("ab<i>cd"))
	b.emitTo(2)
	b.startHold(2)
	b.replace(5, []byte("[i]"))
	b.end()
	if !errors.Is(b.err, errBoom) || f.calls != 2 {
		t.Errorf("err %v after %d calls; want %v after 2", b.err, f.calls, errBoom)
	}
}
