package signals

// b64 maps a base64url character to its 6-bit value, or 0xff. GPP (Consent
// String Specification, "Base64 URL encoding") and TCF v2 both use the URL
// alphabet without padding; some CMPs write the standard alphabet, so '+'
// and '/' are accepted as 62 and 63 as well.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alpha); i++ {
		t[alpha[i]] = byte(i)
	}
	t['+'], t['/'] = 62, 63
	return t
}()

// bitReader reads big-endian bit fields straight from base64url text, six
// bits per character, without decoding into a buffer: it never allocates.
// Errors are sticky: after one, every read returns 0 and err keeps the first
// reason.
type bitReader struct {
	s   []byte // base64url characters, validated by newBitReader
	pos int    // next bit
	err Reason
}

// newBitReader validates s and returns a reader over it. A character
// outside the alphabet is ReasonBadBase64; trailing '=' padding is ignored.
func newBitReader(s []byte) (bitReader, Reason) {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	if len(s) == 0 {
		return bitReader{}, ReasonEmpty
	}
	for _, c := range s {
		if b64[c] == 0xff {
			return bitReader{}, ReasonBadBase64
		}
	}
	return bitReader{s: s}, ReasonNone
}

// bits is the number of bits in the text.
func (r *bitReader) bits() int { return len(r.s) * 6 }

// bit returns bit i of the text; i must be in range.
func (r *bitReader) bit(i int) uint64 {
	return uint64(b64[r.s[i/6]]>>(5-uint(i%6))) & 1
}

// read returns the next n (≤ 64) bits as an unsigned integer.
func (r *bitReader) read(n int) uint64 {
	if r.err != 0 {
		return 0
	}
	if r.pos+n > r.bits() {
		r.err = ReasonTruncated
		r.pos = r.bits()
		return 0
	}
	var v uint64
	for n > 0 {
		// Take as many bits as the current character still holds.
		off := r.pos % 6
		take := 6 - off
		if take > n {
			take = n
		}
		c := uint64(b64[r.s[r.pos/6]])
		c = (c >> uint(6-off-take)) & (1<<uint(take) - 1)
		v = v<<uint(take) | c
		r.pos += take
		n -= take
	}
	return v
}

func (r *bitReader) readBool() bool { return r.read(1) == 1 }

// skip advances n bits.
func (r *bitReader) skip(n int) {
	if r.err != 0 {
		return
	}
	if n < 0 || r.pos+n > r.bits() {
		r.err = ReasonTruncated
		r.pos = r.bits()
		return
	}
	r.pos += n
}

// fib are the Fibonacci numbers used by Fibonacci coding: 1, 2, 3, 5, …
var fib = func() (f [40]uint64) {
	f[0], f[1] = 1, 2
	for i := 2; i < len(f); i++ {
		f[i] = f[i-1] + f[i-2]
	}
	return f
}()

// maxFibBits bounds a Fibonacci code word; GPP section ids and offsets are
// small, so a longer word is ReasonBadRange rather than a huge number.
const maxFibBits = 24

// readFib reads one Fibonacci code word (GPP Consent String Specification,
// "Fibonacci integer": bit i adds F(i+2), a word ends with "11").
func (r *bitReader) readFib() uint64 {
	var v uint64
	prev := uint64(0)
	for i := 0; ; i++ {
		if r.err != 0 {
			return 0
		}
		if i > maxFibBits {
			r.err = ReasonBadRange
			return 0
		}
		b := r.read(1)
		if b == 1 && prev == 1 {
			return v
		}
		if b == 1 {
			v += fib[i]
		}
		prev = b
	}
}
