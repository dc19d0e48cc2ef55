package rewrite

import (
	"fmt"
	"io"
	"runtime"
	"testing"
)

// TestRemovedIsBounded: what a Writer records of the elements it removed
// does not grow with their number. An upstream streaming megabytes of
// tracker images to an opted-out visitor used to cost a record per
// element, kept across Reset in pooled writers (100 MB of <img> tags: 420
// MiB RSS, held after the request).
func TestRemovedIsBounded(t *testing.T) {
	if raceEnabled {
		t.Skip("heap figures under -race are not the build's")
	}
	w := NewWriter(io.Discard, optOut(t, false))
	chunk := make([]byte, 0, 32<<10)
	n := 0
	for len(chunk) < 32<<10-100 {
		chunk = fmt.Appendf(chunk, `<img src="https://www.google-analytics.com/collect?v=1&n=%d">`, n)
		n++
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const rounds = 640 // 20 MiB
	for range rounds {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	total := 0
	for _, r := range w.Removed() {
		total += r.Count
	}
	if want := n * rounds; total != want {
		t.Errorf("removals counted %d, want %d", total, want)
	}
	if len(w.Removed()) > 2 {
		t.Errorf("%d records for %d elements of one vendor; want one per vendor, element and action", len(w.Removed()), total)
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Errorf("the heap grew by %d KiB while %d tracker images streamed through", grew>>10, total)
	}
	runtime.KeepAlive(w)
}
