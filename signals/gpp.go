package signals

import "bytes"

// gppResult is what a GPP string decides, independent of site: it is the
// value kept in the cache.
type gppResult struct {
	// sections is the set of section ids in the header (bit id).
	sections uint64
	// optOut is the set of sections that opted the visitor out: a US section
	// with SaleOptOut, SharingOptOut or TargetedAdvertisingOptOut = 1 or a
	// true GPC sub-section, or uspv1 with OptOutSale 'Y'.
	optOut uint64
	// gpc is the set of sections whose GPC sub-section says true (a subset
	// of optOut): GPC counts from any section, even where a governing
	// section decides the rest (Reader, site.StateHeader).
	gpc uint64
	// tcf is the decoded tcfeuv2 section, when sections has bit 2.
	tcf tcfResult
	// tcfca is the decoded tcfcav1 section (TCF Canada), when sections has
	// bit 5: purposes and vendors are its express consents.
	tcfca tcfResult
	// fail is the first problem; a GPP string with a problem is an opt-out.
	fail failure
}

// failure is a parse problem: a reason, the section id it happened in (0 for
// the header) and a constant description. It is a value, so reporting one
// allocates nothing.
type failure struct {
	reason  Reason
	section int16
	what    string
}

func (f failure) ok() bool { return f.reason == ReasonNone }

// sizeFailure is the failure of a consent string of n bytes that is empty
// or longer than MaxSignalLen, saying empty or tooLong; none for another.
func sizeFailure(n int, empty, tooLong string) failure {
	switch {
	case n == 0:
		return failure{reason: ReasonEmpty, what: empty}
	case n > MaxSignalLen:
		return failure{reason: ReasonTooLong, what: tooLong}
	}
	return failure{}
}

// gppSink receives what Explain shows; nil on the Read path.
type gppSink struct {
	ids      []int
	sections map[string]any
}

// parseGPP decodes a GPP string (IAB Global Privacy Platform, Consent String
// Specification v1): header~section~section, each base64url, sub-sections
// after '.'. A string starting with 'C' is a bare TCF v2 string (the
// specification's note on the first character) and is read as section 2.
func parseGPP(s []byte, sink *gppSink) gppResult {
	var res gppResult
	if res.fail = sizeFailure(len(s), "empty string", "string too long"); !res.fail.ok() {
		return res
	}
	if s[0] == 'C' {
		res.sections = 1 << sidTCFEUv2
		var ts *tcfSink
		if sink != nil {
			sink.ids = append(sink.ids, sidTCFEUv2)
			ts = &tcfSink{}
		}
		res.tcf = parseTCF(s, ts)
		if !res.tcf.fail.ok() {
			res.fail = res.tcf.fail
			res.fail.section = sidTCFEUv2
		}
		if sink != nil {
			sink.sections["tcfeuv2"] = ts.out
		}
		return res
	}
	header, rest, more := bytes.Cut(s, tilde)
	r, why := newBitReader(header)
	if why != ReasonNone {
		res.fail = failure{reason: why, what: "bad base64 in header"}
		return res
	}
	if t := r.read(6); r.err == 0 && t != 3 {
		res.fail = failure{reason: ReasonBadHeader, what: "header type is not 3"}
		return res
	}
	if v := r.read(6); r.err == 0 && v != 1 {
		res.fail = failure{reason: ReasonBadVersion, what: "header version is not 1"}
		return res
	}
	// Sections: Range(Fibonacci): int12 count, then per item a group bit,
	// the Fibonacci offset from the previous id and, for a group, the
	// Fibonacci length (the end is start + length).
	var ids [maxSID + 1]uint8
	nids := 0
	count := int(r.read(12))
	last := uint64(0)
	for i := 0; i < count && r.err == 0; i++ {
		group := r.readBool()
		start := last + r.readFib()
		end := start
		if group {
			end = start + r.readFib()
		}
		if r.err != 0 {
			break
		}
		if end > maxSID || end-start > maxSID {
			res.fail = failure{reason: ReasonBadRange, what: "section id out of range"}
			return res
		}
		for id := start; id <= end; id++ {
			if nids == len(ids) {
				res.fail = failure{reason: ReasonBadRange, what: "too many sections"}
				return res
			}
			ids[nids] = uint8(id)
			nids++
			res.sections |= 1 << id
		}
		last = end
	}
	if r.err != 0 {
		res.fail = failure{reason: r.err, what: "header section range"}
		return res
	}
	if sink != nil {
		for _, id := range ids[:nids] {
			sink.ids = append(sink.ids, int(id))
		}
	}
	// One '~'-separated part per listed id, in header order, and nothing
	// after the last. A header that lists no section ("DBAA", what the IAB
	// encoders write when none applies) is valid and decides nothing; a '~'
	// after it is a part the header does not list (iabgpp-es GppModel
	// decodeModel: the part count must equal the id count).
	for i := 0; i < nids; i++ {
		if !more {
			res.fail = failure{reason: ReasonBadHeader, section: int16(ids[i]), what: "fewer sections than the header lists"}
			return res
		}
		var part []byte
		part, rest, more = bytes.Cut(rest, tilde)
		id := int(ids[i])
		if f := res.section(id, part, sink); !f.ok() {
			f.section = int16(id)
			res.fail = f
			return res
		}
	}
	if more {
		res.fail = failure{reason: ReasonBadHeader, what: "more sections than the header lists"}
	}
	return res
}

var (
	tilde = []byte("~")
	dot   = []byte(".")
)

// section decodes one section and records whether it opted out.
func (res *gppResult) section(id int, part []byte, sink *gppSink) failure {
	if len(part) == 0 {
		return failure{reason: ReasonEmpty, what: "empty section"}
	}
	switch id {
	case sidTCFEUv2:
		sink.tcf("tcfeuv2", func(ts *tcfSink) { res.tcf = parseTCF(part, ts) })
		return res.tcf.fail
	case sidTCFCAv1:
		sink.tcf("tcfcav1", func(ts *tcfSink) { res.tcfca = parseTCFCA(part, ts) })
		return res.tcfca.fail
	case sidUSPv1:
		return res.uspSection(id, part, sink)
	}
	return res.usSection(id, part, sink)
}

// tcf runs parse, a TCF section's decoder, with a sink for Explain when s
// is not nil, and files what it shows under name.
func (s *gppSink) tcf(name string, parse func(ts *tcfSink)) {
	if s == nil {
		parse(nil)
		return
	}
	ts := &tcfSink{}
	parse(ts)
	s.sections[name] = ts.out
}

// uspSection decodes the uspv1 section: the US Privacy string, unencoded
// ("1YNN").
func (res *gppResult) uspSection(id int, part []byte, sink *gppSink) failure {
	u, err := ParseUSP(part)
	if sink != nil {
		sink.sections["uspv1"] = map[string]any{
			"Version": int(u.Version - '0'), "Notice": string(u.ExplicitNotice),
			"OptOutSale": string(u.OptOutSale), "LspaCovered": string(u.LSPACovered),
		}
	}
	if err != nil {
		return failure{reason: ReasonBadValue, what: "bad US Privacy string"}
	}
	if u.OptOutSale == 'Y' {
		res.optOut |= 1 << uint(id)
	}
	return failure{}
}

// usSection decodes a section of the US national or a state's privacy
// law: the core segment, then its sub-sections.
func (res *gppResult) usSection(id int, part []byte, sink *gppSink) failure {
	core, subs, hasSubs := bytes.Cut(part, dot)
	r, why := newBitReader(core)
	if why != ReasonNone {
		if why == ReasonBadBase64 {
			return failure{reason: why, what: "bad base64"}
		}
		return failure{reason: why, what: "bad core segment"}
	}
	version := r.read(6)
	sec, known := usSectionFor(id, version)
	if !known {
		// A section this package does not decode (a newer one): its
		// presence is recorded, it decides nothing.
		return failure{}
	}
	if sec == nil {
		return failure{reason: ReasonBadVersion, what: "unknown section version"}
	}
	var out map[string]any
	if sink != nil {
		out = map[string]any{}
		sink.sections[sec.name] = out
	}
	r.pos = 0
	opted, f := sec.readCore(&r, out)
	if f.reason != ReasonNone {
		return f
	}
	if sec.sensitive > 0 && hasSubs {
		if f := sec.readSensitive(subs, out); f.reason != ReasonNone {
			return f
		}
		hasSubs = false
	}
	gpc := false
	if hasSubs {
		if gpc, f = readGPCSubsections(subs, out); f.reason != ReasonNone {
			return f
		}
	}
	// Only a section that parsed whole records anything (a later
	// sub-section may still fail it).
	if opted || gpc {
		res.optOut |= 1 << uint(id)
	}
	if gpc {
		res.gpc |= 1 << uint(id)
	}
	return failure{}
}

// readCore reads the fields of a US section's core segment into out (when
// not nil) and reports whether one of its opt-out fields is 1.
func (sec *usSection) readCore(r *bitReader, out map[string]any) (opted bool, _ failure) {
	for _, f := range sec.fields {
		if f.n == 0 {
			v := r.read(int(f.bits))
			if f.role != roleVersion && v == 3 {
				r.err = ReasonBadValue
			}
			if f.role == roleOptOut && v == 1 {
				opted = true
			}
			if out != nil && r.err == 0 {
				out[f.name] = int(v)
			}
			continue
		}
		var vals []int
		for j := 0; j < int(f.n); j++ {
			v := r.read(int(f.bits))
			if v == 3 {
				r.err = ReasonBadValue
			}
			if out != nil {
				vals = append(vals, int(v))
			}
		}
		if out != nil && r.err == 0 {
			out[f.name] = vals
		}
	}
	switch r.err {
	case 0:
		return opted, failure{}
	case ReasonBadValue:
		return false, failure{reason: r.err, what: "field value 3 is not defined"}
	}
	return false, failure{reason: r.err, what: "core segment too short"}
}

// readSensitive reads the one Sensitive Data Consents sub-section of usin,
// usky and usri: its 2-bit values and no type field. It decides nothing,
// but is read so that a malformed one fails.
func (sec *usSection) readSensitive(subs []byte, out map[string]any) failure {
	sub, more, extra := bytes.Cut(subs, dot)
	if extra || len(more) > 0 {
		return failure{reason: ReasonBadValue, what: "more than one sub-section"}
	}
	sr, why := newBitReader(sub)
	if why != ReasonNone {
		return failure{reason: why, what: "bad sub-section"}
	}
	var vals []int
	for j := 0; j < int(sec.sensitive); j++ {
		v := sr.read(2)
		if sr.err != 0 {
			return failure{reason: sr.err, what: "sensitive data sub-section too short"}
		}
		if v == 3 {
			return failure{reason: ReasonBadValue, what: "field value 3 is not defined"}
		}
		if out != nil {
			vals = append(vals, int(v))
		}
	}
	if out != nil {
		out["SensitiveDataProcessing"] = vals
	}
	return failure{}
}

// readGPCSubsections reads the sub-sections of the other US sections: a
// 2-bit SubsectionType; type 1 is GPC, one bit. Other types carry nothing
// that decides an opt-out and are skipped. It reports whether GPC is true.
func readGPCSubsections(subs []byte, out map[string]any) (gpcTrue bool, _ failure) {
	for more := true; more; {
		var sub []byte
		sub, subs, more = bytes.Cut(subs, dot)
		sr, why := newBitReader(sub)
		if why != ReasonNone {
			return false, failure{reason: why, what: "bad sub-section"}
		}
		if t := sr.read(2); t == 1 {
			gpc := sr.readBool()
			if sr.err != 0 {
				return false, failure{reason: sr.err, what: "GPC sub-section too short"}
			}
			gpcTrue = gpcTrue || gpc
			if out != nil {
				out["Gpc"] = gpc
			}
		}
	}
	return gpcTrue, failure{}
}

// parseSID parses __gpp_sid: section ids separated by commas (or '_', which
// some CMPs write), e.g. "7" or "2,7". "-1" means no section applies.
func parseSID(s []byte) (set uint64, ok bool) {
	if len(s) == 0 || len(s) > 256 {
		return 0, false
	}
	if string(s) == "-1" {
		return 0, true
	}
	n, digits := 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' || s[i] == '_' {
			if digits == 0 || n > maxSID {
				return 0, false
			}
			set |= 1 << uint(n)
			n, digits = 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits > 3 {
			return 0, false
		}
		n = n*10 + int(c-'0')
		digits++
	}
	return set, true
}
