package rewrite

import (
	"bytes"
	"unicode/utf8"

	"github.com/consentgate/consentgate/rules"
)

// This file reads the tokens of an inline script (jslex.go) for two kinds of
// evidence; script.go decides from them. The package documentation,
// "Inline scripts", states the rules; this is how they are read.
//
// The classifier keeps a stack of the open brackets, and for each whether
// a '{' opens a function body (after "=>", after the ')' of a function's
// parameters or of a method, or a class body) or a block or object
// literal. Code outside every function body is at the top level; a var
// or function declaration there is global, and so is a let, const or class
// declaration outside every bracket. At each level it follows the chain
// being read (NAME, NAME.a, NAME[…], window.NAME, f(…).g) to tell what an
// assignment writes and what a call calls.

// jsFrame is one open bracket of the script: '(', '[', '{' or '$' (a
// template substitution).
type jsFrame struct {
	open    byte
	fn      bool  // a '{' that opens a function or class body
	paren   uint8 // for '(': what its ')' is followed by
	decl    uint8 // a var/let/const declaration list is open at this level
	declNxt bool  // the next identifier is a declared name
	member  bool  // for '[': a member of the chain of the enclosing level
	ntok    int32 // for '[': tokens inside
	str     jsSpan
	ch      jsChain // the assignment target being read at this level
	// root is the first name of the call chain being read at this level
	// (for window.NAME…, NAME); s == -1: none, s == -2: window, its
	// member to come.
	root jsSpan
	// For a '(' of a call: which rule it may meet, the name to report,
	// and the evidence and functions counted when it opened.
	call     uint8
	callee   jsSpan
	nev, nfn int32
}

// What a '(' is.
const (
	parenCall uint8 = iota // a call or grouping; a '{' after its ')' is a method body
	parenFn                // function parameters; a '{' after its ')' is the body
	parenCtl               // if/for/while/switch/catch/with; a '{' after its ')' is a block
)

// Call rules a '(' may meet.
const (
	callNone    uint8 = iota
	callConfig        // a first-party function: an object literal argument configures it
	callHandler       // an event handler registration: a function argument without loader evidence is first-party code
)

// Declaration kinds.
const (
	declNone uint8 = iota
	declVar
	declLex // let, const
)

type jsSpan struct{ s, e int32 }

var noSpan = jsSpan{-1, -1}

// jsChain is an assignment target read so far: NAME, NAME.a.b, NAME[…],
// window.NAME.
type jsChain struct {
	st   uint8  // chNone, chName (after a name or ']'), chDot (after '.')
	win  bool   // rooted at window, self or globalThis
	name jsSpan // the global written; s < 0 while unknown (window before its member)
}

const (
	chNone uint8 = iota
	chName
	chDot
)

// jsMaxDepth bounds the frames the classifier keeps; deeper code is read
// as inside a function (it always is in real scripts).
const jsMaxDepth = 64

// FirstPartyKind is how a script showed state of the site's own.
type FirstPartyKind uint8

const (
	// FirstPartyDeclare: a global declared (var, let, const, function,
	// class at the top level).
	FirstPartyDeclare FirstPartyKind = iota + 1
	// FirstPartyAssign: a global assigned (NAME = …, NAME.x = … at the top
	// level; window.NAME = … anywhere).
	FirstPartyAssign
	// FirstPartyConfig: a first-party function called at the top level
	// with an object literal (require.config({…}), jQuery.extend(…, {…})).
	FirstPartyConfig
	// FirstPartyHandler: an event handler registered at the top level
	// (addEventListener, on, ready, $(function…)) whose function holds no
	// loader evidence.
	FirstPartyHandler
)

var firstPartyNames = [...]string{FirstPartyDeclare: "declares", FirstPartyAssign: "assigns", FirstPartyConfig: "configures", FirstPartyHandler: "handler"}

func (k FirstPartyKind) String() string { return firstPartyNames[k] }

// jsName is a first-party name found in the text.
type jsName struct {
	jsSpan
	kind FirstPartyKind
}

// jsEvidence is what the classifier found.
type jsEvidence struct {
	vendor *rules.Vendor // of the first loader evidence; nil without
	kind   EvidenceKind
	at     jsSpan // where, in the text
	sig    int    // index in vendor.Signatures, or -1

	nfp int       // first-party names found
	fp  [4]jsName // the first of them
	// done: the text was read to its end (the classifier may stop early
	// once the decision cannot change).
	done bool
}

// jsClassifier holds the state of one classification; a Writer keeps one
// to reuse its buffers.
type jsClassifier struct {
	w      *Writer
	lex    jsLexer
	frames [jsMaxDepth]jsFrame
	junk   jsFrame // stands for frames past jsMaxDepth
	depth  int     // open frames, including those past jsMaxDepth
	fnDep  int     // open function bodies among the kept frames
	prev   jsToken
	pendFn bool // "function" seen; its '(' holds parameters
	pendCl bool // "class" seen; its '{' opens the body
	declFn bool // the next identifier names a declared function or class
	arrow  bool // "=>" just seen
	closed uint8
	nev    int32 // loader evidence found, each piece (a signature once per vendor)
	nfn    int32 // functions seen
	sigs   rules.MatchState
	fed    int // text fed to sigs so far
	text   []byte
	cooked []byte // a string literal with its escapes undone
	ev     jsEvidence
	// stop says when the decision is known and reading can end.
	stop     stopMode
	sigChunk int // start of the chunk being fed to sigs
	// pend is a string literal that is a host alone, in pendTok, read
	// just before: loader evidence if a '+' follows.
	pend, pendTok jsSpan
}

// stopMode says when the classifier may stop reading.
type stopMode uint8

const (
	stopNever      stopMode = iota // read everything (explain, keep_scripts)
	stopFirstParty                 // at the first first-party name: the script is kept (guard on)
	stopLoader                     // at the first loader evidence: the script goes (guard off)
)

// stopNow reports whether the evidence so far settles the decision.
func (c *jsClassifier) stopNow() bool {
	switch c.stop {
	case stopFirstParty:
		return c.ev.nfp > 0
	case stopLoader:
		return c.ev.vendor != nil
	}
	return false
}

// classify reads text and returns the evidence in it, stopping as stop
// allows.
func (c *jsClassifier) classify(text []byte, stop stopMode) jsEvidence {
	w := c.w
	c.lex = jsLexer{src: text}
	c.depth, c.fnDep, c.nev, c.nfn = 0, 0, 0, 0
	c.frames[0] = jsFrame{str: noSpan, root: noSpan}
	c.prev = jsToken{}
	c.pendFn, c.pendCl, c.declFn, c.arrow, c.closed = false, false, false, false, parenCall
	c.text = text
	c.fed = 0
	c.ev = jsEvidence{sig: -1}
	c.stop = stop
	c.pend = noSpan
	c.sigs = w.pol.set.Signatures().Start()
	for {
		t := c.lex.next()
		if t.kind == tkEOF {
			break
		}
		if c.token(t) {
			return c.ev
		}
	}
	c.feed(len(text))
	c.ev.done = true
	return c.ev
}

// top returns the innermost frame.
func (c *jsClassifier) top() *jsFrame {
	if c.depth >= jsMaxDepth {
		return &c.junk
	}
	return &c.frames[c.depth]
}

// token reads one token; it reports whether reading can stop.
func (c *jsClassifier) token(t jsToken) bool {
	text := c.text
	if t.kind == tkComment {
		// Comments run nothing: feed the signature matcher what came
		// before and skip the comment.
		c.feed(t.start)
		c.fed = t.end
		return false
	}
	if c.pend.s >= 0 {
		// A host alone, then '+': the start of a URL's host part.
		pend, tok := c.pend, c.pendTok
		c.pend = noSpan
		if isPunct(text, t, "+") {
			if v := c.w.jsHost(text[pend.s:pend.e]); v != nil && c.evidence(v, EvidenceHostPart, int(tok.s), int(tok.e)) {
				return true
			}
		}
	}
	f := c.top()
	if f.open == '[' && !(t.kind == tkPunct && text[t.start] == ']') {
		f.ntok++
		if t.kind == tkStr {
			f.str = jsSpan{int32(t.start), int32(t.end)}
		}
	}
	prev := c.prev
	c.prev = t
	arrow := c.arrow
	c.arrow = false
	switch t.kind {
	case tkIdent:
		return c.ident(f, t, prev)
	case tkPunct:
		return c.punct(f, t, prev, arrow)
	case tkStr, tkTmpl:
		c.declFn = false
		f.declNxt = false
		f.ch.st = chNone
		f.root = noSpan
		if t.kind == tkStr {
			return c.str(t, prev)
		}
		if text[t.start] == '}' && c.pop(t) {
			return true
		}
		stop := c.str(t, prev)
		if t.end-t.start >= 2 && text[t.end-1] == '{' && text[t.end-2] == '$' {
			c.push('$')
		}
		return stop
	}
	c.declFn = false
	f.declNxt = false
	f.ch.st = chNone
	f.root = noSpan
	return false
}

// ident reads an identifier or keyword.
func (c *jsClassifier) ident(f *jsFrame, t, prev jsToken) bool {
	text := c.text
	word := text[t.start:t.end]
	sp := jsSpan{int32(t.start), int32(t.end)}
	if prev.kind == tkPunct && isDot(text[prev.start:prev.end]) {
		// A member name.
		if f.ch.st == chDot {
			f.ch.st = chName
			if f.ch.win && f.ch.name.s < 0 {
				f.ch.name = sp
			}
		} else {
			f.ch.st = chNone
		}
		if f.root.s == -2 {
			f.root = sp
		}
		return false
	}
	declNxt := f.declNxt
	f.declNxt = false
	f.root = noSpan
	switch string(word) {
	case "var":
		f.decl, f.declNxt = declVar, true
		f.ch.st = chNone
		return false
	case "let", "const":
		f.decl, f.declNxt = declLex, true
		f.ch.st = chNone
		return false
	case "function":
		c.pendFn = true
		c.nfn++
		c.declFn = c.stmtStart(prev, t.nl)
		f.ch.st = chNone
		return false
	case "class":
		c.pendCl = true
		c.declFn = c.stmtStart(prev, t.nl) && c.depth == 0
		f.ch.st = chNone
		return false
	case "async":
		// "async function f" declares f as "function f" does.
		c.prev = prev
		return false
	}
	if jsReserved(word) {
		f.ch.st = chNone
		c.declFn = false
		return false
	}
	switch {
	case declNxt:
		f.ch.st = chNone
		if f.decl == declVar && c.topLevel() && f.open != '(' || f.decl == declLex && c.depth == 0 {
			return c.firstParty(sp, FirstPartyDeclare)
		}
		return false
	case c.declFn:
		c.declFn = false
		f.ch.st = chNone
		if c.topLevel() && prev.kind == tkIdent {
			return c.firstParty(sp, FirstPartyDeclare)
		}
		return false
	}
	f.ch = jsChain{st: chName, name: sp}
	f.root = sp
	if string(word) == "window" || string(word) == "self" || string(word) == "globalThis" {
		f.ch.win, f.ch.name = true, noSpan
		f.root = jsSpan{-2, -2}
	}
	return false
}

// punct reads a punctuator.
func (c *jsClassifier) punct(f *jsFrame, t, prev jsToken, arrow bool) bool {
	text := c.text
	c.declFn = false
	p := text[t.start:t.end]
	switch p[0] {
	case '.', '?':
		if isDot(p) {
			if f.ch.st == chName {
				f.ch.st = chDot
			} else {
				f.ch.st = chNone
			}
			return false
		}
	case '(':
		kind := parenCall
		switch {
		case c.pendFn:
			kind, c.pendFn = parenFn, false
		case prev.kind == tkIdent && ctlKeyword(text[prev.start:prev.end]):
			kind = parenCtl
		}
		f.ch.st = chNone
		f.declNxt = false
		call, callee := c.callRule(f, prev, kind)
		n := c.push('(')
		n.paren, n.call, n.callee, n.nev, n.nfn = kind, call, callee, c.nev, c.nfn
		if call == callHandler {
			c.feed(t.start) // evidence before the call is not the handler's
			n.nev = c.nev
		}
		return false
	case '[':
		member := f.ch.st == chName
		if !member {
			f.ch.st = chNone
		}
		f.declNxt = false
		c.push('[').member = member
		return false
	case '{':
		fn := arrow || c.pendCl
		if !fn && prev.kind == tkPunct && text[prev.end-1] == ')' {
			fn = c.closed != parenCtl
		}
		c.pendCl, c.pendFn = false, false
		f.ch.st = chNone
		f.declNxt = false
		f.root = noSpan
		stop := false
		if f.open == '(' && f.call == callConfig && prev.kind == tkPunct && (text[prev.start] == '(' || text[prev.start] == ',') {
			// An object literal configures the first-party function.
			f.call = callNone
			stop = c.firstParty(f.callee, FirstPartyConfig)
		}
		c.push('{').fn = fn
		if fn && c.depth < jsMaxDepth {
			c.fnDep++
		}
		return stop
	case ')', ']', '}':
		return c.pop(t)
	case ',':
		f.ch.st = chNone
		f.root = noSpan
		f.declNxt = f.decl != declNone
		return false
	case ';':
		f.ch.st = chNone
		f.root = noSpan
		f.decl, f.declNxt = declNone, false
		return false
	case '=':
		if len(p) == 2 && p[1] == '>' {
			c.arrow = true
			c.nfn++
			f.ch.st = chNone
			f.root = noSpan
			return false
		}
	}
	f.declNxt = false
	f.root = noSpan
	if assignOp(p) && f.ch.st == chName {
		ch := f.ch
		f.ch.st = chNone
		if ch.name.s >= 0 && (ch.win || c.topLevel()) && !builtinRoot(text[ch.name.s:ch.name.e]) {
			return c.firstParty(ch.name, FirstPartyAssign)
		}
		return false
	}
	f.ch.st = chNone
	return false
}

// callRule says which call rule a '(' of kind after prev may meet at the
// level f, and the name to report.
func (c *jsClassifier) callRule(f *jsFrame, prev jsToken, kind uint8) (uint8, jsSpan) {
	if kind != parenCall || prev.kind != tkIdent || f.root.s < 0 || !c.topLevel() {
		return callNone, noSpan
	}
	text := c.text
	root := text[f.root.s:f.root.e]
	if c.w.pol.deniedGlobal(root) {
		// The API of a denied vendor is that vendor's snippet.
		return callNone, noSpan
	}
	name := text[prev.start:prev.end]
	switch string(name) {
	case "addEventListener", "attachEvent", "on", "one", "ready", "bind":
		return callHandler, jsSpan{int32(prev.start), int32(prev.end)}
	case "$", "jQuery":
		if int(f.root.s) == prev.start {
			return callHandler, jsSpan{int32(prev.start), int32(prev.end)}
		}
	}
	if builtinCallee(root) {
		return callNone, noSpan
	}
	return callConfig, f.root
}

// stmtStart reports whether a token after prev (nl: with a line
// terminator between) starts a statement, as far as a declaration needs.
func (c *jsClassifier) stmtStart(prev jsToken, nl bool) bool {
	switch prev.kind {
	case tkEOF:
		return true
	case tkPunct:
		switch c.text[prev.end-1] {
		case ';', '{', '}':
			return true
		case ')', ']':
			return nl
		}
		return false
	case tkIdent:
		return nl && !jsReserved(c.text[prev.start:prev.end])
	}
	return nl
}

// push opens a frame.
func (c *jsClassifier) push(open byte) *jsFrame {
	c.depth++
	f := c.top()
	*f = jsFrame{open: open, str: noSpan, root: noSpan}
	return f
}

// pop closes the innermost frame at the closer t ('}' of a template part
// for a substitution). An unmatched closer is ignored. It reports whether
// reading can stop.
func (c *jsClassifier) pop(t jsToken) bool {
	if c.depth == 0 {
		return false
	}
	f := *c.top()
	c.depth--
	if c.depth >= jsMaxDepth-1 {
		return false
	}
	if f.fn && c.fnDep > 0 {
		c.fnDep--
	}
	up := c.top()
	switch c.text[t.start] {
	case ')':
		c.closed = f.paren
		up.ch.st = chNone
		if f.call == callHandler && c.nfn > f.nfn {
			c.feed(t.start)
			if c.nev == f.nev {
				return c.firstParty(f.callee, FirstPartyHandler)
			}
		}
	case ']':
		if !f.member {
			up.ch.st = chNone
			break
		}
		up.ch.st = chName
		if up.ch.win && up.ch.name.s < 0 {
			// window["NAME"]: a string alone, without escapes.
			if f.ntok == 1 && f.str.s >= 0 && f.str.e-f.str.s >= 3 {
				if s := c.text[f.str.s+1 : f.str.e-1]; bytes.IndexByte(s, '\\') < 0 {
					up.ch.name = jsSpan{f.str.s + 1, f.str.e - 1}
					break
				}
			}
			up.ch.st = chNone
		}
	default:
		up.ch.st = chNone
		up.root = noSpan
	}
	return false
}

// topLevel reports whether the token read is outside every function.
func (c *jsClassifier) topLevel() bool { return c.fnDep == 0 && c.depth < jsMaxDepth }

// builtinRoot reports whether an assignment to name (or its members) is to
// the browser's objects rather than state of the site's own: location.href
// = … navigates, document.cookie = … is not a global of the page's code,
// window.XMLHttpRequest = … and window.Promise = … wrap or polyfill the
// browser's API (monitoring agents do), and window.onload = … or
// window.onerror = … register a handler, which alone says nothing of whose
// code it is.
func builtinRoot(name []byte) bool {
	if len(name) > 2 && name[0] == 'o' && name[1] == 'n' && name[2] >= 'a' && name[2] <= 'z' {
		return true
	}
	switch string(name) {
	case "document", "location", "navigator", "console", "history", "localStorage", "sessionStorage",
		"top", "parent", "opener", "name", "status",
		"XMLHttpRequest", "MutationObserver", "Promise", "fetch", "requestAnimationFrame", "cancelAnimationFrame",
		"setTimeout", "setInterval", "clearTimeout", "clearInterval", "addEventListener", "removeEventListener",
		"Image", "WebSocket", "EventSource", "Worker", "open", "postMessage":
		return true
	}
	return false
}

// builtinCallee reports whether a call on name is the browser's or the
// language's own, not a function of the site's: document.write(…) with an
// object literal configures nothing of the site's.
func builtinCallee(name []byte) bool {
	if builtinRoot(name) {
		return true
	}
	switch string(name) {
	case "Object", "Array", "JSON", "Math", "Promise", "Reflect", "String", "Number", "Date",
		"setTimeout", "setInterval", "requestAnimationFrame", "requestIdleCallback", "queueMicrotask",
		"fetch", "XMLHttpRequest", "Image", "postMessage", "open", "eval", "Function":
		return true
	}
	return false
}

// firstParty records a global the script defines, text[s:e], unless it is
// a vendor global. It reports whether reading can stop.
func (c *jsClassifier) firstParty(sp jsSpan, kind FirstPartyKind) bool {
	if sp.s < 0 || kind <= FirstPartyAssign && c.w.pol.vendorGlobal(c.text[sp.s:sp.e]) {
		return false
	}
	if c.ev.nfp < len(c.ev.fp) {
		c.ev.fp[c.ev.nfp] = jsName{sp, kind}
	}
	c.ev.nfp++
	return c.stopNow()
}

// str reads a string literal or template part t, after the token prev,
// for loader evidence.
func (c *jsClassifier) str(t, prev jsToken) bool {
	s, e := t.start+1, t.end
	text := c.text
	switch {
	case t.kind == tkStr && e > s && text[e-1] == text[t.start]:
		e--
	case t.kind == tkTmpl && text[e-1] == '`' && e > s:
		e--
	case t.kind == tkTmpl && text[e-1] == '{' && e-1 > s && text[e-2] == '$':
		e -= 2
	}
	if s >= e {
		return false
	}
	raw := text[s:e]
	escaped := bytes.IndexByte(raw, '\\') >= 0
	if escaped {
		// The matcher sees the string as the script means it.
		c.feed(t.start)
		c.cooked = cookJS(c.cooked[:0], raw)
		c.sigChunk = t.start
		c.feedBytes(text[t.start:s])
		c.feedBytes(c.cooked)
		c.feedBytes(text[e:t.end])
		c.fed = t.end
		raw = c.cooked
		if len(raw) == 0 {
			return false
		}
	}
	v, kind, bare := c.w.jsURL(raw)
	if bare {
		// A host alone: part of a URL where it is concatenated.
		if isPunct(text, prev, "+") {
			v = c.w.jsHost(raw)
		} else if !escaped {
			c.pend = jsSpan{int32(s), int32(e)}
			c.pendTok = jsSpan{int32(t.start), int32(t.end)}
		}
	}
	if v == nil {
		return false
	}
	return c.evidence(v, kind, t.start, t.end)
}

// evidence records loader evidence of v in text[start:end].
func (c *jsClassifier) evidence(v *rules.Vendor, kind EvidenceKind, start, end int) bool {
	// A signature earlier in the text is the first evidence.
	c.feed(start)
	c.nev++
	if c.ev.vendor == nil {
		c.ev.vendor, c.ev.kind, c.ev.at = v, kind, jsSpan{int32(start), int32(end)}
	}
	return c.stopNow()
}

func isPunct(text []byte, t jsToken, p string) bool {
	return t.kind == tkPunct && string(text[t.start:t.end]) == p
}

// feed gives the signature matcher the text up to end.
func (c *jsClassifier) feed(end int) {
	if end > c.fed {
		c.sigChunk = c.fed
		c.feedBytes(c.text[c.fed:end])
		c.fed = end
	}
}

func (c *jsClassifier) feedBytes(b []byte) {
	if len(b) > 0 {
		c.sigs.Feed(b, c.w.sigFn)
	}
}

// onSig is called by the signature matcher for each vendor whose signature
// it finds.
func (w *Writer) onSig(v *rules.Vendor) bool {
	c := &w.js
	if !w.pol.denied(v) {
		return true
	}
	c.nev++
	if c.ev.vendor != nil {
		return true
	}
	c.ev.vendor, c.ev.kind = v, EvidenceSignature
	// Where: the first of v's signatures from the chunk being fed on. (The
	// matcher reports vendors, not positions; a signature fed in parts,
	// across a comment or an escaped string, is placed at its chunk.)
	at, sig := -1, -1
	if c.sigChunk < len(c.text) {
		for i, b := range w.pol.sigBytes[v] {
			if k := bytes.Index(c.text[c.sigChunk:], b); k >= 0 && len(b) > 0 && (at < 0 || c.sigChunk+k < at) {
				at, sig = c.sigChunk+k, i
			}
		}
	}
	if at < 0 {
		c.ev.at = jsSpan{int32(c.sigChunk), int32(c.sigChunk)}
	} else {
		c.ev.at = jsSpan{int32(at), int32(at + len(v.Signatures[sig]))}
	}
	c.ev.sig = sig
	// Matching goes on: later signatures count as evidence too (nev).
	return true
}

// jsURL returns the denied vendor of a cooked string literal s that is a
// URL or the start of a part of one, and the kind of evidence:
//
//	"https://host/…", "//host/…"     a URL
//	"://host/…"                      after a scheme built apart ("http" + s + "://…")
//	".host/…"                        after the first labels of the host
//	"host.tld/…"                     after a scheme and "//" built apart
//
// A literal that is a host alone ("px.moatads.com") is reported with bare
// set, before it is classified: it is a part of a URL only where it is
// concatenated, which the caller sees from the tokens around it.
func (w *Writer) jsURL(s []byte) (v *rules.Vendor, kind EvidenceKind, bare bool) {
	switch c := s[0]; {
	case len(s) >= 2 && (c == '/' || c == '\\') && (s[1] == '/' || s[1] == '\\'),
		(c == 'h' || c == 'H') && (hasPrefixFold(s, "http:") || hasPrefixFold(s, "https:")):
		return w.cl.classify(s), EvidenceURL, false
	case c == ':':
		if len(s) > 3 && s[1] == '/' && s[2] == '/' {
			return w.cl.classify(s[1:]), EvidenceHostPart, false
		}
	case c == '.':
		if n := hostPart(s[1:]); n > 0 && (n == len(s)-1 || urlDelim(s[1+n])) {
			return w.jsHost(s[1 : 1+n]), EvidenceHostPart, false
		}
	case isAlpha(c) || c >= '0' && c <= '9':
		switch n := hostPart(s); {
		case n == 0:
		case n == len(s):
			return nil, EvidenceHostPart, true
		case s[n] == '/':
			return w.jsHost(s[:n]), EvidenceHostPart, false
		}
	}
	return nil, EvidenceNone, false
}

// jsHost returns the denied vendor of a host found in a script, through
// the page's host cache (classify).
func (w *Writer) jsHost(h []byte) *rules.Vendor {
	w.jsHostBuf = append(append(w.jsHostBuf[:0], "//"...), h...)
	return w.cl.classify(w.jsHostBuf)
}

// hostPart returns the length of the host name at the start of s: letters,
// digits, '-', '.' and bytes past ASCII, with a dot inside and a last
// label that starts with a letter (so "1.5" or "a.b1" are not hosts); 0
// when s does not start with one.
func hostPart(s []byte) int {
	n, dot, label := 0, false, 0
	for n < len(s) {
		b := s[n]
		switch {
		case b == '.':
			if n == 0 || s[n-1] == '.' {
				return 0
			}
			dot, label = true, n+1
		case isAlpha(b) || b >= '0' && b <= '9' || b == '-' || b >= 0x80:
		default:
			if !dot || label >= n || !(isAlpha(s[label]) || s[label] >= 0x80) {
				return 0
			}
			return n
		}
		n++
	}
	if !dot || label >= n || !(isAlpha(s[label]) || s[label] >= 0x80) {
		return 0
	}
	return n
}

// urlDelim reports whether c ends the host of a URL.
func urlDelim(c byte) bool { return c == '/' || c == ':' || c == '?' || c == '#' || c == '\\' }

// jsEscapes maps the letter of a single-character escape sequence to the
// byte it stands for.
var jsEscapes = [256]byte{'n': '\n', 't': '\t', 'r': '\r', 'b': '\b', 'f': '\f', 'v': '\v', '0': 0}

// cookJS appends to dst the string literal text raw with its escape
// sequences undone (ECMA-262 §12.9.4): \x and \u escapes (\u{…} too) as
// UTF-8, line continuations dropped, the single-character escapes as their
// characters and any other escaped character as itself.
func cookJS(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 == len(raw) {
			dst = append(dst, c)
			continue
		}
		i++
		switch c = raw[i]; c {
		case 'n', 't', 'r', 'b', 'f', 'v', '0':
			dst = append(dst, jsEscapes[c])
		case '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		case '\n':
		case 'x':
			if i+2 < len(raw) {
				if b, ok := unhex(raw[i+1], raw[i+2]); ok {
					dst = utf8.AppendRune(dst, rune(b))
					i += 2
					continue
				}
			}
			dst = append(dst, c)
		case 'u':
			r, n := unicodeEscape(raw[i+1:])
			if n == 0 {
				dst = append(dst, c)
				continue
			}
			dst = utf8.AppendRune(dst, r)
			i += n
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// unicodeEscape reads the part of a \u escape after the 'u': four hex
// digits or {hex digits}. It returns the code point and the bytes read,
// 0 when it is not one.
func unicodeEscape(b []byte) (rune, int) {
	if len(b) > 0 && b[0] == '{' {
		r := rune(0)
		for j := 1; j < len(b) && j <= 9; j++ {
			if b[j] == '}' {
				if j == 1 || r > utf8.MaxRune {
					return 0, 0
				}
				return r, j + 1
			}
			d, ok := hexVal(b[j])
			if !ok {
				return 0, 0
			}
			r = r<<4 | rune(d)
		}
		return 0, 0
	}
	if len(b) < 4 {
		return 0, 0
	}
	r := rune(0)
	for _, x := range b[:4] {
		d, ok := hexVal(x)
		if !ok {
			return 0, 0
		}
		r = r<<4 | rune(d)
	}
	return r, 4
}

func isDot(p []byte) bool {
	return len(p) == 1 && p[0] == '.' || len(p) == 2 && p[0] == '?' && p[1] == '.'
}

// assignOp reports whether the punctuator p assigns: '=' and the compound
// assignments, not the comparisons.
func assignOp(p []byte) bool {
	if p[len(p)-1] != '=' {
		return false
	}
	switch string(p) {
	case "==", "===", "!=", "!==", "<=", ">=":
		return false
	}
	return true
}

// ctlKeyword reports whether a '(' after w holds a condition or a head
// whose ')' a block follows.
func ctlKeyword(w []byte) bool {
	switch string(w) {
	case "if", "for", "while", "switch", "catch", "with":
		return true
	}
	return false
}

// jsReserved reports whether w is a reserved word or a literal keyword,
// never a global's name.
func jsReserved(w []byte) bool {
	if len(w) < 2 || len(w) > 10 || w[0] < 'a' || w[0] > 'y' {
		return false
	}
	switch string(w) {
	case "break", "case", "catch", "continue", "debugger", "default", "delete", "do", "else",
		"export", "extends", "finally", "for", "if", "import", "in", "instanceof", "new",
		"return", "super", "switch", "this", "throw", "try", "typeof", "void", "while", "with",
		"yield", "await", "null", "true", "false", "of", "enum", "static", "get", "set":
		return true
	}
	return false
}

func hasPrefixFold(s []byte, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lower(s[i]) != p[i] {
			return false
		}
	}
	return true
}
