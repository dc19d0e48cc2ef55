package signals

import (
	"bytes"
	"strconv"
	"strings"
)

// Propagation: what the proxy tells the vendors that stay on an opted-out
// visitor's page, in their own terms, so that their own opt-out logic
// fires (rules.Site.Propagate; docs/signals.md, "Propagation"). This file
// builds the values; the proxy writes them as first-party cookies and the
// head script answers __uspapi and __gpp with them.
//
// Never weaken: a value the visitor already holds that opts out at least
// as far is left alone; a weaker one is strengthened in the fields that
// say "opted out" and kept in the rest (the US Privacy LSPA character, the
// GPP sections other than usnat).

// USPOptOut is the US Privacy string written for a visitor who opted out
// and holds none (IAB "U.S. Privacy String" v1): version 1; explicit
// notice Y, since the visitor exercised an opt-out the site offers and
// honours; opt-out of sale Y; LSPA N, since the proxy cannot know that the
// publisher signed the IAB Limited Service Provider Agreement (a string
// the visitor holds keeps its own LSPA character).
const USPOptOut = "1YYN"

// PropagateUSP returns the US Privacy string to tell the vendors of a
// visitor who opted out, given the usprivacy value they hold (nil: none),
// and whether it differs from that value, so a cookie must be written.
// A valid string that opts out already is kept; a valid one that does not
// gets notice and opt-out Y and keeps its LSPA character; anything else
// (none, malformed) becomes USPOptOut.
func PropagateUSP(have []byte) (string, bool) {
	u, err := ParseUSP(have)
	switch {
	case err != nil:
		return USPOptOut, true
	case u.OptOutSale == 'Y':
		return string(have), false
	}
	return "1YY" + string(u.LSPACovered), true
}

// The GPP strings written for a visitor who opted out and holds no GPP
// string: a header listing section 7 and a usnat (US National) version 2
// section that opts out of sale, sharing and targeted advertising, with
// its GPC sub-section saying whether GPC (Sec-GPC: 1) was a source.
// Computed by encodeUSNatOptOut; TestPropagatedGPP holds them to the IAB
// reference encoder's layout and to this package's decoder.
var (
	GPPOptOut    = gppHeaderFor(1<<sidUSNat) + "~" + encodeUSNatOptOut(false)
	GPPOptOutGPC = gppHeaderFor(1<<sidUSNat) + "~" + encodeUSNatOptOut(true)
)

// GPPSIDOptOut is the __gpp_sid written with GPPOptOut: usnat applies.
const GPPSIDOptOut = "7"

// usnatOptOutFields are the usnat v2 core fields written, in the order of
// the IAB table (Sections/US-National, v2: SensitiveDataProcessing 16
// values, KnownChildSensitiveDataConsents 3). Each value is chosen so that
// the section passes the validation the IAB encoders applied (iabgpp-java
// ace7fa7a UsNatCoreSegment.java:115-241, validate(), removed from the
// encoder in b81de8a but still what decoders such as iabgpp-rs check:
// noirotm/iabgpp-rs src/sections/usnat.rs, UsNat::validate) and says what
// the proxy knows:
//
//   - SharingNotice, SaleOptOutNotice, SharingOptOutNotice,
//     TargetedAdvertisingOptOutNotice 1 (provided): an opted-out value
//     needs a notice of 1 or 2, and the site offers the opt-out it honours.
//   - SensitiveDataProcessingOptOutNotice, SensitiveDataLimitUseNotice,
//     SensitiveDataProcessing, KnownChildSensitiveDataConsents,
//     PersonalDataConsents 0 (not applicable): the proxy knows nothing of
//     them.
//   - SaleOptOut, SharingOptOut, TargetedAdvertisingOptOut 1 (opted out).
//   - MspaCoveredTransaction 2 (no): the proxy cannot know that the
//     publisher signed the MSPA. MspaServiceProviderMode 2 and
//     MspaOptOutOptionMode 1, the only pair the validation accepts with
//     notices provided.
var usnatOptOutFields = [][2]int{
	{6, 2},                         // Version
	{2, 1}, {2, 1}, {2, 1}, {2, 1}, // SharingNotice … TargetedAdvertisingOptOutNotice
	{2, 0}, {2, 0}, // SensitiveDataProcessingOptOutNotice, SensitiveDataLimitUseNotice
	{2, 1}, {2, 1}, {2, 1}, // SaleOptOut, SharingOptOut, TargetedAdvertisingOptOut
	{32, 0},                // SensitiveDataProcessing, 16 × 2 bits
	{6, 0},                 // KnownChildSensitiveDataConsents, 3 × 2 bits
	{2, 0},                 // PersonalDataConsents
	{2, 2}, {2, 1}, {2, 2}, // MspaCoveredTransaction, MspaOptOutOptionMode, MspaServiceProviderMode
}

// encodeUSNatOptOut encodes the usnat section of GPPOptOut: the core, then
// the GPC sub-section (SubsectionType 1, Gpc), as the IAB reference
// encoder writes both.
func encodeUSNatOptOut(gpc bool) string {
	var w bitWriter
	for _, f := range usnatOptOutFields {
		w.put(uint64(f[1]), f[0])
	}
	core := w.base64()
	w = bitWriter{}
	w.put(1, 2)
	g := uint64(0)
	if gpc {
		g = 1
	}
	w.put(g, 1)
	return core + "." + w.base64()
}

// bitWriter collects big-endian bit fields and writes them as base64url
// the way the IAB GPP encoders do ("CompressedBase64UrlEncoder": zero
// bits up to a whole byte, then up to a whole character).
type bitWriter struct{ bits []byte }

func (w *bitWriter) put(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		w.bits = append(w.bits, byte(v>>uint(i))&1)
	}
}

// putFib writes v (≥ 1) as a Fibonacci code word ending in "11".
func (w *bitWriter) putFib(v uint64) {
	k := 0
	for k+1 < len(fib) && fib[k+1] <= v {
		k++
	}
	word := make([]byte, k+1)
	for i := k; i >= 0; i-- {
		if fib[i] <= v {
			word[i] = 1
			v -= fib[i]
		}
	}
	w.bits = append(append(w.bits, word...), 1)
}

func (w *bitWriter) base64() string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for len(w.bits)%8 != 0 {
		w.bits = append(w.bits, 0)
	}
	for len(w.bits)%6 != 0 {
		w.bits = append(w.bits, 0)
	}
	out := make([]byte, 0, len(w.bits)/6)
	for i := 0; i < len(w.bits); i += 6 {
		c := 0
		for _, b := range w.bits[i : i+6] {
			c = c<<1 | int(b)
		}
		out = append(out, alpha[c])
	}
	return string(out)
}

// gppHeaderFor encodes a GPP header (Type 3, Version 1) listing the
// section ids in set, as the IAB reference encoder does
// (FibonacciIntegerRangeEncoder): runs of consecutive ids become one group
// (its start as an offset from the previous end, then its length), single
// ids one item.
func gppHeaderFor(set uint64) string {
	var ids []uint64
	for id := uint64(1); id <= maxSID; id++ {
		if set&(1<<id) != 0 {
			ids = append(ids, id)
		}
	}
	var groups [][2]uint64
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		groups = append(groups, [2]uint64{ids[i], ids[j]})
		i = j + 1
	}
	var w bitWriter
	w.put(3, 6)
	w.put(1, 6)
	w.put(uint64(len(groups)), 12)
	last := uint64(0)
	for _, g := range groups {
		if g[0] == g[1] {
			w.put(0, 1)
			w.putFib(g[0] - last)
		} else {
			w.put(1, 1)
			w.putFib(g[0] - last)
			w.putFib(g[1] - g[0])
		}
		last = g[1]
	}
	return w.base64()
}

// usIDs are the section ids of the US sections, uspv1 included: in a
// __gpp_sid written by PropagateGPP, usnat takes their place.
const usIDs = uint64(1)<<(27+1) - 1<<sidUSPv1

// PropagateGPP returns the GPP string and __gpp_sid to tell the vendors of
// a visitor who opted out, given the values they hold (nil: none), and
// whether either differs, so cookies must be written. gpc says that GPC
// was a source of the opt-out.
//
//   - None, or one that does not parse (which the edge reads as an opt-out
//     already): GPPOptOut (GPPOptOutGPC with gpc) and GPPSIDOptOut.
//   - One whose usnat section opts out of sale, sharing and targeted
//     advertising (with a true GPC sub-section, when gpc) and whose
//     __gpp_sid, if any, lists usnat: kept.
//   - Otherwise the string is spliced: its usnat section is replaced by
//     the opt-out one (or added), every other section is kept as it was,
//     and the header lists them all. The __gpp_sid keeps the sections it
//     listed (all of the string's, without one) except the US ones, whose
//     place usnat takes: vendors that read the applicable sections then
//     read the opt-out.
func PropagateGPP(have, haveSID []byte, gpc bool) (gpp, sid string, write bool) {
	ours := GPPOptOut
	if gpc {
		ours = GPPOptOutGPC
	}
	res := parseGPP(have, nil)
	if len(have) == 0 || !res.fail.ok() {
		return ours, GPPSIDOptOut, true
	}
	sidSet, sidOK := uint64(0), false
	if len(haveSID) > 0 {
		sidSet, sidOK = parseSID(haveSID)
	}
	parts := gppParts(have, res.sections)
	if p, ok := parts[sidUSNat]; ok && usnatOptsOut(p, gpc) && (len(haveSID) == 0 || sidOK && sidSet&(1<<sidUSNat) != 0) {
		return string(have), string(haveSID), false
	}
	parts[sidUSNat] = ours[strings.IndexByte(ours, '~')+1:]
	sections := res.sections | 1<<sidUSNat
	var b strings.Builder
	b.WriteString(gppHeaderFor(sections))
	for id := 1; id <= maxSID; id++ {
		if sections&(1<<id) != 0 {
			b.WriteByte('~')
			b.WriteString(parts[id])
		}
	}
	base := res.sections
	if sidOK {
		base = sidSet
	}
	applicable := base&^usIDs | 1<<sidUSNat
	var s []byte
	for id := 1; id <= maxSID; id++ {
		if applicable&(1<<id) != 0 {
			if len(s) > 0 {
				s = append(s, ',')
			}
			s = strconv.AppendInt(s, int64(id), 10)
		}
	}
	return b.String(), string(s), true
}

// gppParts returns the section parts of a GPP string that parseGPP read
// without failure, by id. A bare TC string is section 2.
func gppParts(s []byte, sections uint64) map[int]string {
	parts := map[int]string{}
	if s[0] == 'C' {
		parts[sidTCFEUv2] = string(s)
		return parts
	}
	rest := s[bytes.IndexByte(s, '~')+1:]
	for id := 1; id <= maxSID; id++ {
		if sections&(1<<id) == 0 {
			continue
		}
		part, after, _ := bytes.Cut(rest, tilde)
		parts[id] = string(part)
		rest = after
	}
	return parts
}

// usnatOptsOut reports whether a usnat section (v1 or v2: the first
// fields are the same) says SaleOptOut, SharingOptOut and
// TargetedAdvertisingOptOut are 1 and, when gpc, has a true GPC
// sub-section.
func usnatOptsOut(part string, gpc bool) bool {
	core, subs, hasSubs := strings.Cut(part, ".")
	r, why := newBitReader([]byte(core))
	if why != ReasonNone {
		return false
	}
	r.skip(6 + 6*2) // Version, six notices
	for i := 0; i < 3; i++ {
		if r.read(2) != 1 {
			return false
		}
	}
	if r.err != 0 {
		return false
	}
	if !gpc {
		return true
	}
	for hasSubs {
		var sub string
		sub, subs, hasSubs = strings.Cut(subs, ".")
		sr, why := newBitReader([]byte(sub))
		if why == ReasonNone && sr.read(2) == 1 && sr.readBool() && sr.err == 0 {
			return true
		}
	}
	return false
}

// IsPropagated reports whether value is one the proxy writes for cookie
// name when the visitor holds none (USPOptOut, GPPOptOut, GPPOptOutGPC,
// GPPSIDOptOut), so withdrawing an opt-out may expire it: a value a
// consent tool wrote, or one spliced into its string, is not.
func IsPropagated(name string, value []byte) bool {
	switch name {
	case "usprivacy":
		return string(value) == USPOptOut
	case "__gpp":
		return string(value) == GPPOptOut || string(value) == GPPOptOutGPC
	case "__gpp_sid":
		return string(value) == GPPSIDOptOut
	}
	return false
}

// PropagatedUSNat returns the usnat section of GPPOptOut (GPPOptOutGPC
// with gpc) as the GPP CMP API represents a section: the core sub-section
// object, then the GPC sub-section object ({SubsectionType: 1, Gpc}),
// fields by their names in the IAB specification. It is decoded from the
// string by the decoder the edge reads it with, so the API and the string
// cannot disagree.
func PropagatedUSNat(gpc bool) []map[string]any {
	s := GPPOptOut
	if gpc {
		s = GPPOptOutGPC
	}
	sink := &gppSink{sections: map[string]any{}}
	if res := parseGPP([]byte(s), sink); !res.fail.ok() {
		panic("signals: the propagated GPP string does not parse: " + res.fail.what)
	}
	core := sink.sections["usnat"].(map[string]any)
	sub := map[string]any{"SubsectionType": 1, "Gpc": core["Gpc"]}
	delete(core, "Gpc")
	return []map[string]any{core, sub}
}
