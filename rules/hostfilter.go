package rules

// hostFilter is a one-hash Bloom filter over the host suffixes of a Set: a
// suffix whose bit is clear is certainly not in the table, so most probes
// (the full host "www.example.com" before "example.com", and every probe for
// a host that is no tracker) cost one load instead of a string-map lookup.
// With a few thousand suffixes in 65 536 bits, few probes pass falsely.
type hostFilter [1 << 10]uint64

// filterKey hashes a suffix's length and first three bytes (fewer when it
// is shorter: a host from a page may be ".0" or "a.").
func filterKey(s []byte) uint32 {
	var b uint32
	for i := 0; i < 3 && i < len(s); i++ {
		b |= uint32(s[i]) << (8 * i)
	}
	h := uint32(len(s))*0x9E3779B1 ^ b*0x85EBCA6B
	return (h ^ h>>15) & (1<<16 - 1)
}

func (f *hostFilter) add(s string) {
	k := filterKey([]byte(s))
	f[k>>6] |= 1 << (k & 63)
}

func (f *hostFilter) mayHave(s []byte) bool {
	k := filterKey(s)
	return f[k>>6]&(1<<(k&63)) != 0
}
