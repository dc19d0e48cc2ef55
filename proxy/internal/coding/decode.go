package coding

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// Errors of Open and Reader.Read. A Reader Open failed with reads the body
// as it came.
var (
	// ErrUnknown: the body is in a coding the proxy does not decode.
	ErrUnknown = errors.New("unknown content coding")
	// ErrUndecodable: the body does not start as its coding says.
	ErrUndecodable = errors.New("body does not decode")
	// ErrTooLarge: the decoded body passed the Decoders' limit (a
	// decompression bomb, or a page too large to rewrite).
	ErrTooLarge = errors.New("decoded body exceeds the limit")
)

// Decoders hands out pooled decoders; a Decoders is safe for concurrent
// use. Gzip and brotli readers and zstd decoders keep their windows and
// tables in the pools: a new one per body allocated most of an opted-out
// page's bytes (36 % for gzip, 2.3 times the rest of the page for brotli,
// BenchmarkOptedOutGzipPage and BenchmarkOptedOutBrotliPage in proxy).
type Decoders struct {
	max  int64
	zstd sync.Pool // *zstd.Decoder with max as its memory limit
}

// NewDecoders returns Decoders that decode at most max bytes of one body.
func NewDecoders(max int64) *Decoders { return &Decoders{max: max} }

var (
	gzipReaders   = sync.Pool{New: func() any { return new(gzip.Reader) }}
	brotliReaders = sync.Pool{New: func() any { return brotli.NewReader(eof{}) }}
	zlibReaders   sync.Pool // io.ReadCloser implementing zlib.Resetter
	flateReaders  sync.Pool // io.ReadCloser implementing flate.Resetter
	readers       = sync.Pool{New: func() any { return new(Reader) }}
)

// eof is an empty reader with no state, safe to share: what a pooled
// decoder is reset to, so that it holds on to no body.
type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }

// ReadByte makes eof a flate.Reader, which decoders read without a
// buffer of their own.
func (eof) ReadByte() (byte, error) { return 0, io.EOF }

// Reader reads one body decoded. Close gives its decoder back; a Reader
// is for one goroutine at a time.
type Reader struct {
	d    *Decoders
	enc  Encoding
	in   head         // the body as it came (Open)
	mem  []byte       // the body, when it was given in memory (OpenBytes)
	mr   bytes.Reader // reads mem
	src  io.Reader    // what Read reads: the decoder, or the body as it came
	dec  decoder
	left int64  // decoded bytes allowed before ErrTooLarge; -1: no limit
	peek []byte // decoded bytes Open read ahead, sent first
	pb   [512]byte
	raw  bool
}

// decoder is the pooled decoder a Reader holds.
type decoder struct {
	gz *gzip.Reader
	br *brotli.Reader
	zs *zstd.Decoder
	zl io.ReadCloser
	fl io.ReadCloser
}

// Open returns a Reader of body decoded from enc; Read returns io.EOF at
// the end of the body and ErrTooLarge past the Decoders' limit (not for
// Identity, whose bytes are read as they are: nothing inflates them).
//
// Open reads the body up to its first decoded byte before it returns, so a
// body that does not decode as enc says is known before anything of it is
// sent. Then Open returns ErrUndecodable (ErrUnknown for Unknown) with a
// Reader that reads the body as it came, byte for byte: the bytes Open took
// are kept for it (up to maxKeep, past which a body is taken for the coding
// it says). Nothing of the body is lost either way. When reading body
// fails before the first decoded byte, Open returns that error as it is
// (the body broke off; it wraps neither), with a Reader of what came. A
// body that decodes at first and fails later fails in Read, with an error
// that wraps neither.
func (d *Decoders) Open(enc Encoding, body io.Reader) (*Reader, error) {
	r := readers.Get().(*Reader)
	r.d, r.enc, r.left = d, enc, d.max
	if enc == Identity {
		r.src, r.left = body, -1 // nothing to decode, nothing to keep
		return r, nil
	}
	r.in.reset(body)
	return r, r.open(&r.in)
}

// OpenBytes is Open for a body in memory, which it does not copy: on
// ErrUndecodable, and on any later error of Read, the caller has the body
// as it came. body must not change until Close.
func (d *Decoders) OpenBytes(enc Encoding, body []byte) (*Reader, error) {
	r := readers.Get().(*Reader)
	r.d, r.enc, r.left, r.mem = d, enc, d.max, body
	r.mr.Reset(body)
	return r, r.open(&r.mr)
}

// Raw reports whether r reads the body as it came: Open failed.
func (r *Reader) Raw() bool { return r.raw }

// Encoding returns the coding r was opened for.
func (r *Reader) Encoding() Encoding { return r.enc }

// source is what decoders read: a flate.Reader, so they add no buffer of
// their own.
type source interface {
	io.Reader
	io.ByteReader
}

func (r *Reader) open(in source) error {
	if r.enc == Identity {
		r.src, r.left = in, -1
		return nil
	}
	var err error
	switch r.enc {
	case Gzip:
		err = r.openGzip(in)
	case Brotli:
		br := brotliReaders.Get().(*brotli.Reader)
		br.Reset(in) //nolint:errcheck // always nil: brotli has no header
		r.dec.br, r.src = br, br
	case Zstd:
		err = r.openZstd(in)
	case Deflate:
		err = r.openDeflate(in)
	default:
		return r.passRaw(ErrUnknown)
	}
	if err == nil {
		err = r.prime()
	}
	if err != nil {
		if serr := r.in.err; serr != nil && serr != io.EOF {
			// The body broke off before its first decoded byte: that is
			// the error, not the coding.
			r.passRaw(err) //nolint:errcheck // gives the decoder back
			return serr
		}
		return r.passRaw(err)
	}
	r.in.commit()
	return nil
}

// prime reads the first decoded bytes into r.peek: a body that cannot be
// decoded fails here, while its bytes can still be given back.
func (r *Reader) prime() error {
	n, err := r.src.Read(r.pb[:])
	r.peek = r.pb[:n]
	if err != nil && err != io.EOF {
		return err
	}
	if err == io.EOF {
		r.src = eof{}
	}
	return r.count(n)
}

// passRaw makes r read the body as it came and returns the error that made
// it so, as ErrUndecodable (or ErrUnknown).
func (r *Reader) passRaw(err error) error {
	r.release()
	r.raw, r.peek, r.left = true, nil, -1
	if r.mem != nil {
		r.mr.Reset(r.mem)
		r.src = &r.mr
	} else if !r.in.rewind() {
		// More was read than kept (a coding that took over maxKeep
		// bytes before its first decoded byte): lost, so the body is
		// not passed at all.
		r.src = errReader{fmt.Errorf("%w: %v, after %d bytes", ErrUndecodable, err, maxKeep)}
		return r.src.(errReader).err
	} else {
		r.src = &r.in
	}
	if errors.Is(err, ErrUnknown) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUndecodable, err)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (r *Reader) openGzip(in source) error {
	zr := gzipReaders.Get().(*gzip.Reader)
	r.dec.gz = zr
	if err := zr.Reset(in); err != nil {
		return err
	}
	r.src = zr
	return nil
}

func (r *Reader) openZstd(in source) error {
	zr, _ := r.d.zstd.Get().(*zstd.Decoder)
	if zr == nil {
		var err error
		// One goroutine: Reset decodes synchronously and starts none, so
		// a pooled decoder the GC drops leaks nothing.
		zr, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(r.d.max)))
		if err != nil {
			return err
		}
	}
	r.dec.zs = zr
	if err := zr.Reset(in); err != nil {
		return err
	}
	r.src = zr
	return nil
}

// openDeflate reads HTTP's deflate, which is zlib-wrapped (RFC 9110
// §8.4.1.2); some servers send raw deflate, told apart by the zlib header.
func (r *Reader) openDeflate(in source) error {
	var h []byte
	if r.mem != nil {
		h = r.mem[:min(2, len(r.mem))]
	} else {
		h = r.in.peek(2)
	}
	if len(h) == 2 && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
		zl, _ := zlibReaders.Get().(io.ReadCloser)
		var err error
		if zl == nil {
			zl, err = zlib.NewReader(in)
		} else {
			err = zl.(zlib.Resetter).Reset(in, nil)
		}
		if zl != nil {
			r.dec.zl = zl
		}
		if err != nil {
			return err
		}
		r.src = zl
		return nil
	}
	fl, _ := flateReaders.Get().(io.ReadCloser)
	if fl == nil {
		fl = flate.NewReader(in)
	} else if err := fl.(flate.Resetter).Reset(in, nil); err != nil {
		r.dec.fl = fl
		return err
	}
	r.dec.fl, r.src = fl, fl
	return nil
}

// Read reads the decoded body.
func (r *Reader) Read(p []byte) (int, error) {
	if len(r.peek) > 0 {
		n := copy(p, r.peek)
		r.peek = r.peek[n:]
		return n, nil
	}
	n, err := r.src.Read(p)
	if cerr := r.count(n); cerr != nil {
		return n, cerr
	}
	return n, err
}

// count takes n decoded bytes off what r may still read.
func (r *Reader) count(n int) error {
	if r.left < 0 {
		return nil
	}
	if r.left -= int64(n); r.left < 0 {
		return ErrTooLarge
	}
	return nil
}

// Close gives r's decoder and buffers back; r must not be used after.
func (r *Reader) Close() error {
	r.release()
	r.in.reset(nil)
	r.mr.Reset(nil)
	*r = Reader{in: r.in}
	readers.Put(r)
	return nil
}

// release gives the decoder back to its pool, holding on to no body.
func (r *Reader) release() {
	d := &r.dec
	if d.gz != nil {
		d.gz.Reset(eof{}) //nolint:errcheck // always io.EOF: only drops the body
		gzipReaders.Put(d.gz)
	}
	if d.br != nil {
		d.br.Reset(eof{}) //nolint:errcheck // always nil
		brotliReaders.Put(d.br)
	}
	if d.zs != nil {
		d.zs.Reset(nil) //nolint:errcheck // drops the body; the decoder is reused
		r.d.zstd.Put(d.zs)
	}
	if d.zl != nil {
		d.zl.(zlib.Resetter).Reset(eof{}, nil) //nolint:errcheck
		zlibReaders.Put(d.zl)
	}
	if d.fl != nil {
		d.fl.(flate.Resetter).Reset(eof{}, nil) //nolint:errcheck
		flateReaders.Put(d.fl)
	}
	*d = decoder{}
	r.src = nil
}
