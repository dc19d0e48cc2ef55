package coding

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

func TestOf(t *testing.T) {
	for in, want := range map[string]Encoding{
		"": Identity, " identity ": Identity, "gzip": Gzip, "X-GZIP": Gzip, "br": Brotli, "zstd": Zstd,
		"Deflate": Deflate, "compress": Unknown, "gzip, br": Unknown, "gzip;q=1": Unknown, "aes128gcm": Unknown,
	} {
		if got := Of([]byte(in)); got != want {
			t.Errorf("Of(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestAccepted(t *testing.T) {
	I, G, B, Z, D := Identity, Gzip, Brotli, Zstd, Deflate
	for _, c := range []struct {
		ae   string
		want Set
	}{
		{"", SetOf(I)},
		{"gzip", SetOf(I, G)},
		{"x-gzip", SetOf(I, G)},
		{"GZIP, Deflate", SetOf(I, G, D)},
		{"gzip, deflate, br, zstd", SetOf(I, G, B, Z, D)},
		{"br;q=1.0, gzip;q=0.8, *;q=0.1", SetOf(I, G, B, Z, D)},
		{"gzip;q=0", SetOf(I)},
		{"gzip; q=0.000", SetOf(I)},
		{"gzip;Q=0.", SetOf(I)},
		{"gzip;q=0.001", SetOf(I, G)},
		{"gzip;q=0.0000", SetOf(I, G)}, // not a qvalue: the coding is listed
		{"gzip;q=abc", SetOf(I, G)},
		{"gzip;level=1;q=0", SetOf(I)},
		{"identity;q=0", 0},
		{"identity;q=0, gzip", SetOf(G)},
		{"*", SetOf(I, G, B, Z, D)},
		{"*;q=0", 0},
		{"*;q=0, identity", SetOf(I)},
		{"*;q=0, gzip", SetOf(G)},
		{"*, zstd;q=0", SetOf(I, G, B, D)},
		{"gzip, gzip;q=0", SetOf(I, G)}, // the first counts
		{"compress, sdch", SetOf(I)},
		{" , ,gzip ,", SetOf(I, G)},
	} {
		if got := Accepted([]byte(c.ae)); got != c.want {
			t.Errorf("Accepted(%q) = %08b, want %08b", c.ae, got, c.want)
		}
	}
}

func TestRequest(t *testing.T) {
	for _, c := range []struct {
		client, can Set
		want        string
	}{
		{SetOf(Identity, Gzip), Decodable, "gzip"},
		{SetOf(Identity, Gzip, Brotli, Zstd, Deflate), Decodable, "gzip, br, zstd, deflate"},
		{SetOf(Identity), Decodable, "identity"},
		{0, Decodable, "identity"},
		{SetOf(Identity, Brotli, Zstd), SetOf(Gzip), "identity"},
		{SetOf(Gzip, Brotli), SetOf(Gzip), "gzip"},
	} {
		if got := Request(c.client, c.can); got != c.want {
			t.Errorf("Request(%08b, %08b) = %q, want %q", c.client, c.can, got, c.want)
		}
	}
	for _, c := range []struct {
		client Set
		in     Encoding
		want   Encoding
	}{
		{SetOf(Identity, Gzip), Gzip, Gzip},
		{SetOf(Identity, Brotli), Gzip, Identity},
		{SetOf(Identity), Gzip, Identity},
		{SetOf(Identity, Gzip), Identity, Identity},
		{SetOf(Identity, Gzip, Brotli), Brotli, Identity},
		{SetOf(Gzip, Zstd), Zstd, Identity},
		{SetOf(Gzip), Unknown, Identity},
	} {
		if got := c.client.Output(c.in); got != c.want {
			t.Errorf("Output(%v) for a client taking %b = %v, want %v", c.in, c.client, got, c.want)
		}
	}
}

// encode returns b in enc ("raw-deflate": deflate without zlib's wrapper).
func encode(t testing.TB, enc string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "br":
		w = brotli.NewWriter(&buf)
	case "zstd":
		w, _ = zstd.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "raw-deflate":
		w, _ = flate.NewWriter(&buf, 5)
	default:
		return b
	}
	w.Write(b) //nolint:errcheck
	w.Close()
	return buf.Bytes()
}

var codings = []string{"identity", "gzip", "br", "zstd", "deflate", "raw-deflate"}

func encodingOf(name string) Encoding { return Of([]byte(strings.TrimPrefix(name, "raw-"))) }

// pages are bodies of sizes around the buffers': empty, shorter than the
// read-ahead, one buffer and more, incompressible.
func pages() map[string][]byte {
	rnd := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 300<<10)
	for i := range noise {
		noise[i] = byte(rnd.Uint32())
	}
	return map[string][]byte{
		"empty": nil, "short": []byte("<p>hi</p>"),
		"page":  bytes.Repeat([]byte("<p>a paragraph of a page</p>\n"), 4000),
		"noise": noise,
	}
}

// TestOpenDecodes: every coding decodes to the page, read in one go or a
// byte at a time, streamed or from memory.
func TestOpenDecodes(t *testing.T) {
	d := NewDecoders(64 << 20)
	for _, enc := range codings {
		for name, page := range pages() {
			body := encode(t, enc, page)
			for _, mode := range []string{"stream", "onebyte", "bytes"} {
				var r *Reader
				var err error
				switch mode {
				case "stream":
					r, err = d.Open(encodingOf(enc), bytes.NewReader(body))
				case "onebyte":
					r, err = d.Open(encodingOf(enc), iotest.OneByteReader(bytes.NewReader(body)))
				case "bytes":
					r, err = d.OpenBytes(encodingOf(enc), body)
				}
				if err != nil {
					t.Fatalf("%s %s %s: Open: %v", enc, name, mode, err)
				}
				got, err := io.ReadAll(r)
				r.Close()
				if err != nil || !bytes.Equal(got, page) {
					t.Errorf("%s %s %s: %d bytes of %d, %v", enc, name, mode, len(got), len(page), err)
				}
			}
		}
	}
}

// TestOpenNeverLosesBytes: a body that does not decode as its coding says
// fails Open, and the Reader gives it back byte for byte, however it was
// split into reads, whatever the coding claimed.
func TestOpenNeverLosesBytes(t *testing.T) {
	d := NewDecoders(64 << 20)
	page := bytes.Repeat([]byte("<p>not what the header says</p>\n"), 5000)
	gz := encode(t, "gzip", page)
	badData := append([]byte(nil), gz...)
	for i := 10; i < len(badData); i++ {
		badData[i] = 0xff
	}
	bodies := map[string][]byte{
		"plain": page, "one byte": {0x1f}, "magic only": {0x1f, 0x8b}, "gzip header, bad data": badData,
		"zlib header only": {0x78, 0x9c}, "noise": pages()["noise"],
	}
	for _, enc := range []Encoding{Gzip, Brotli, Zstd, Deflate, Unknown} {
		for name, body := range bodies {
			for _, split := range []string{"stream", "onebyte", "bytes"} {
				var r *Reader
				var err error
				switch split {
				case "stream":
					r, err = d.Open(enc, bytes.NewReader(body))
				case "onebyte":
					r, err = d.Open(enc, iotest.OneByteReader(bytes.NewReader(body)))
				default:
					r, err = d.OpenBytes(enc, body)
				}
				got, rerr := io.ReadAll(r)
				raw := r.Raw()
				r.Close()
				if err == nil {
					// Some garbage starts like a valid stream (a brotli
					// or raw deflate block): then it fails in Read.
					if rerr == nil && enc != Deflate && enc != Brotli {
						t.Errorf("%v %s %s: decoded without error", enc, name, split)
					}
					continue
				}
				want := ErrUndecodable
				if enc == Unknown {
					want = ErrUnknown
				}
				if !errors.Is(err, want) || !raw || rerr != nil || !bytes.Equal(got, body) {
					t.Errorf("%v %s %s: Open %v, raw %v; read %d of %d bytes as they came, %v", enc, name, split, err, raw, len(got), len(body), rerr)
				}
			}
		}
	}
}

// TestOpenBrokenSource: a body whose reader fails before the first decoded
// byte (an upstream that broke off) fails Open with that reader's error,
// not ErrUndecodable: the caller must not pass a cut body on as if it were
// whole. A failure after the first decoded byte comes from Read.
func TestOpenBrokenSource(t *testing.T) {
	d := NewDecoders(64 << 20)
	broken := errors.New("connection reset")
	noise := pages()["noise"] // several blocks in every coding
	for _, enc := range []Encoding{Gzip, Brotli, Zstd, Deflate} {
		body := encode(t, enc.String(), noise)
		for _, cut := range []int{1, len(body) / 2} {
			r, err := d.Open(enc, io.MultiReader(bytes.NewReader(body[:cut]), iotest.ErrReader(broken)))
			if cut == 1 {
				if err != broken {
					t.Errorf("%v cut after 1 byte: Open %v, want the reader's error", enc, err)
				}
				r.Close()
				continue
			}
			if err != nil {
				t.Errorf("%v cut halfway: Open %v", enc, err)
				r.Close()
				continue
			}
			if _, err := io.ReadAll(r); err == nil {
				t.Errorf("%v cut halfway: read to the end without error", enc)
			}
			r.Close()
		}
	}
}

// TestTooLarge: a body that inflates past the limit fails with ErrTooLarge;
// identity is not limited.
func TestTooLarge(t *testing.T) {
	d := NewDecoders(1 << 20)
	page := bytes.Repeat([]byte{' '}, 4<<20)
	for _, enc := range codings {
		r, err := d.Open(encodingOf(enc), bytes.NewReader(encode(t, enc, page)))
		if enc == "zstd" && errors.Is(err, ErrUndecodable) {
			// A zstd frame states its window: one over the limit fails
			// at once.
			r.Close()
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, r)
		r.Close()
		if enc == "identity" {
			if err != nil || n != int64(len(page)) {
				t.Errorf("identity: %d bytes, %v", n, err)
			}
			continue
		}
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %d bytes read past a 1 MiB limit, %v", enc, n, err)
		}
	}
}

// TestWriter: what Append and Writer encode decodes to the input.
func TestWriter(t *testing.T) {
	page := pages()["page"]
	for _, enc := range []Encoding{Identity, Gzip} {
		out := Append([]byte("prefix"), enc, page)
		if !bytes.HasPrefix(out, []byte("prefix")) {
			t.Fatalf("%v: Append lost dst", enc)
		}
		r, err := NewDecoders(64<<20).OpenBytes(enc, out[6:])
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, page) {
			t.Errorf("%v: %d of %d bytes, %v", enc, len(got), len(page), err)
		}
	}
}

// TestPooledAllocations: a pooled decoder and encoder allocate nothing
// once warm.
func TestPooledAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	d := NewDecoders(64 << 20)
	body := encode(t, "gzip", pages()["page"])
	buf := make([]byte, 32<<10)
	var out bytes.Buffer
	out.Grow(256 << 10)
	var w Writer
	src := new(onlyReader)
	n := testing.AllocsPerRun(50, func() {
		r, err := d.OpenBytes(Gzip, body)
		if err != nil {
			t.Fatal(err)
		}
		out.Reset()
		w.Reset(Gzip, &out)
		src.Reader = r
		if _, err := io.CopyBuffer(&w, src, buf); err != nil {
			t.Fatal(err)
		}
		w.Close()
		r.Close()
	})
	if n > 0 {
		t.Errorf("%v allocations per decoded and encoded page", n)
	}
}

type onlyReader struct{ io.Reader }

func FuzzAccepted(f *testing.F) {
	for _, s := range []string{"gzip", "br;q=1.0, gzip;q=0.8, *;q=0.1", "identity;q=0", "*;q=0, gzip", "gzip;q=0.000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ae string) {
		s := Accepted([]byte(ae))
		if lower := strings.ToLower(ae); !s.Has(Identity) && !strings.Contains(lower, "identity") && !strings.Contains(ae, "*") {
			t.Errorf("%q refuses identity without naming it", ae)
		}
		req := Request(s, Decodable)
		for _, e := range []Encoding{Gzip, Brotli, Zstd, Deflate} {
			if strings.Contains(req, e.String()) && !s.Has(e) {
				t.Errorf("%q: the upstream is asked for %v, which the client does not take", ae, e)
			}
		}
	})
}

// FuzzOpen: whatever a body and the coding it claims, Open either decodes
// it as the reference decoder does or gives it back byte for byte.
func FuzzOpen(f *testing.F) {
	for _, enc := range codings {
		f.Add(uint8(encodingOf(enc)), encode(f, enc, []byte("<p>a page</p>")))
	}
	f.Add(uint8(Gzip), []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0xff})
	d := NewDecoders(1 << 20)
	f.Fuzz(func(t *testing.T, enc uint8, body []byte) {
		e := Encoding(enc % uint8(Unknown+1))
		r, err := d.Open(e, iotest.HalfReader(bytes.NewReader(body)))
		got, rerr := io.ReadAll(r)
		r.Close()
		if err != nil {
			if rerr != nil || !bytes.Equal(got, body) {
				t.Fatalf("%v: Open failed (%v) and the body came back as %d of %d bytes, %v", e, err, len(got), len(body), rerr)
			}
			return
		}
		if want, ok := reference(e, body); ok && rerr == nil && !bytes.Equal(got, want) {
			t.Fatalf("%v: decoded %d bytes, the reference %d", e, len(got), len(want))
		}
	})
}

// reference decodes body with a decoder of its own, not pooled.
func reference(e Encoding, body []byte) ([]byte, bool) {
	var r io.Reader
	var err error
	switch e {
	case Identity:
		return body, true
	case Gzip:
		r, err = gzip.NewReader(bytes.NewReader(body))
	default:
		return nil, false
	}
	if err != nil {
		return nil, false
	}
	out, err := io.ReadAll(io.LimitReader(r, 1<<20))
	return out, err == nil
}
