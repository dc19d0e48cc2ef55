// Package urlhost reads host names the way a browser does: out of a URL as
// the WHATWG URL parser finds it (Find), into the canonical form every
// lookup of package rules compares (Buf.Canonical), label by label from the
// longest suffix (NextSuffix), and as written in a config file or catalogue
// (Normalise, NormaliseEntry).
//
// # Limits
//
// Find takes the host out of an http or https URL, a scheme-relative URL or
// a bare host name: any run of slashes or backslashes after http: or https:
// is skipped, leading and trailing C0 controls and spaces are trimmed; it
// returns the host as written, aliasing its input, and never allocates.
//
// Canonical decodes percent-escapes and maps a host with bytes past ASCII
// by UTS #46 (golang.org/x/net/idna, nontransitional, as browsers do) to its
// ASCII form, so "www。facebook。com" reads as www.facebook.com; a host the
// browser refuses (invalid IDNA or UTF-8, a forbidden code point), an IPv6
// literal and a host longer than MaxLen bytes after that mapping give nil.
// Only hosts with a byte past ASCII (written or escaped) allocate.
//
// Normalise checks the syntax of a configured host (letters, digits, dots,
// dashes and underscores, at most 32 labels and MaxLen bytes);
// NormaliseEntry also refuses a public suffix (ICANN or private section of
// the Public Suffix List), so a host-table entry never claims unrelated
// sites.
package urlhost
