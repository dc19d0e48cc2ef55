// Package fieldlist reads the comma-separated lists of HTTP field values
// (RFC 9110 §5.6.1: Connection, Vary, Cache-Control, Accept-Encoding, …)
// in place, allocating nothing, which matters per request.
package fieldlist

import "bytes"

// Next splits the first element off a comma-separated field value: that
// element without surrounding white space, and the rest. Empty elements
// come back empty, as the list has them; the result aliases list.
func Next(list []byte) (elem, rest []byte) {
	if i := bytes.IndexByte(list, ','); i >= 0 {
		return bytes.TrimSpace(list[:i]), list[i+1:]
	}
	return bytes.TrimSpace(list), nil
}
