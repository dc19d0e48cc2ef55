package coding

import "io"

// Sizes of the buffer a Reader reads a streamed body through.
const (
	headSize = 32 << 10
	// maxKeep bounds what Open keeps of a body until its first decoded
	// byte, to give the body back whole if it does not decode: a gzip or
	// deflate header and first block, a zstd frame header and first block
	// (at most 128 KiB), with room to spare.
	maxKeep = 256 << 10
	// maxPooled is the largest buffer a pooled Reader keeps.
	maxPooled = 64 << 10
)

// head reads a body through a buffer, and keeps every byte it read from
// the start until commit, so that the body can be read again from its
// first byte (rewind).
type head struct {
	src  io.Reader
	buf  []byte // len(buf) is its capacity in use
	r, w int    // buf[r:w] is read from src and not yet by the caller
	keep bool   // buf[:w] holds every byte read from src
	err  error
}

func (h *head) reset(src io.Reader) {
	h.src, h.r, h.w, h.keep, h.err = src, 0, 0, src != nil, nil
	if len(h.buf) > maxPooled {
		h.buf = nil
	}
}

// commit ends keeping: the bytes read so far need not be read again.
func (h *head) commit() { h.keep = false }

// rewind makes the next read start again at the body's first byte, and
// reports whether it could: every byte read was kept.
func (h *head) rewind() bool {
	if !h.keep {
		return false
	}
	h.r, h.keep = 0, false
	return true
}

// more reads from src into the buffer, after what it holds.
func (h *head) more() {
	if h.buf == nil {
		h.buf = make([]byte, headSize)
	}
	if !h.keep && h.r == h.w {
		h.r, h.w = 0, 0
	}
	if h.w == len(h.buf) {
		switch {
		case h.keep && len(h.buf) < maxKeep:
			h.buf = append(h.buf, make([]byte, len(h.buf))...)
		default:
			h.keep = false
			h.w = copy(h.buf, h.buf[h.r:h.w])
			h.r = 0
		}
	}
	for range 100 {
		n, err := h.src.Read(h.buf[h.w:])
		h.w += n
		if err != nil {
			h.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	h.err = io.ErrNoProgress
}

func (h *head) Read(p []byte) (int, error) {
	if h.r == h.w {
		if h.err != nil {
			return 0, h.err
		}
		if !h.keep && len(p) >= len(h.buf) && h.buf != nil {
			// Nothing to keep and a large read: straight from src.
			n, err := h.src.Read(p)
			h.err = err
			return n, err
		}
		if h.more(); h.r == h.w {
			return 0, h.err
		}
	}
	n := copy(p, h.buf[h.r:h.w])
	h.r += n
	return n, nil
}

func (h *head) ReadByte() (byte, error) {
	if h.r == h.w {
		if h.err != nil {
			return 0, h.err
		}
		if h.more(); h.r == h.w {
			return 0, h.err
		}
	}
	c := h.buf[h.r]
	h.r++
	return c, nil
}

// peek returns up to n bytes ahead, without reading them.
func (h *head) peek(n int) []byte {
	for h.w-h.r < n && h.err == nil {
		h.more()
	}
	return h.buf[h.r:min(h.w, h.r+n)]
}
