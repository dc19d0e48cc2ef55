package receipt

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
)

// What a Break is.
const (
	// BreakEdited: a line's bytes are no longer those the next record's
	// prev was computed from, or the line is not a record at all.
	BreakEdited = "edited"
	// BreakDeleted: records are missing inside a file.
	BreakDeleted = "deleted"
	// BreakReordered: a record is not where its prev says it belongs.
	BreakReordered = "reordered"
	// BreakGap: records are missing between two files (a file removed or
	// cut short, or the files were given out of order).
	BreakGap = "gap between files"
	// BreakTorn: a line without its newline before the end of the chain.
	BreakTorn = "torn"
)

// Break is one place where the chain does not hold.
type Break struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Seq    uint64 `json:"seq,omitempty"`
	What   string `json:"what"`
	Detail string `json:"detail"`
}

func (b Break) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", b.File, b.Line, b.What, b.Detail)
}

// Summary is what Verify found.
type Summary struct {
	Files    int    `json:"files"`
	Records  int    `json:"records"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	// Head is the hash of the last record: compare it with the head the
	// proxy logged ("receipts file closed") to see that nothing was cut
	// from the end, which the chain alone cannot show.
	Head string `json:"head"`
	// Genesis: the first record is the first of its chain (prev ""); else
	// older files were not given (removed by retention, say).
	Genesis bool    `json:"genesis"`
	Breaks  []Break `json:"breaks"`
	// Warnings do not break the chain: restarts after a crash (up to one
	// flush interval of records lost), records dropped on a full queue, a
	// torn last line the proxy will cut when it starts again.
	Warnings []Break `json:"warnings"`
	Lost     uint64  `json:"lost"`
}

// OK reports whether the chain holds.
func (s *Summary) OK() bool { return len(s.Breaks) == 0 }

type verifyLine struct {
	file       int32
	no         int32
	seq        uint64
	hash, prev [32]byte
	hasPrev    bool // prev is not ""
	valid      bool // decoded, with a sequence number and a well-formed prev
	torn       bool
	kind       string
	clean      bool
}

// Verify checks the hash chain over the files, in the order given (a chain
// may span files; "receipts-*.jsonl" in a shell lists them in order). It
// returns an error only when a file cannot be read; what is wrong with the
// chain is in the Summary.
//
// Each record's prev must be the hash of the line before it (of the last
// line of the previous file for a file's first line). Where it is not, the
// break is named by what the prev points to: another line (reordered), no
// line but the record with the sequence number before it exists (that line
// was edited), or nothing (deleted, or a gap between files).
func Verify(paths []string) (*Summary, error) {
	c := &chain{paths: paths, byHash: map[[32]byte]int{}, bySeq: map[uint64]int{},
		s: &Summary{Files: len(paths), Breaks: []Break{}, Warnings: []Break{}}}
	if err := ReadLines(paths, c.add); err != nil {
		return nil, err
	}
	s := c.s
	c.dropTornEnd()
	s.Records = len(c.lines)
	if len(c.lines) == 0 {
		return s, nil
	}
	c.ends()
	skipNext := false // the line before was reported already
	for i := range c.lines {
		skipNext = c.link(i, skipNext)
	}
	if s.Lost > 0 {
		s.Warnings = append(s.Warnings, Break{What: "lost", Detail: fmt.Sprintf("%d records were dropped on a full queue (each place says so in its next record's lost member)", s.Lost)})
	}
	return s, nil
}

// chain is the state of Verify: the lines read, indexes of them by hash
// and by sequence number (the first line of each), and the Summary so far.
type chain struct {
	paths  []string
	lines  []verifyLine
	byHash map[[32]byte]int
	bySeq  map[uint64]int
	s      *Summary
}

// add decodes and indexes one line read.
func (c *chain) add(l Line) error {
	v := verifyLine{no: int32(l.No), hash: sha256.Sum256(l.Raw), torn: l.Torn}
	for i, p := range c.paths {
		if p == l.File {
			v.file = int32(i)
		}
	}
	var r struct {
		Seq   uint64  `json:"seq"`
		Prev  *string `json:"prev"`
		Kind  string  `json:"kind"`
		Clean bool    `json:"clean"`
		Lost  uint64  `json:"lost"`
	}
	if json.Unmarshal(l.Raw, &r) == nil && r.Seq > 0 && r.Prev != nil {
		v.seq, v.kind, v.clean = r.Seq, r.Kind, r.Clean
		v.valid = true
		if *r.Prev != "" {
			b, err := hex.DecodeString(*r.Prev)
			if err != nil || len(b) != 32 {
				v.valid = false
			} else {
				copy(v.prev[:], b)
				v.hasPrev = true
			}
		}
		c.s.Lost += r.Lost
	}
	idx := len(c.lines)
	if _, dup := c.byHash[v.hash]; !dup {
		c.byHash[v.hash] = idx
	}
	if v.valid {
		if _, dup := c.bySeq[v.seq]; !dup {
			c.bySeq[v.seq] = idx
		}
	}
	c.lines = append(c.lines, v)
	return nil
}

func (c *chain) name(v verifyLine) string { return c.paths[v.file] }

// pos is line i as file:line, the file's base name only.
func (c *chain) pos(i int) string {
	return fmt.Sprintf("%s:%d", filepath.Base(c.name(c.lines[i])), c.lines[i].no)
}

func (c *chain) at(v verifyLine, what, format string, args ...any) Break {
	return Break{File: c.name(v), Line: int(v.no), Seq: v.seq, What: what, Detail: fmt.Sprintf(format, args...)}
}

func (c *chain) brk(b Break)  { c.s.Breaks = append(c.s.Breaks, b) }
func (c *chain) warn(b Break) { c.s.Warnings = append(c.s.Warnings, b) }

// dropTornEnd drops a torn last line, with a warning.
func (c *chain) dropTornEnd() {
	if n := len(c.lines); n > 0 && c.lines[n-1].torn {
		// A crash while writing the last record: not a break, and not a
		// record; the proxy cuts it off when it starts again.
		c.warn(c.at(c.lines[n-1], BreakTorn, "the last line is incomplete (a crash while writing); consentgate cuts it off when it starts again"))
		c.lines = c.lines[:n-1]
	}
}

// ends sets the Summary's first and last sequence numbers, head and
// genesis, and reports a first record whose prev is a later line.
func (c *chain) ends() {
	first, last := c.lines[0], c.lines[len(c.lines)-1]
	c.s.FirstSeq, c.s.LastSeq = first.seq, last.seq
	c.s.Head = hex.EncodeToString(last.hash[:])
	c.s.Genesis = first.valid && !first.hasPrev
	if first.valid && first.hasPrev {
		if j, ok := c.byHash[first.prev]; ok {
			c.brk(c.at(first, BreakReordered, "the first record (seq %d) follows the record at %s", first.seq, c.pos(j)))
		}
	}
}

// link checks line i against the line before it. skipNext says the line
// before was reported already, so a mismatch of prev is not reported
// again; link returns skipNext for the next line.
func (c *chain) link(i int, skipNext bool) bool {
	v := c.lines[i]
	if v.torn && i != len(c.lines)-1 {
		c.brk(c.at(v, BreakTorn, "the line has no newline and the chain goes on after it"))
	}
	if !v.valid {
		c.brk(c.at(v, BreakEdited, "not a receipt record (no seq or prev): the line was changed or corrupted"))
		return true
	}
	if v.kind == KindStart.String() && !v.clean && i > 0 {
		c.warn(c.at(v, "unclean restart", "the previous run did not stop cleanly: records of up to one flush interval before seq %d may be lost", v.seq))
	}
	if i == 0 {
		return skipNext
	}
	p := c.lines[i-1]
	if v.hasPrev && v.prev == p.hash {
		if p.valid && v.seq != p.seq+1 {
			c.brk(c.at(v, BreakEdited, "seq %d follows seq %d although its prev matches", v.seq, p.seq))
		}
		return false
	}
	if skipNext {
		return false
	}
	if !v.hasPrev {
		c.brk(c.at(v, BreakEdited, "a chain starts again here (prev is empty) after seq %d", p.seq))
		return false
	}
	if j, ok := c.byHash[v.prev]; ok {
		c.brk(c.at(v, BreakReordered, "seq %d belongs after the record at %s (seq %d), not after seq %d", v.seq, c.pos(j), c.lines[j].seq, p.seq))
		return false
	}
	if j, ok := c.bySeq[v.seq-1]; ok && v.seq > 1 {
		e := c.lines[j]
		c.brk(c.at(e, BreakEdited, "the record (seq %d) does not hash to the prev of seq %d at %s: it was changed after it was written", e.seq, v.seq, c.pos(i)))
		return false
	}
	c.brk(c.missing(p, v))
	return false
}

// missing is the break where v's prev points to no line and no record
// with the sequence number before v's exists: records were deleted inside
// a file, or lost between files.
func (c *chain) missing(p, v verifyLine) Break {
	from := p.seq + 1
	if p.seq >= v.seq {
		from = 0
	}
	missing := "the record before it is missing"
	if from > 0 && from <= v.seq-1 {
		missing = fmt.Sprintf("records %d to %d are missing (%d)", from, v.seq-1, v.seq-from)
		if from == v.seq-1 {
			missing = fmt.Sprintf("record %d is missing", from)
		}
	}
	if v.file != p.file {
		return c.at(v, BreakGap, "%s between %s and %s", missing, filepath.Base(c.name(p)), filepath.Base(c.name(v)))
	}
	return c.at(v, BreakDeleted, "%s before seq %d", missing, v.seq)
}
