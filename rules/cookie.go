package rules

import (
	"sort"
	"strings"
)

type cookiePrefix struct {
	prefix string
	v      *Vendor
}

// prefixTable finds the longest cookie prefix of a name: the entries are
// sorted, and each knows its longest proper prefix in the table (parent). The
// longest prefix p of a name, if any, is a prefix of the greatest entry <= the
// name, so it is on that entry's parent chain.
type prefixTable struct {
	entries []cookiePrefix
	parent  []int // index of the longest entry that is a proper prefix, or -1
}

func newPrefixTable(ps []cookiePrefix) prefixTable {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].prefix < ps[j].prefix })
	// Drop duplicates: the first vendor (in catalogue order) keeps a prefix.
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p.prefix == out[len(out)-1].prefix {
			continue
		}
		out = append(out, p)
	}
	t := prefixTable{entries: out, parent: make([]int, len(out))}
	for i := range out {
		t.parent[i] = -1
		for j := i - 1; j >= 0; j = t.parent[j] {
			if strings.HasPrefix(out[i].prefix, out[j].prefix) {
				t.parent[i] = j
				break
			}
			if t.parent[j] < 0 {
				break
			}
		}
	}
	return t
}

func (t *prefixTable) lookup(name []byte) *Vendor {
	// Greatest entry <= name.
	lo, hi := 0, len(t.entries)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.entries[m].prefix <= string(name) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for i := lo - 1; i >= 0; i = t.parent[i] {
		p := t.entries[i].prefix
		if len(name) >= len(p) && string(name[:len(p)]) == p {
			return t.entries[i].v
		}
	}
	return nil
}
