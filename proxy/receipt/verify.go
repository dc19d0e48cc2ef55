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
	s := &Summary{Files: len(paths), Breaks: []Break{}, Warnings: []Break{}}
	var lines []verifyLine
	byHash := map[[32]byte]int{}
	bySeq := map[uint64]int{}
	err := ReadLines(paths, func(l Line) error {
		v := verifyLine{no: int32(l.No), hash: sha256.Sum256(l.Raw), torn: l.Torn}
		for i, p := range paths {
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
			s.Lost += r.Lost
		}
		idx := len(lines)
		if _, dup := byHash[v.hash]; !dup {
			byHash[v.hash] = idx
		}
		if v.valid {
			if _, dup := bySeq[v.seq]; !dup {
				bySeq[v.seq] = idx
			}
		}
		lines = append(lines, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	name := func(v verifyLine) string { return paths[v.file] }
	at := func(v verifyLine, what, format string, args ...any) Break {
		return Break{File: name(v), Line: int(v.no), Seq: v.seq, What: what, Detail: fmt.Sprintf(format, args...)}
	}
	if n := len(lines); n > 0 && lines[n-1].torn {
		// A crash while writing the last record: not a break, and not a
		// record; the proxy cuts it off when it starts again.
		s.Warnings = append(s.Warnings, at(lines[n-1], BreakTorn, "the last line is incomplete (a crash while writing); consentgate cuts it off when it starts again"))
		lines = lines[:n-1]
	}
	s.Records = len(lines)
	if len(lines) == 0 {
		return s, nil
	}
	pos := func(i int) string {
		return fmt.Sprintf("%s:%d", filepath.Base(name(lines[i])), lines[i].no)
	}
	first, last := lines[0], lines[len(lines)-1]
	s.FirstSeq, s.LastSeq = first.seq, last.seq
	s.Head = hex.EncodeToString(last.hash[:])
	s.Genesis = first.valid && !first.hasPrev
	if first.valid && first.hasPrev {
		if j, ok := byHash[first.prev]; ok {
			s.Breaks = append(s.Breaks, at(first, BreakReordered, "the first record (seq %d) follows the record at %s", first.seq, pos(j)))
		}
	}
	skipNext := false // the line before was reported already
	for i := range lines {
		v := lines[i]
		if v.torn && i != len(lines)-1 {
			s.Breaks = append(s.Breaks, at(v, BreakTorn, "the line has no newline and the chain goes on after it"))
		}
		if !v.valid {
			s.Breaks = append(s.Breaks, at(v, BreakEdited, "not a receipt record (no seq or prev): the line was changed or corrupted"))
			skipNext = true
			continue
		}
		if v.kind == KindStart.String() && !v.clean && i > 0 {
			s.Warnings = append(s.Warnings, at(v, "unclean restart", "the previous run did not stop cleanly: records of up to one flush interval before seq %d may be lost", v.seq))
		}
		if i == 0 {
			continue
		}
		p := lines[i-1]
		if v.hasPrev && v.prev == p.hash {
			if p.valid && v.seq != p.seq+1 {
				s.Breaks = append(s.Breaks, at(v, BreakEdited, "seq %d follows seq %d although its prev matches", v.seq, p.seq))
			}
			skipNext = false
			continue
		}
		if skipNext {
			skipNext = false
			continue
		}
		boundary := v.file != p.file
		if !v.hasPrev {
			s.Breaks = append(s.Breaks, at(v, BreakEdited, "a chain starts again here (prev is empty) after seq %d", p.seq))
			continue
		}
		if j, ok := byHash[v.prev]; ok {
			s.Breaks = append(s.Breaks, at(v, BreakReordered, "seq %d belongs after the record at %s (seq %d), not after seq %d", v.seq, pos(j), lines[j].seq, p.seq))
			continue
		}
		if j, ok := bySeq[v.seq-1]; ok && v.seq > 1 {
			e := lines[j]
			s.Breaks = append(s.Breaks, at(e, BreakEdited, "the record (seq %d) does not hash to the prev of seq %d at %s: it was changed after it was written", e.seq, v.seq, pos(i)))
			continue
		}
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
		if boundary {
			s.Breaks = append(s.Breaks, at(v, BreakGap, "%s between %s and %s", missing, filepath.Base(name(p)), filepath.Base(name(v))))
		} else {
			s.Breaks = append(s.Breaks, at(v, BreakDeleted, "%s before seq %d", missing, v.seq))
		}
	}
	if s.Lost > 0 {
		s.Warnings = append(s.Warnings, Break{What: "lost", Detail: fmt.Sprintf("%d records were dropped on a full queue (each place says so in its next record's lost member)", s.Lost)})
	}
	return s, nil
}
