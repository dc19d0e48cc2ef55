package receipt

import (
	"testing"
)

// BenchmarkFill is the request side of a receipt: a pooled Entry filled
// as the proxy fills it for an opted-out page, handed over and released.
func BenchmarkFill(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Release(response(i))
	}
}

// BenchmarkWrite is the writer side: encode, hash and buffer one record of
// an opted-out page (files written every 256 KiB, no fsync in the loop).
func BenchmarkWrite(b *testing.B) {
	// A Log whose writer goroutine is held, so this goroutine may write
	// as the writer would.
	hold := make(chan struct{})
	l := openLog(b, b.TempDir(), func(o *Options) { o.hold = hold })
	l.Add(response(0)) // the writer takes it and waits on hold
	defer func() { close(hold); l.Close() }()
	b.ReportAllocs()
	b.SetBytes(int64(len(response(0).appendJSON(nil, 1, make([]byte, 64)))))
	for i := 0; b.Loop(); i++ {
		l.write(response(i))
	}
}
