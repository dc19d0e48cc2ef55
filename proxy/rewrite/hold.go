package rewrite

import (
	"io"
	"sync"
)

// holdBuf is the output side of a Writer: it passes the input of each
// Write through to the destination, except for a held region, bytes whose
// fate is not decided yet, and for what is dropped.
//
// The input of the current Write, in, is emitted up to ps; in[ps:] is
// pending and goes out in one write at the latest when the Write ends. A
// held region is in[hs:] of the current Write after held (the bytes of
// earlier Writes, copied); offsets into the region (off) count from its
// first byte. The region ends in one of three ways: release emits it
// unchanged, replace emits other bytes in its place, dropHeld forgets it
// after its bytes were emitted otherwise. While drop is set, everything
// that would be emitted is dropped instead.
//
// held grows within smallHeld in a buffer of the Writer's own; past that
// (an inline script held while it is judged) it takes a buffer from
// heldPools by size class and gives it back as soon as the region ends.
type holdBuf struct {
	dst     io.Writer
	err     error // the first error of dst
	drop    bool  // drop output: the rest of a removed element, a deleted CSS token
	changed bool  // some output differs from the input

	in   []byte // the input of the current Write
	base int64  // page offset of in[0]
	ps   int    // in[ps:] is not yet emitted (or dropped)

	hold bool
	hs   int    // the held region is held, then in[hs:]
	held []byte // the bytes of the held region from earlier Writes

	heldBox   *[]byte // the pooled buffer of a large held region
	heldClass int
	small     []byte // the Writer's own held buffer while a large one is in use
}

// reset empties b for a new page written to dst, keeping its own buffer.
func (b *holdBuf) reset(dst io.Writer) {
	b.putHeld()
	*b = holdBuf{dst: dst, held: b.held[:0]}
}

// begin starts a Write of in.
func (b *holdBuf) begin(in []byte) {
	b.in, b.ps, b.hs = in, 0, 0
}

// end ends the Write: the pending input is emitted, or appended to the
// held region. It reports whether a region is held.
func (b *holdBuf) end() bool {
	if b.err != nil {
		return false
	}
	if !b.hold {
		b.emitTo(len(b.in))
		return false
	}
	b.emitTo(b.hs)
	b.append(b.in[b.hs:])
	b.hs, b.ps = len(b.in), len(b.in)
	return true
}

// done forgets the input of the Write that ended.
func (b *holdBuf) done() {
	b.base += int64(len(b.in))
	b.in = nil
}

// write sends p to the destination unless output is being dropped.
func (b *holdBuf) write(p []byte) {
	if b.drop || len(p) == 0 || b.err != nil {
		return
	}
	if _, err := b.dst.Write(p); err != nil {
		b.err = err
	}
}

// insert writes p, which is not from the input.
func (b *holdBuf) insert(p []byte) {
	b.write(p)
	b.changed = true
}

// emitTo emits in[ps:i].
func (b *holdBuf) emitTo(i int) {
	if i > b.ps {
		b.write(b.in[b.ps:i])
	}
	b.ps = i
}

// flush emits the pending input before the held region.
func (b *holdBuf) flush() { b.emitTo(b.hs) }

// off is the offset in the held region of in[i].
func (b *holdBuf) off(i int) int { return len(b.held) + i - b.hs }

// at is the index in the current input of offset o of the held region
// (negative when the byte came in an earlier Write).
func (b *holdBuf) at(o int) int { return o - len(b.held) + b.hs }

// origin is the page offset of the held region's first byte, as far as
// the region holds the page's bytes unchanged (see own).
func (b *holdBuf) origin() int64 { return b.base + int64(b.hs) - int64(len(b.held)) }

// startHold starts a held region at in[i].
func (b *holdBuf) startHold(i int) {
	b.hold, b.hs = true, i
	if cap(b.held) > smallHeld {
		b.putBack()
	}
	b.held = b.held[:0]
}

// region returns the held region up to in[i] as one slice. It is valid
// until the region changes.
func (b *holdBuf) region(i int) []byte {
	if len(b.held) == 0 {
		return b.in[b.hs:i]
	}
	b.append(b.in[b.hs:i])
	b.hs, b.ps = i, i
	return b.held
}

// own makes the held region, which ends at in[j], a copy of its own that
// the caller may edit in place and shorten (setLen), and returns it.
func (b *holdBuf) own(j int) []byte {
	if len(b.held) == 0 {
		b.emitTo(b.hs)
		b.append(b.in[b.hs:j])
		b.hs, b.ps = j, j
	}
	return b.held
}

// setLen shortens the region that own returned to n bytes.
func (b *holdBuf) setLen(n int) { b.held = b.held[:n] }

// keepFrom drops the first n bytes of the held region (which ends at the
// current input's hs), emitted otherwise or not at all.
func (b *holdBuf) keepFrom(n int) {
	b.held = b.held[:copy(b.held, b.held[n:])]
}

// release emits the held region unchanged; its part in the current input
// stays pending in in[ps:].
func (b *holdBuf) release() {
	if !b.hold {
		return
	}
	b.hold = false
	if len(b.held) > 0 {
		b.write(b.held)
		b.putHeld()
	}
}

// replace ends the held region at in[i] and emits out instead of it.
func (b *holdBuf) replace(i int, out []byte) {
	b.emitTo(b.hs)
	b.write(out)
	b.hold = false
	b.putHeld()
	b.hs, b.ps = i, i
	b.changed = true
}

// dropHeld ends the held region at in[j] after its bytes were emitted
// otherwise.
func (b *holdBuf) dropHeld(j int) {
	b.hold = false
	b.putHeld()
	b.hs, b.ps = j, j
}

// The held region of a Writer grows past smallHeld only for an inline
// script (up to MaxScript and a start tag). Such buffers come from
// heldPools by size class and go back as soon as the region ends, so a
// Writer in its pool keeps at most smallHeld and a page that holds a large
// script reuses a buffer instead of growing one.
const smallHeld = 64 << 10

// heldClasses are the sizes of pooled held buffers: the last holds a
// MaxScript script with a MaxTag start tag and a Write's worth past it.
var heldClasses = [...]int{128 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20}

var heldPools [len(heldClasses)]sync.Pool

// append appends p to the held region.
func (b *holdBuf) append(p []byte) {
	if n := len(b.held) + len(p); n > cap(b.held) {
		if n > smallHeld {
			b.grow(n)
		} else {
			// Grow within smallHeld, so the buffer stays the Writer's own.
			nb := make([]byte, len(b.held), min(max(2*cap(b.held), n, 512), smallHeld))
			copy(nb, b.held)
			b.held = nb
		}
	}
	b.held = append(b.held, p...)
}

// grow makes room for n held bytes from the pools.
func (b *holdBuf) grow(n int) {
	var box *[]byte
	class := -1
	for i, c := range heldClasses {
		if c >= n {
			class = i
			if box, _ = heldPools[i].Get().(*[]byte); box == nil {
				nb := make([]byte, 0, c)
				box = &nb
			}
			break
		}
	}
	var nb []byte
	if box != nil {
		nb = append((*box)[:0], b.held...)
	} else {
		nb = append(make([]byte, 0, n+n/4), b.held...) // past every class: not pooled
	}
	if cap(b.held) <= smallHeld {
		b.small = b.held[:0] // back in use once the large region ends
	} else {
		b.putLarge()
	}
	b.held, b.heldBox, b.heldClass = nb, box, class
}

// putHeld empties the held region; a large buffer goes back to its pool
// and the Writer's own small one is held again.
func (b *holdBuf) putHeld() {
	if cap(b.held) > smallHeld {
		b.putBack()
	}
	b.held = b.held[:0]
}

// putBack gives a large held buffer back and holds the Writer's own small
// one again.
func (b *holdBuf) putBack() {
	b.putLarge()
	b.held, b.small = b.small, nil
}

// putLarge gives the large held buffer back to its pool.
func (b *holdBuf) putLarge() {
	if b.heldBox != nil {
		*b.heldBox = b.held[:0]
		heldPools[b.heldClass].Put(b.heldBox)
		b.heldBox = nil
	}
}
