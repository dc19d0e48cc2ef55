package rewrite

import (
	"errors"
	"io"

	"github.com/consentgate/consentgate/rules"
)

// Bounds on what a Writer holds; see the package documentation.
const (
	// MaxTag bounds the start tag of an element that can load a third party.
	MaxTag = 64 << 10
	// MaxInline bounds the content of a noscript or an amp-analytics
	// element held while it is matched (inline scripts: MaxScript).
	MaxInline = 64 << 10
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("rewrite: write after close")

// Policy says what to enforce.
type Policy struct {
	// Set is the compiled rule set; nil enforces nothing.
	Set *rules.Set
	// Site gives the action per category and the allow-list. Nil means the
	// Set's classification alone, with the action Remove.
	Site *rules.Site
	// Deny is the set of categories denied for this visitor. The empty set
	// enforces nothing and the output equals the input.
	Deny rules.Categories
	// Stub inserts the no-op stub script (see StubHash) before the first
	// element that can run script.
	Stub bool
	// Guard says that the page gets the runtime guard, which refuses in
	// the browser every load of a denied vendor's URL. With it, an inline
	// script that defines the site's own state is kept even when it also
	// loads a denied vendor (the guard blocks the load); without it, such a
	// script is removed or neutralised. See "Inline scripts" in the
	// package documentation.
	Guard bool
	// Explain makes the Writer read every inline script to its end, so
	// that Scripts reports all the evidence, not only what settled each
	// decision. The decisions are the same.
	Explain bool
	// Head, when not empty, is inserted where the stub would go, in its
	// place: the guard's script element, which defines the stub's globals
	// itself. The rewriter does not look inside it. The caller must not
	// modify it while the Writer uses it.
	Head []byte
	// Placeholders, when not nil, makes a removed embed (an iframe or AMP
	// embed component of a vendor with a rules.Embed) leave a placeholder
	// that keeps the element inert: see "Placeholders" in the package
	// documentation.
	Placeholders *Placeholders
	// Tail, when not empty and the policy denies something, is written
	// after the page's last byte, by Close (the proxy's notice for
	// visitors whose opt-out came from Global Privacy Control). The
	// rewriter does not look inside it.
	Tail []byte
}

// Writer is a streaming HTML rewriter. Write may be called with any split
// of the page; the output is the same for every split. A Writer is not safe
// for concurrent use; reuse one through Reset (for example from a
// sync.Pool).
type Writer struct {
	hb  holdBuf // the output, and the bytes held while undecided
	p   Policy
	pol *compiled // derived from p, cached across Reset for the same policy

	nested bool    // rewriting the content of a noscript element
	sub    *Writer // rewrites noscript content
	subBuf bufWriter
	doc    []byte     // a decoded iframe srcdoc
	rep    report     // what was removed, and the fail-closed counts
	cl     classifier // the denied vendor of a URL
	closed bool

	stubDone bool

	// A placeholder is open (placeholder.go): the end tag of phEl at
	// depth phDepth closes it; phTmpl counts template elements open
	// inside it.
	phEl    elem
	phDepth int
	phTmpl  int
	phEmbed *rules.Embed

	// An element removed through its end tag: output is dropped
	// (hb.drop) through the end tag of skipEl at depth skipDepth.
	skipEl    elem
	skipDepth int

	tokenizer

	decider // the tag being tokenized, and its verdict

	foreign int // depth of svg/math elements

	// Raw text.
	ltOff  int  // offset of the '<' of a candidate end tag in the held region
	holdEl elem // element whose content is held: script, noscript or amp-analytics
	cs     int  // offset of the held content's first byte
	tagEnd int  // offset just past the held start tag

	css cssScanner // the CSS scanner of a style element

	tc tagCut // a start tag past MaxTag (tagcut.go)

	// The style attribute of a tag that is not held (see style.go).
	sseen bool    // the tag has had a style attribute
	spend bool    // the attribute name that just ended is the tag's first style
	sval  bool    // in the value of that attribute: held from its first byte
	sunq  bool    // and the value is not quoted
	sdrop bool    // that value passed MaxTag and is being deleted (w.hb.drop is set)
	pn    int     // length of an attribute name cut off by the end of a Write
	pb    [5]byte // its first bytes, lower case
	sdec  []byte  // a style attribute value with character references decoded
	cuts  []int   // denied URLs of a style attribute value: start, end pairs

	scratch  []byte
	out      []byte
	found    *rules.Vendor
	matchFn  func(*rules.Vendor) bool
	srcdocFn func([]byte) *rules.Vendor

	// Inline scripts (script.go).
	ltPage        int64    // page offset of the last '<' in raw text
	scripts       []Script // decisions so far
	openScript    int      // index in scripts of the script whose end tag is to come, or -1
	scratchScript Script   // the record of a script not recorded (nested Writers)
	js            jsClassifier
	jsText        []byte // an SVG script's text with character references decoded
	sigFn         func(*rules.Vendor) bool
	jsHostBuf     []byte // "//" and a host found in a script
}

// NewWriter returns a Writer that writes the rewritten page to dst.
func NewWriter(dst io.Writer, p Policy) *Writer {
	w := &Writer{}
	w.Reset(dst, p)
	return w
}

// Reset makes w rewrite a new page to dst under p, as if new. What Removed
// returned before is no longer valid.
func (w *Writer) Reset(dst io.Writer, p Policy) {
	w.reset(dst, p, false)
}

func (w *Writer) reset(dst io.Writer, p Policy, nested bool) {
	if w.pol == nil || w.pol.set != p.Set || w.pol.site != p.Site || w.pol.deny != p.Deny {
		w.pol = compilePolicy(p)
	}
	if w.matchFn == nil {
		w.matchFn = w.onMatch
		w.sigFn = w.onSig
		w.srcdocFn = w.srcdocVendor
	}
	w.hb.reset(dst)
	if cap(w.scripts) > 64 {
		w.scripts = nil // a pooled Writer keeps the records of a usual page, no more
	}
	if cap(w.js.cooked) > MaxInline {
		w.js.cooked = nil
	}
	if cap(w.jsText) > MaxInline {
		w.jsText = nil
	}
	if cap(w.scratch) > MaxInline {
		w.scratch = nil
	}
	if cap(w.out) > MaxInline {
		w.out = nil
	}
	if cap(w.sdec) > MaxTag {
		w.sdec = nil
	}
	w.rep.reset()
	w.cl.reset(w.pol)
	*w = Writer{
		hb: w.hb, p: p, pol: w.pol, nested: nested, sub: w.sub, subBuf: w.subBuf[:0], doc: w.doc[:0],
		rep: w.rep, cl: w.cl,
		decider: decider{pol: w.pol, cl: &w.cl, srcdoc: w.srcdocFn, placeholders: p.Placeholders != nil, attrs: w.attrs[:0]},
		css:     cssScanner{hb: &w.hb, cl: &w.cl, rep: &w.rep, url: w.css.url[:0]},
		scratch: w.scratch[:0], out: w.out[:0], matchFn: w.matchFn, srcdocFn: w.srcdocFn,
		sdec: w.sdec[:0], cuts: w.cuts[:0], tc: tagCut{eds: w.tc.eds[:0]},
		scripts: w.scripts[:0], openScript: -1, sigFn: w.sigFn,
		js: jsClassifier{w: w, cooked: w.js.cooked[:0]}, jsText: w.jsText[:0], jsHostBuf: w.jsHostBuf[:0],
		stubDone: nested || len(p.Head) == 0 && (!p.Stub || len(w.pol.stub) == 0),
	}
}

// Write rewrites the next part of the page. It returns len(b) and nil, or
// 0 and the first error of the destination writer; after an error every
// call returns it.
func (w *Writer) Write(b []byte) (int, error) {
	if w.hb.err != nil {
		return 0, w.hb.err
	}
	if w.closed {
		return 0, ErrClosed
	}
	if !w.pol.active {
		w.hb.write(b)
		if w.hb.err != nil {
			return 0, w.hb.err
		}
		return len(b), nil
	}
	w.hb.begin(b)
	w.scan()
	if w.hb.end() {
		w.bound()
	}
	w.hb.done()
	if w.hb.err != nil {
		return 0, w.hb.err
	}
	return len(b), nil
}

// Close ends the page: it decides what is still held (an element cut off
// by the end of the page is treated as if it ended there) and writes it.
// Call it once, after the last Write. It does not close the destination.
func (w *Writer) Close() error {
	if w.hb.err != nil || w.closed {
		return w.hb.err
	}
	w.closed = true
	if w.hb.hold {
		w.hb.begin(nil)
		w.finish()
	}
	w.scriptEnd(w.hb.base) // a script the end of the page cut off
	w.hb.drop = false
	if w.phDepth > 0 {
		// The page ended inside the placeholder's element: close it.
		w.out = w.placeholderEnd(w.out[:0])
		w.hb.write(w.out)
		w.phDepth = 0
	}
	if len(w.p.Tail) > 0 && w.pol.active && !w.nested {
		w.hb.insert(w.p.Tail)
	}
	return w.hb.err
}

// Removed returns what was removed or neutralised so far, one Removal per
// vendor, element and action in the order each was first seen. The slice
// is owned by w and valid until Reset.
func (w *Writer) Removed() []Removal { return w.rep.removed }

// Changed reports whether any output byte differs from the input so far.
func (w *Writer) Changed() bool { return w.hb.changed || w.rep.any() }

// Stats returns the fail-closed counts of the page so far.
func (w *Writer) Stats() Stats { return w.rep.stats }

// Rewrite rewrites a whole page src to dst. It returns what was removed or
// neutralised and the first error of dst.
func Rewrite(dst io.Writer, src []byte, p Policy) ([]Removal, error) {
	w := NewWriter(dst, p)
	if _, err := w.Write(src); err != nil {
		return w.rep.removed, err
	}
	err := w.Close()
	return w.rep.removed, err
}

// bufWriter appends to itself.
type bufWriter []byte

func (b *bufWriter) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}
