package rewrite

import "github.com/consentgate/consentgate/rules"

// Removal counts the elements of one vendor and kind the rewriter removed
// or neutralised the same way. A page yields one Removal per (vendor,
// element, action), so what a Writer records is bounded by the rule set,
// not by the page: a stream of a million tracker images is one Removal.
type Removal struct {
	Vendor *rules.Vendor
	// Element is the lower-case element name: "script", "img", "iframe",
	// "link", "a", ...; "style" for one URL deleted from a style element
	// or from a style attribute (of any element).
	Element string
	Action  rules.Action
	// Count is how many times (at least 1).
	Count int

	el elem
}

// MaxRemovals bounds the distinct Removals a Writer keeps; further kinds
// are counted in Stats.Unrecorded only.
const MaxRemovals = 1024

// removalKey identifies a Removal.
type removalKey struct {
	v   *rules.Vendor
	el  elem
	act rules.Action
}

// Stats counts the fail-closed branches a Writer took.
type Stats struct {
	// Oversize counts elements, and URL tokens of style elements, that
	// passed a bound (MaxTag, MaxInline, MaxScript, MaxCSSToken) and were
	// handled by the rule for that bound, and attributes of a start tag
	// past MaxTag deleted because MaxURL bytes of their value did not
	// decide them.
	Oversize int
	// Unrecorded counts removals past MaxRemovals distinct kinds.
	Unrecorded int
	// UnrecordedScripts counts inline scripts past MaxScripts: judged,
	// but not in Writer.Scripts.
	UnrecordedScripts int
}

// report is what a Writer records of a page: the Removals, at most
// MaxRemovals kinds of them, and the fail-closed counts.
type report struct {
	removed []Removal
	index   map[removalKey]int32 // into removed
	stats   Stats
}

// reset empties r for a new page, keeping its storage.
func (r *report) reset() {
	clear(r.index)
	*r = report{removed: r.removed[:0], index: r.index}
}

// record counts a removal of an element el of vendor v, by action a.
func (r *report) record(v *rules.Vendor, el elem, a rules.Action) {
	r.add(removalKey{v, el, a}, 1)
}

// add adds n removals of one kind.
func (r *report) add(k removalKey, n int) {
	if i, ok := r.index[k]; ok {
		r.removed[i].Count += n
		return
	}
	if len(r.removed) >= MaxRemovals {
		r.stats.Unrecorded += n
		return
	}
	if r.index == nil {
		r.index = make(map[removalKey]int32)
	}
	r.index[k] = int32(len(r.removed))
	r.removed = append(r.removed, Removal{Vendor: k.v, Element: elemNames[k.el], Action: k.act, Count: n, el: k.el})
}

// merge adds the removals of a nested Writer's report, and the counts
// that follow them.
func (r *report) merge(sub *report) {
	for _, x := range sub.removed {
		r.add(removalKey{x.Vendor, x.el, x.Action}, x.Count)
	}
	r.stats.Unrecorded += sub.stats.Unrecorded
}

// any reports whether anything was recorded: something was removed or
// neutralised, so the output differs from the input.
func (r *report) any() bool { return len(r.removed) > 0 || r.stats.Unrecorded > 0 }
