package rewrite

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"unicode/utf8"

	"github.com/consentgate/consentgate/rules"
)

// MaxScript bounds the content of an inline script held while it is
// judged. It is far above the largest inline script of real pages (241 KB
// in the 97 pages of the test corpus, 369 KB in the largest seen in the
// field), so that every real script is judged whole, and low enough that a
// page cannot make a response hold more than about 1 MiB (see the package
// documentation, "Bounds").
const MaxScript = 1 << 20

// Decision is what the rewriter did with an inline script.
type Decision uint8

const (
	// Kept: the script was passed through unchanged.
	Kept Decision = iota
	// Removed: the script was removed, start tag, content and end tag.
	Removed
	// Neutralised: the script was kept with type="text/plain" (see
	// Neutralise), its content unchanged.
	Neutralised
	// Data: a data block (JSON, a template, an import map), which never
	// runs: not judged, passed through.
	Data
	// OversizeKept: longer than MaxScript and not decided a tracker in its
	// first MaxScript bytes: passed through unchanged (Stats.Oversize).
	OversizeKept
)

var decisionNames = [...]string{Kept: "kept", Removed: "removed", Neutralised: "neutralised", Data: "data", OversizeKept: "oversize-kept"}

func (d Decision) String() string { return decisionNames[d] }

// Reason says why an inline script was decided as it was.
type Reason uint8

const (
	// ReasonNoEvidence: nothing in the script loads a denied vendor.
	ReasonNoEvidence Reason = iota
	// ReasonLoader: loader evidence and no first-party state: the script
	// is a denied vendor's loader or snippet.
	ReasonLoader
	// ReasonFirstParty: the script defines the site's own state, so it is
	// kept (with loader evidence too, if any: its vendor loads are left to
	// the runtime guard, Policy.Guard).
	ReasonFirstParty
	// ReasonNoGuard: loader evidence and first-party state, but the page
	// has no runtime guard (Policy.Guard false): removed all the same.
	ReasonNoGuard
	// ReasonKeepScripts: the site's keep_scripts names the script.
	ReasonKeepScripts
	// ReasonDataType: the script's type makes it data.
	ReasonDataType
)

var reasonNames = [...]string{
	ReasonNoEvidence: "no-evidence", ReasonLoader: "loader", ReasonFirstParty: "first-party",
	ReasonNoGuard: "no-guard", ReasonKeepScripts: "keep-scripts", ReasonDataType: "data-type",
}

func (r Reason) String() string { return reasonNames[r] }

// EvidenceKind is the kind of loader evidence found in a script.
type EvidenceKind uint8

const (
	EvidenceNone EvidenceKind = iota
	// EvidenceSignature: a catalogue signature (rules.Vendor.Signatures)
	// in the code or in a string literal.
	EvidenceSignature
	// EvidenceURL: a string literal that is a URL on a denied vendor's
	// host ("https://host/…", "//host/…").
	EvidenceURL
	// EvidenceHostPart: a string literal that starts the host part of a
	// URL built by concatenation (".host/…") on a denied vendor's host.
	EvidenceHostPart
)

var evidenceNames = [...]string{EvidenceNone: "", EvidenceSignature: "signature", EvidenceURL: "url", EvidenceHostPart: "host-part"}

func (k EvidenceKind) String() string { return evidenceNames[k] }

// Span is a byte range [Start, End) of the page; Start < 0 when absent.
type Span struct{ Start, End int64 }

// Script is the decision on one inline script of the page, with the
// evidence behind it. Offsets are bytes of the page as given to the
// Writer. Unless Policy.Explain is set, the classifier stops reading a
// script once its decision is settled, so the evidence may be partial (the
// decision is the same).
type Script struct {
	// Tag is the start tag; Content the script's text, from the byte
	// after the start tag to the '<' of its end tag (or the end of the
	// page). While the end tag has not come, Content.End is -1.
	Tag, Content Span
	// ID and Class are the values of the id and class attributes, as
	// written (character references not decoded).
	ID, Class Span
	Decision  Decision
	Reason    Reason
	// Vendor is the denied vendor of the first loader evidence, or nil.
	Vendor   *rules.Vendor
	Evidence EvidenceKind
	// At is where the evidence is: the string literal, or the signature
	// (Signature indexes Vendor.Signatures; -1 when not known).
	At        Span
	Signature int
	// FirstParty holds the first of the first-party state the classifier
	// read; NumFirstParty counts all it read.
	FirstParty    [4]FirstPartyName
	NumFirstParty int
	// Foreign: an SVG or MathML script; its text was read with character
	// references decoded, and evidence offsets are approximate.
	Foreign bool
}

// FirstPartyName is a name by which a script showed state of the site's
// own: a global it declares or assigns, a first-party function it
// configures, or the method by which it registers a handler.
type FirstPartyName struct {
	Span
	Kind FirstPartyKind
}

// MaxScripts bounds the inline scripts a Writer records for Scripts; the
// scripts past it are judged all the same, and counted in
// Stats.UnrecordedScripts. A page streams any number of scripts; what a
// Writer keeps must not grow with it.
const MaxScripts = 1024

// Scripts returns the inline scripts of the page so far, in page order,
// with what was decided for each: the first MaxScripts of them. The slice
// is owned by w and valid until Reset.
func (w *Writer) Scripts() []Script { return w.scripts }

// newScript records an inline script whose start tag, tag, is the held
// region up to the current input's w.hb.hs.
func (w *Writer) newScript(tag []byte, d Decision, r Reason) *Script {
	if w.nested || len(w.scripts) >= MaxScripts {
		if !w.nested {
			w.rep.stats.UnrecordedScripts++
		}
		w.openScript = -1
		w.scratchScript = Script{Decision: d, Reason: r, Signature: -1, Content: Span{-1, -1}}
		return &w.scratchScript
	}
	off := w.hb.origin()
	s := Script{
		Tag:     Span{off, off + int64(len(tag))},
		Content: Span{off + int64(len(tag)), -1},
		ID:      Span{-1, -1}, Class: Span{-1, -1}, At: Span{-1, -1},
		Decision: d, Reason: r, Signature: -1,
		Foreign: w.foreign > 0,
	}
	for _, a := range w.attrs {
		if a.vs < 0 || a.dup {
			continue
		}
		switch a.kind {
		case aID:
			s.ID = Span{off + int64(a.vs), off + int64(a.ve)}
		case aClass:
			s.Class = Span{off + int64(a.vs), off + int64(a.ve)}
		}
	}
	w.scripts = append(w.scripts, s)
	w.openScript = len(w.scripts) - 1
	return &w.scripts[w.openScript]
}

// curScript returns the record of the held script.
func (w *Writer) curScript() *Script {
	if w.openScript < 0 {
		return &w.scratchScript
	}
	return &w.scripts[w.openScript]
}

// scriptEnd notes that the content of the open script ends at page offset
// end.
func (w *Writer) scriptEnd(end int64) {
	if w.openScript >= 0 {
		w.scripts[w.openScript].Content.End = end
		w.openScript = -1
	}
}

// judge decides held script content (at most MaxScript bytes of it): it
// fills rec and returns the vendor to enforce, or nil to keep the script.
// all is the held region, its start tag all[:w.tagEnd].
func (w *Writer) judge(rec *Script, all, content []byte) *rules.Vendor {
	keep := w.keepScript(all[:w.tagEnd], content)
	text := content
	if w.foreign > 0 && bytes.IndexByte(content, '&') >= 0 {
		// An SVG script's text is markup: character references are
		// decoded before the script runs.
		w.jsText = decodeRefs(w.jsText[:0], content)
		text = w.jsText
	}
	mode := stopNever
	switch {
	case keep || w.p.Explain:
	case w.p.Guard:
		mode = stopFirstParty
	default:
		mode = stopLoader
	}
	ev := w.js.classify(text, mode)
	if !w.nested {
		base := rec.Content.Start
		at := func(sp jsSpan) Span {
			if len(text) != len(content) || &text[0] != &content[0] {
				sp.s, sp.e = int32(refOffset(content, int(sp.s))), int32(refOffset(content, int(sp.e)))
			}
			return Span{base + int64(sp.s), base + int64(sp.e)}
		}
		rec.Vendor, rec.Evidence, rec.Signature = ev.vendor, ev.kind, ev.sig
		if ev.vendor != nil {
			rec.At = at(ev.at)
		}
		rec.NumFirstParty = ev.nfp
		for i := range min(ev.nfp, len(ev.fp)) {
			rec.FirstParty[i] = FirstPartyName{at(ev.fp[i].jsSpan), ev.fp[i].kind}
		}
	}
	switch {
	case keep:
		rec.Decision, rec.Reason = Kept, ReasonKeepScripts
		return nil
	case ev.nfp > 0 && w.p.Guard:
		rec.Decision, rec.Reason = Kept, ReasonFirstParty
		return nil
	case ev.vendor == nil:
		rec.Decision, rec.Reason = Kept, ReasonNoEvidence
		return nil
	case ev.nfp > 0:
		rec.Reason = ReasonNoGuard
	default:
		rec.Reason = ReasonLoader
	}
	if w.pol.action(ev.vendor) == rules.Remove {
		rec.Decision = Removed
	} else {
		rec.Decision = Neutralised
	}
	return ev.vendor
}

// finishScript decides a held inline script whose end tag ends before
// in[j], or that the end of the page cut off; all is the held region.
func (w *Writer) finishScript(all []byte, j int) {
	content := all[w.cs:w.ltOff]
	if len(content) > MaxScript {
		w.oversizeScript(all, j, false)
		return
	}
	rec := w.curScript()
	end := rec.Content.Start + int64(len(content))
	v := w.judge(rec, all, content)
	w.scriptEnd(end)
	if v == nil {
		w.hb.release()
		return
	}
	w.enforceScript(all, j, v, false)
}

// enforceScript removes or neutralises the held inline script all of
// vendor v; open: its content goes on past the current input.
func (w *Writer) enforceScript(all []byte, j int, v *rules.Vendor, open bool) {
	act := w.pol.action(v)
	w.rep.record(v, elScript, act)
	if act == rules.Remove {
		w.hb.replace(j, nil)
		if open {
			w.hb.drop, w.skipEl, w.skipDepth = true, elScript, 1
		}
		return
	}
	out := w.neutralise(all[:w.tagEnd], elScript, v)
	w.out = append(out, all[w.tagEnd:]...)
	w.hb.replace(j, w.out)
}

// oversizeScript decides an inline script whose content is longer than
// MaxScript from its first MaxScript bytes: decided a tracker there, it is
// removed or neutralised whole; otherwise it is kept and streams out
// unchanged. Either way it counts in Stats.Oversize. open: the content
// goes on past the current input.
func (w *Writer) oversizeScript(all []byte, j int, open bool) {
	w.rep.stats.Oversize++
	w.holdEl = elOther
	rec := w.curScript()
	v := w.judge(rec, all, all[w.cs:w.cs+MaxScript])
	if !open {
		w.scriptEnd(rec.Content.Start + int64(w.ltOff-w.cs))
	}
	if v != nil {
		w.enforceScript(all, j, v, open)
		return
	}
	rec.Decision = OversizeKept
	w.hb.release()
}

// keepScript reports whether the site's keep_scripts names the script of
// start tag tag and content content.
func (w *Writer) keepScript(tag, content []byte) bool {
	if w.p.Site == nil {
		return false
	}
	k := &w.p.Site.KeepScripts
	if k.Len() == 0 {
		return false
	}
	for _, a := range w.attrs {
		if a.vs < 0 || a.dup || a.ve > len(tag) {
			continue
		}
		switch a.kind {
		case aID:
			if len(k.IDs) > 0 {
				v := w.attrValue(tag[a.vs:a.ve])
				for _, id := range k.IDs {
					if string(v) == id {
						return true
					}
				}
			}
		case aClass:
			if len(k.Classes) > 0 {
				for _, c := range bytes.FieldsFunc(w.attrValue(tag[a.vs:a.ve]), isSpaceRune) {
					for _, kc := range k.Classes {
						if string(c) == kc {
							return true
						}
					}
				}
			}
		}
	}
	if len(k.SHA256) > 0 {
		sum := sha256.Sum256(content)
		for _, h := range k.SHA256 {
			if h == sum {
				return true
			}
		}
	}
	return false
}

func isSpaceRune(r rune) bool { return r < 0x80 && isSpace(byte(r)) }

// attrValue returns an attribute value with its character references
// decoded (in w.scratch when it has any).
func (w *Writer) attrValue(v []byte) []byte {
	if bytes.IndexByte(v, '&') < 0 {
		return v
	}
	w.scratch = decodeRefs(w.scratch[:0], v)
	return w.scratch
}

// refOffset maps an offset in b with its character references decoded
// (decodeRefs) to the offset in b it came from.
func refOffset(b []byte, off int) int {
	n := 0
	for i := 0; i < len(b); {
		if n >= off {
			return i
		}
		if b[i] == '&' {
			if r, k := charRef(b[i:]); k > 0 {
				n += utf8.RuneLen(r)
				i += k
				continue
			}
		}
		n++
		i++
	}
	return len(b)
}

// decodeRefs appends b to dst with its character references decoded.
func decodeRefs(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		if b[i] == '&' {
			if r, n := charRef(b[i:]); n > 0 {
				dst = utf8.AppendRune(dst, r)
				i += n
				continue
			}
		}
		dst = append(dst, b[i])
		i++
	}
	return dst
}

// jsGlobals is a set of vendor globals: names, and prefixes from entries
// written "name*".
type jsGlobals struct {
	names    map[string]bool
	prefixes []string
}

func (g *jsGlobals) add(name string) {
	if p, ok := strings.CutSuffix(name, "*"); ok {
		if p != "" {
			g.prefixes = append(g.prefixes, p)
		}
		return
	}
	if g.names == nil {
		g.names = make(map[string]bool)
	}
	g.names[name] = true
}

func (g *jsGlobals) has(name []byte) bool {
	if g.names[string(name)] {
		return true
	}
	for _, p := range g.prefixes {
		if len(name) >= len(p) && string(name[:len(p)]) == p {
			return true
		}
	}
	return false
}

// compileJS derives from s what the inline-script classifier needs: the
// Globals of every vendor and of the denied ones, and the signatures of
// the denied ones as bytes.
func (c *compiled) compileJS(s *rules.Set) {
	c.sigBytes = make(map[*rules.Vendor][][]byte)
	for _, v := range s.Vendors() {
		denied := c.denied(v)
		for _, g := range v.Globals {
			c.globals.add(g)
			if denied {
				c.deniedGlobals.add(g)
			}
		}
		if denied && len(v.Signatures) > 0 {
			bs := make([][]byte, len(v.Signatures))
			for i, sig := range v.Signatures {
				bs[i] = []byte(sig)
			}
			c.sigBytes[v] = bs
		}
	}
}

// vendorGlobal reports whether name is a global of a vendor of the set.
func (c *compiled) vendorGlobal(name []byte) bool { return c.globals.has(name) }

// deniedGlobal reports whether name is a global of a denied vendor.
func (c *compiled) deniedGlobal(name []byte) bool { return c.deniedGlobals.has(name) }
