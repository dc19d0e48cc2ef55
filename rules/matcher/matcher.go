package matcher

// Matcher finds the patterns of values of type V in a text. It is
// immutable and safe for concurrent use; the zero value and a nil *Matcher
// match nothing.
type Matcher[V any] struct {
	class  [256]uint16 // byte → class
	nclass uint32
	trans  []uint32 // state*nclass + class → next<<1 | hasOutput
	// outputs of a state (by row offset / nclass): values[out[outStart[s]:outStart[s+1]]]
	outStart []uint32
	out      []uint32
	values   []V // values with patterns, by matcher index
	maxLen   int
	npat     int
}

// New builds a matcher over the patterns of vs, as patterns returns them.
// Empty patterns are ignored; a value with none is never reported.
func New[V any](vs []V, patterns func(V) []string) *Matcher[V] {
	m := &Matcher[V]{}
	type edge struct {
		class uint16
		next  uint32
	}
	type node struct {
		next []edge // few per node; a linear scan beats a map here
		fail uint32
		out  []uint32
	}
	// Byte classes: 0 for bytes in no pattern.
	for _, v := range vs {
		for _, s := range patterns(v) {
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
	for _, v := range vs {
		vi := uint32(len(m.values))
		added := false
		for _, s := range patterns(v) {
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
			m.values = append(m.values, v)
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

// Each calls fn for every value whose pattern occurs in text, once per
// value, in the order in which a first pattern of each ends in text, until
// fn returns false. It does not allocate when the matcher holds at most 256
// values with patterns.
func (m *Matcher[V]) Each(text []byte, fn func(v V) bool) {
	st := m.Start()
	st.Feed(text, fn)
}

// MaxLen is the length of the longest pattern; a caller that matches
// windows instead of using State must overlap them by MaxLen()-1 bytes.
func (m *Matcher[V]) MaxLen() int {
	if m == nil {
		return 0
	}
	return m.maxLen
}

// Len is the number of patterns.
func (m *Matcher[V]) Len() int {
	if m == nil {
		return 0
	}
	return m.npat
}

// Values returns the values that have patterns. Do not modify.
func (m *Matcher[V]) Values() []V {
	if m == nil {
		return nil
	}
	return m.values
}

// MemSize is the approximate size of the automaton's tables in bytes.
func (m *Matcher[V]) MemSize() int {
	if m == nil {
		return 0
	}
	return len(m.trans)*4 + len(m.outStart)*4 + len(m.out)*4 + len(m.class)*2
}

// State is the state of a match over text that arrives in chunks, such as
// a streamed inline script: a pattern split across chunks is found, and
// each value is reported once across all chunks. Get one from
// Matcher.Start. It is not safe for concurrent use; it holds no reference to
// the chunks fed to it.
type State[V any] struct {
	m     *Matcher[V]
	state uint32 // encoded: row offset << 1 | hasOutput
	seen  [4]uint64
	more  []uint64 // seen bits past 256 values
}

// Start returns a match state at the beginning of a text.
func (m *Matcher[V]) Start() State[V] { return State[V]{m: m} }

// Reset returns st to the beginning of a text, forgetting reported values.
func (st *State[V]) Reset() {
	st.state = 0
	st.seen = [4]uint64{}
	clear(st.more)
}

// Feed matches the next chunk of text and calls fn for every value found
// for the first time since Start or Reset, until fn returns false. It
// reports whether matching may go on (fn never returned false).
func (st *State[V]) Feed(chunk []byte, fn func(v V) bool) bool {
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
			if st.mark(vi) && !fn(m.values[vi]) {
				st.state = s
				return false
			}
		}
	}
	st.state = s
	return true
}

// mark records value vi as reported and says whether it was new.
func (st *State[V]) mark(vi uint32) bool {
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
