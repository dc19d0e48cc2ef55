package rewrite

import (
	"strconv"
	"testing"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
)

// TestReport: one Removal per vendor, element and action, counted; at
// most MaxRemovals kinds, the rest counted in Stats.Unrecorded; a nested
// report merges into its parent's.
func TestReport(t *testing.T) {
	a, b := &rules.Vendor{Vendor: config.Vendor{ID: "a"}}, &rules.Vendor{Vendor: config.Vendor{ID: "b"}}
	var r report
	if r.any() {
		t.Fatal("an empty report records something")
	}
	r.record(a, elImg, rules.Remove)
	r.record(a, elImg, rules.Remove)
	r.record(a, elImg, rules.Neutralise)
	r.record(b, elScript, rules.Remove)
	want := []Removal{
		{Vendor: a, Element: "img", Action: rules.Remove, Count: 2, el: elImg},
		{Vendor: a, Element: "img", Action: rules.Neutralise, Count: 1, el: elImg},
		{Vendor: b, Element: "script", Action: rules.Remove, Count: 1, el: elScript},
	}
	if len(r.removed) != len(want) {
		t.Fatalf("removed %+v, want %+v", r.removed, want)
	}
	for i := range want {
		if r.removed[i] != want[i] {
			t.Errorf("removed[%d] = %+v, want %+v", i, r.removed[i], want[i])
		}
	}

	var sub report
	sub.record(b, elScript, rules.Remove)
	sub.record(b, elIframe, rules.Remove)
	sub.stats.Unrecorded = 3
	r.merge(&sub)
	if r.removed[2].Count != 2 || len(r.removed) != 4 || r.stats.Unrecorded != 3 {
		t.Errorf("after merge: %+v, unrecorded %d", r.removed, r.stats.Unrecorded)
	}

	r.reset()
	if r.any() || len(r.removed) != 0 {
		t.Fatalf("after reset: %+v", r.removed)
	}
	for i := range MaxRemovals + 10 {
		r.record(&rules.Vendor{Vendor: config.Vendor{ID: strconv.Itoa(i)}}, elImg, rules.Remove)
	}
	if len(r.removed) != MaxRemovals || r.stats.Unrecorded != 10 || !r.any() {
		t.Errorf("%d kinds recorded, %d unrecorded; want %d and 10", len(r.removed), r.stats.Unrecorded, MaxRemovals)
	}
}
