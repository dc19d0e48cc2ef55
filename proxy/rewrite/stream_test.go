package rewrite

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

var errBoom = errors.New("boom")

// failWriter fails at write number n (from 0) and at every write after.
type failWriter struct {
	n, calls int
}

func (f *failWriter) Write(p []byte) (int, error) {
	f.calls++
	if f.calls > f.n {
		return 0, errBoom
	}
	return len(p), nil
}

// TestWriterErrors fails the destination at each of its writes, for every
// page written whole and in small parts: the error comes back, from Write or
// Close, and nothing panics or hangs.
func TestWriterErrors(t *testing.T) {
	for _, pg := range pages(t) {
		for _, chunk := range []int{len(pg.in), 97} {
			var count failWriter
			count.n = 1 << 30
			run := func(dst *failWriter) error {
				w := NewWriter(dst, pg.p)
				for i := 0; i < len(pg.in); i += chunk {
					if _, err := w.Write(pg.in[i:min(len(pg.in), i+chunk)]); err != nil {
						if _, err2 := w.Write([]byte("x")); err2 != err {
							t.Fatalf("%s: Write after error returned %v, want %v", pg.name, err2, err)
						}
						if err2 := w.Close(); err2 != err {
							t.Fatalf("%s: Close after error returned %v, want %v", pg.name, err2, err)
						}
						return err
					}
				}
				return w.Close()
			}
			if err := run(&count); err != nil {
				t.Fatal(err)
			}
			step := max(1, count.calls/200)
			for n := 0; n < count.calls; n += step {
				if err := run(&failWriter{n: n}); !errors.Is(err, errBoom) {
					t.Fatalf("%s, chunk %d: destination failing at write %d: got %v, want %v", pg.name, chunk, n, err, errBoom)
				}
			}
		}
	}
}

func TestWriteAfterClose(t *testing.T) {
	w := NewWriter(&bytes.Buffer{}, optOut(t, true))
	w.Close()
	if _, err := w.Write([]byte("<p>")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: got %v, want ErrClosed", err)
	}
}

// FuzzRewrite feeds random HTML in random parts: no panic, the output does
// not depend on the split, and it holds only bytes of the input besides
// the stub and the neutralising attributes.
func FuzzRewrite(f *testing.F) {
	for _, pg := range pages(f) {
		if len(pg.in) < 16<<10 {
			f.Add(pg.in, uint64(len(pg.in)), false)
		}
	}
	f.Add([]byte(`<scr<script src=//doubleclick.net/x></script><!--<script>`), uint64(1), true)
	f.Add([]byte(`<svg><![CDATA[<img src=//facebook.com/tr>]]><script href="https://www.googletagmanager.com/x"/></svg>`), uint64(2), false)
	f.Add([]byte(`<script><!--<script>gtag('config','x')</script>--></script><a ping="//google-analytics.com/c">`), uint64(3), true)
	f.Add([]byte(`<style>@import url("//www.facebook.com/a.css") print;b{background:image-set("https:\2f \2fwww.facebook.com/x" 1x,url( '//connect.facebook.net/y' ))}/* url(//facebook.com/z) */</style><p>`), uint64(4), false)
	f.Add([]byte(`<style>b{content:"</style>"}x{background:url(//www.facebook.com/tr</stylex>)}</style><style>@import '//www.facebook.com/b.css`), uint64(5), true)
	f.Add([]byte(`<amp-youtube width=5 height=3 layout=responsive></template><template></amp-youtube></template><iframe src=//youtube.com/embed/x>`), uint64(6), false)
	f.Add([]byte(`<iframe width=560 height=315 style="height:1px" src="https://www.youtube.com/embed/a"></template></iframe></amp-youtube><amp-twitter data-tweetid=1></TEMPLATE`), uint64(7), false)
	w1, w2 := NewWriter(nil, Policy{}), NewWriter(nil, Policy{})
	f.Fuzz(func(t *testing.T, in []byte, seed uint64, neutralise bool) {
		if len(in) > 1<<16 {
			return
		}
		p := optOut(t, seed&1 == 0)
		if neutralise {
			p = neutral(t, seed&1 == 0)
		}
		if seed&2 != 0 {
			p.Placeholders, p.Guard = testPlaceholders, seed&4 != 0
		}
		if seed&8 != 0 {
			p.Tail = []byte(`<div class="tail">notice</div>`)
		}
		want := append([]byte(nil), rewriteSplit(t, w1, in, p, nil)...)
		rng := rand.New(rand.NewPCG(seed, 1))
		var cuts []int
		for c := 0; len(in) > 0; {
			c += 1 + rng.IntN(1+rng.IntN(64))
			if c >= len(in) {
				break
			}
			cuts = append(cuts, c)
		}
		got := rewriteSplit(t, w2, in, p, cuts)
		if !bytes.Equal(got, want) {
			t.Fatalf("split at %v: output differs from whole input\n%s", cuts, firstDiff(got, want))
		}
		if bad := notFromInput(want, in, p); bad != "" {
			t.Fatal(bad)
		}
		if w1.Changed() != !bytes.Equal(want, in) {
			t.Fatalf("Changed() = %v, output equal to input %v", w1.Changed(), bytes.Equal(want, in))
		}
	})
}
