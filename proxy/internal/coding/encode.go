package coding

import (
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// gzipWriters keeps gzip writers at the fastest level: a new one allocates
// about 900 KiB, and encoding dominates an opted-out gzip page.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// Writer writes a body in the coding Output chose: Identity (the bytes as
// they are) or Gzip. The zero Writer writes nothing anywhere; Reset starts
// a body. A Writer is for one goroutine at a time.
type Writer struct {
	enc Encoding
	dst io.Writer
	gz  *gzip.Writer
}

// Reset starts a body in enc, Identity or Gzip, written to dst; the Writer
// takes a pooled encoder for Gzip, given back by Close or Abort. Reset
// panics for another coding: the proxy writes no other.
func (w *Writer) Reset(enc Encoding, dst io.Writer) {
	w.Abort()
	switch enc {
	case Identity:
	case Gzip:
		w.gz = gzipWriters.Get().(*gzip.Writer)
		w.gz.Reset(dst)
	default:
		panic("coding: no writer for " + enc.String())
	}
	w.enc, w.dst = enc, dst
}

// Encoding returns the coding w writes.
func (w *Writer) Encoding() Encoding { return w.enc }

// Write encodes p to the destination. Gzip output may wait in the encoder
// until Close.
func (w *Writer) Write(p []byte) (int, error) {
	if w.gz != nil {
		return w.gz.Write(p)
	}
	if w.dst == nil {
		return len(p), nil
	}
	return w.dst.Write(p)
}

// Close ends the body (gzip's last block and trailer), gives the encoder
// back and leaves w as the zero Writer.
func (w *Writer) Close() error {
	var err error
	if w.gz != nil {
		err = w.gz.Close()
	}
	w.Abort()
	return err
}

// Abort gives the encoder back without ending the body (the body will not
// be sent whole anyway) and leaves w as the zero Writer.
func (w *Writer) Abort() {
	if w.gz != nil {
		w.gz.Reset(io.Discard)
		gzipWriters.Put(w.gz)
	}
	*w = Writer{}
}

// Append appends src encoded in enc (Identity or Gzip) to dst.
func Append(dst []byte, enc Encoding, src []byte) []byte {
	if enc == Identity {
		return append(dst, src...)
	}
	a := &appender{dst}
	var w Writer
	w.Reset(enc, a)
	w.Write(src) //nolint:errcheck // to memory
	w.Close()    //nolint:errcheck
	return a.b
}

// appender appends what is written to a byte slice.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}
