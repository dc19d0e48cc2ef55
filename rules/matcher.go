package rules

// This file implements the inline-script signature matcher as an Aho-Corasick
// automaton (A. V. Aho and M. J. Corasick, "Efficient string matching: an aid
// to bibliographic search", CACM 18(6), 1975), compiled to a deterministic
// automaton: every state has a transition for every byte class, so matching
// is one table load per input byte with no failure-link walks.
//
// Bytes that occur in no signature share one class, so a row is as wide as
// the number of distinct signature bytes plus one, not 256. A transition
// holds the next state's row offset shifted left by one, with the low bit set
// when the next state reports a match: the inner loop is a load, a shift and
// an add per byte.

// Matcher finds vendor signatures in inline script text. It is immutable and
// safe for concurrent use; the zero value and a nil *Matcher match nothing.
type Matcher struct {
	class  [256]uint16 // byte → class
	nclass uint32
	trans  []uint32 // state*nclass + class → next<<1 | hasOutput
	// outputs of a state (by row offset / nclass): vendors[out[outStart[s]:outStart[s+1]]]
	outStart []uint32
	out      []uint32
	vendors  []*Vendor // vendors with signatures, by matcher index
	maxLen   int
	npat     int
}

// NewMatcher builds a matcher over the signatures of vendors. Empty
// signatures are ignored.
func NewMatcher(vendors []*Vendor) *Matcher {
	m := &Matcher{}
	type edge struct {
		class uint16
		next  uint32
	}
	type node struct {
		next []edge // few per node; a linear scan beats a map here
		fail uint32
		out  []uint32
	}
	// Byte classes: 0 for bytes in no signature.
	for _, v := range vendors {
		for _, s := range v.Signatures {
			for i := 0; i < len(s); i++ {
				if m.class[s[i]] == 0 {
					m.nclass++
					m.class[s[i]] = uint16(m.nclass)
				}
			}
		}
	}
	m.nclass++
	// Trie.
	nodes := []node{{}}
	for _, v := range vendors {
		vi := uint32(len(m.vendors))
		added := false
		for _, s := range v.Signatures {
			if s == "" {
				continue
			}
			cur := uint32(0)
			for i := 0; i < len(s); i++ {
				c := m.class[s[i]]
				nx, ok := uint32(0), false
				for _, e := range nodes[cur].next {
					if e.class == c {
						nx, ok = e.next, true
						break
					}
				}
				if !ok {
					nx = uint32(len(nodes))
					nodes = append(nodes, node{})
					nodes[cur].next = append(nodes[cur].next, edge{c, nx})
				}
				cur = nx
			}
			nodes[cur].out = appendUnique(nodes[cur].out, vi)
			m.maxLen = max(m.maxLen, len(s))
			m.npat++
			added = true
		}
		if added {
			m.vendors = append(m.vendors, v)
		}
	}
	// Breadth-first: failure links, merged outputs and the dense table.
	nc := m.nclass
	m.trans = make([]uint32, uint32(len(nodes))*nc)
	queue := make([]uint32, 0, len(nodes))
	for _, e := range nodes[0].next {
		queue = append(queue, e.next)
		m.trans[e.class] = e.next
	}
	for qi := 0; qi < len(queue); qi++ {
		s := queue[qi]
		f := nodes[s].fail
		for _, o := range nodes[f].out {
			nodes[s].out = appendUnique(nodes[s].out, o)
		}
		// Without an edge, a state goes where its failure state goes; that
		// row is complete because failure states are shallower (BFS order).
		copy(m.trans[s*nc:(s+1)*nc], m.trans[f*nc:(f+1)*nc])
		for _, e := range nodes[s].next {
			// The failure of a child is where the parent's failure goes on
			// the same class.
			nodes[e.next].fail = m.trans[f*nc+uint32(e.class)]
			queue = append(queue, e.next)
			m.trans[s*nc+uint32(e.class)] = e.next
		}
	}
	// Encode: next<<1 as row offset, low bit when the next state has output.
	m.outStart = make([]uint32, len(nodes)+1)
	for i := range nodes {
		m.outStart[i] = uint32(len(m.out))
		m.out = append(m.out, nodes[i].out...)
	}
	m.outStart[len(nodes)] = uint32(len(m.out))
	for i, nx := range m.trans {
		e := nx * nc << 1
		if len(nodes[nx].out) > 0 {
			e |= 1
		}
		m.trans[i] = e
	}
	return m
}

func appendUnique(s []uint32, x uint32) []uint32 {
	for _, y := range s {
		if y == x {
			return s
		}
	}
	return append(s, x)
}

// Each calls fn for every vendor whose signature occurs in text, once per
// vendor, in the order in which a first signature of each ends in text,
// until fn returns false. It does not allocate when the matcher holds at most
// 256 vendors with signatures.
func (m *Matcher) Each(text []byte, fn func(v *Vendor) bool) {
	st := m.Start()
	st.Feed(text, fn)
}

// MaxLen is the length of the longest signature; a caller that matches
// windows instead of using MatchState must overlap them by MaxLen()-1 bytes.
func (m *Matcher) MaxLen() int {
	if m == nil {
		return 0
	}
	return m.maxLen
}

// Len is the number of signatures.
func (m *Matcher) Len() int {
	if m == nil {
		return 0
	}
	return m.npat
}

// Vendors returns the vendors that have signatures. Do not modify.
func (m *Matcher) Vendors() []*Vendor {
	if m == nil {
		return nil
	}
	return m.vendors
}

// MemSize is the approximate size of the automaton's tables in bytes.
func (m *Matcher) MemSize() int {
	if m == nil {
		return 0
	}
	return len(m.trans)*4 + len(m.outStart)*4 + len(m.out)*4 + len(m.class)*2
}

// MatchState is the state of a match over text that arrives in chunks, such
// as a streamed inline script: a signature split across chunks is found, and
// each vendor is reported once across all chunks. Get one from
// Matcher.Start. It is not safe for concurrent use; it holds no reference to
// the chunks fed to it.
type MatchState struct {
	m     *Matcher
	state uint32 // encoded: row offset << 1 | hasOutput
	seen  [4]uint64
	more  []uint64 // seen bits past 256 vendors
}

// Start returns a match state at the beginning of a text.
func (m *Matcher) Start() MatchState { return MatchState{m: m} }

// Reset returns st to the beginning of a text, forgetting reported vendors.
func (st *MatchState) Reset() {
	st.state = 0
	st.seen = [4]uint64{}
	clear(st.more)
}

// Feed matches the next chunk of text and calls fn for every vendor found for
// the first time since Start or Reset, until fn returns false. It reports
// whether matching may go on (fn never returned false).
func (st *MatchState) Feed(chunk []byte, fn func(v *Vendor) bool) bool {
	m := st.m
	if m == nil || len(m.trans) == 0 {
		return true
	}
	trans, class := m.trans, &m.class
	s := st.state
	for i := 0; i < len(chunk); i++ {
		s = trans[s>>1+uint32(class[chunk[i]])]
		if s&1 == 0 {
			continue
		}
		node := s >> 1 / m.nclass
		for _, vi := range m.out[m.outStart[node]:m.outStart[node+1]] {
			if st.mark(vi) && !fn(m.vendors[vi]) {
				st.state = s
				return false
			}
		}
	}
	st.state = s
	return true
}

// mark records vendor vi as reported and says whether it was new.
func (st *MatchState) mark(vi uint32) bool {
	w, b := vi/64, uint64(1)<<(vi%64)
	var word *uint64
	if w < uint32(len(st.seen)) {
		word = &st.seen[w]
	} else {
		w -= uint32(len(st.seen))
		if int(w) >= len(st.more) {
			st.more = append(st.more, make([]uint64, int(w)+1-len(st.more))...)
		}
		word = &st.more[w]
	}
	if *word&b != 0 {
		return false
	}
	*word |= b
	return true
}
