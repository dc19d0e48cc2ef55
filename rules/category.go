package rules

import (
	"fmt"
	"slices"
	"strings"
)

// Category is what a vendor does with a visitor's data. The set is closed: every
// vendor, cookie and policy names one of these.
type Category uint8

// The categories, in the order they are printed.
const (
	Necessary Category = iota
	Functional
	Analytics
	Advertising
	Social
	NumCategories // number of categories; not a category
)

var categoryNames = [NumCategories]string{"necessary", "functional", "analytics", "advertising", "social"}

// String returns the lower-case name used in config files and JSON.
func (c Category) String() string { return nameOf(categoryNames[:], c, "category") }

// ParseCategory returns the category named s (case-insensitive).
func ParseCategory(s string) (Category, error) {
	if c, ok := parseName[Category](categoryNames[:], s); ok {
		return c, nil
	}
	return 0, fmt.Errorf("unknown category %q (want one of %s)", s, strings.Join(categoryNames[:], ", "))
}

// strictness ranks categories by when an opt-out denies them with the
// default policy: necessary never, functional only in opt-in regions,
// analytics, advertising and social by every opt-out.
var strictness = [NumCategories]uint8{Necessary: 0, Functional: 1, Analytics: 2, Advertising: 2, Social: 2}

// Stricter reports whether c is denied in more situations than d under the
// default policy: necessary < functional < analytics = advertising = social.
// Analytics, advertising and social are equally strict; a site's own deny
// list can tell them apart, so no one of them is stricter than another.
func (c Category) Stricter(d Category) bool {
	return c < NumCategories && d < NumCategories && strictness[c] > strictness[d]
}

// Categories is a set of categories, one bit each. The zero value is the empty set.
type Categories uint8

// Of returns the set holding cs.
func Of(cs ...Category) Categories {
	var s Categories
	for _, c := range cs {
		s |= 1 << c
	}
	return s
}

// All is every category; AllButNecessary is what an opt-in region denies until consent.
const (
	All             Categories = 1<<NumCategories - 1
	AllButNecessary Categories = All &^ (1 << Necessary)
	// DefaultDeny is what a "Do Not Sell or Share" opt-out denies unless a site
	// says otherwise: third-party advertising, analytics and social tracking.
	DefaultDeny Categories = 1<<Advertising | 1<<Analytics | 1<<Social
)

// Has reports whether c is in the set.
func (s Categories) Has(c Category) bool { return s&(1<<c) != 0 }

// Names returns the names of the categories in the set, sorted by name. It never
// returns nil, so JSON shows [] for the empty set.
func (s Categories) Names() []string {
	out := make([]string, 0, NumCategories)
	for c := Category(0); c < NumCategories; c++ {
		if s.Has(c) {
			out = append(out, c.String())
		}
	}
	slices.Sort(out)
	return out
}

// ByName is every category in the order of their names, the order Names
// prints them in. It is shared: do not modify it.
var ByName = func() []Category {
	out := make([]Category, 0, NumCategories)
	for c := Category(0); c < NumCategories; c++ {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Category) int { return strings.Compare(a.String(), b.String()) })
	return out
}()

// String returns the names joined with commas.
func (s Categories) String() string { return strings.Join(s.Names(), ",") }

// ParseCategories parses a comma-separated list of category names. The empty
// string is the empty set.
func ParseCategories(list string) (Categories, error) {
	var s Categories
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		c, err := ParseCategory(f)
		if err != nil {
			return 0, err
		}
		s |= 1 << c
	}
	return s, nil
}

// Action is what the rewriter does with an element of a denied category.
type Action uint8

const (
	// Remove drops the element and its content.
	Remove Action = iota
	// Neutralise keeps the element but stops it loading: type="text/plain",
	// src moved to data-src, data-consent-category set, so a consent tool can
	// restore it later.
	Neutralise
)

// String returns the config name of the action.
func (a Action) String() string {
	if a == Neutralise {
		return "neutralise"
	}
	return "remove"
}

// ParseAction parses "remove" or "neutralise" (also "neutralize").
func ParseAction(s string) (Action, error) {
	switch strings.ToLower(s) {
	case "remove":
		return Remove, nil
	case "neutralise", "neutralize":
		return Neutralise, nil
	}
	return 0, fmt.Errorf("unknown action %q (want remove or neutralise)", s)
}

// nameOf returns the name of v in names, the config names of a closed set
// of values, or kind(v) for a value past them.
func nameOf[T ~uint8](names []string, v T, kind string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", kind, uint8(v))
}

// parseName returns the value named s (any case) in names.
func parseName[T ~uint8](names []string, s string) (T, bool) {
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return T(i), true
		}
	}
	return 0, false
}
