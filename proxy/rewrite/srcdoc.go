package rewrite

import "github.com/consentgate/consentgate/rules"

// srcdocVendor returns the first denied vendor that the document in an
// iframe's srcdoc attribute (value v, as written) would load: the document
// is decoded and rewritten with the page's policy as a page of its own
// (scripting on), and what that rewrite removes attributes the iframe. The
// iframe is then removed or neutralised like one whose src is denied
// (srcdoc renamed to data-srcdoc); its document is not edited in place.
func (w *Writer) srcdocVendor(v []byte) *rules.Vendor {
	w.doc = decodeAttr(w.doc[:0], v)
	if w.sub == nil {
		w.sub = &Writer{}
	}
	p := w.p
	p.Stub, p.Head, p.Placeholders, p.Tail = false, nil, nil, nil
	w.sub.pol = w.pol
	w.subBuf = w.subBuf[:0]
	w.sub.reset(&w.subBuf, p, false)
	w.sub.Write(w.doc)
	w.sub.Close()
	for _, r := range w.sub.rep.removed {
		if r.Vendor != nil {
			return r.Vendor
		}
	}
	return nil
}

// decodeAttr appends to dst an attribute value with the character
// references that matter to the markup decoded: &amp; &lt; &gt; &quot;
// &apos; and numeric references to ASCII characters. Other references
// (named ones such as &nbsp;, numeric ones past ASCII) are kept as written,
// which keeps the output in the page's charset whatever it is: encodeAttr
// turns their '&' into "&amp;", so the document still holds the reference
// and its parser decodes it the same way in text and attribute values (in a
// script or style of that document it stays literal text).
func decodeAttr(dst, v []byte) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		if c == '&' {
			if d, n := markupRef(v[i:]); n > 0 {
				dst = append(dst, d)
				i += n
				continue
			}
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

// markupRef decodes, at the start of b, a numeric reference to an ASCII
// character other than NUL ("&#NN;" or "&#xHH;", ';' optional) or one of
// the named references of the characters that delimit markup (with ';').
func markupRef(b []byte) (byte, int) {
	if len(b) >= 3 && b[1] == '#' {
		j, base := 2, 10
		if b[2]|0x20 == 'x' {
			j, base = 3, 16
		}
		start, cp := j, 0
		for ; j < len(b) && cp < 0x80; j++ {
			d, ok := hexVal(b[j])
			if !ok || base == 10 && d > 9 {
				break
			}
			cp = cp*base + int(d)
		}
		if j == start || cp == 0 || cp >= 0x80 || j < len(b) && (b[j] >= '0' && b[j] <= '9' || base == 16 && isHex(b[j])) {
			return 0, 0
		}
		if j < len(b) && b[j] == ';' {
			j++
		}
		return byte(cp), j
	}
	return namedMarkupRef(b)
}

func isHex(c byte) bool { _, ok := hexVal(c); return ok }

// namedMarkupRef decodes the references of the characters that delimit
// markup, with their ';'.
func namedMarkupRef(b []byte) (byte, int) {
	for _, r := range [...]struct {
		name string
		c    byte
	}{{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}} {
		if len(b) >= len(r.name) && string(b[:len(r.name)]) == r.name {
			return r.c, len(r.name)
		}
	}
	return 0, 0
}

// encodeAttr appends s escaped for a double-quoted attribute value.
func encodeAttr(dst, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '&':
			dst = append(dst, "&amp;"...)
		case '"':
			dst = append(dst, "&quot;"...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
