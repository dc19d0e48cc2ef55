// Package matcher finds many byte patterns in a text at once: an
// Aho-Corasick automaton (A. V. Aho and M. J. Corasick, "Efficient string
// matching: an aid to bibliographic search", CACM 18(6), 1975) compiled to
// a deterministic automaton, so matching is one table load per input byte
// with no failure-link walks. Package rules builds one over the vendors'
// inline-script signatures (rules.Matcher, Set.Signatures); the rewriter
// feeds it inline scripts as they stream (State).
//
// Each pattern belongs to a value of the caller's type V; Each and
// State.Feed report each value once, in the order in which a first pattern
// of each ends in the text, and stop when the callback returns false. A
// pattern split across chunks fed to one State is found. Neither allocates
// when at most 256 values have patterns.
//
// Bytes that occur in no pattern share one class, so a row of the table is
// as wide as the number of distinct pattern bytes plus one, not 256. A
// transition holds the next state's row offset shifted left by one, with
// the low bit set when the next state reports a match: the inner loop is a
// load, a shift and an add per byte. Patterns are case-sensitive byte
// strings.
package matcher
