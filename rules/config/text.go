package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkText validates a site's text for what visitors see (placeholder,
// confirmation page, notice): valid UTF-8 of at most max bytes, no control
// characters but tab and newline, and braces only around one of fields,
// as in "Loading this {name} {kind} shares data with {company}." The text
// is written into pages HTML-escaped; it is never markup.
func checkText(s string, max int, fields []string) error {
	if s == "" {
		return nil
	}
	if len(s) > max {
		return fmt.Errorf("%d bytes long; at most %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not valid UTF-8", s)
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f {
			return fmt.Errorf("%q holds a control character", s)
		}
	}
	for rest := s; rest != ""; {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			break
		}
		if rest[i] == '}' {
			return fmt.Errorf("a '}' without its '{' in %q", s)
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Errorf("a '{' without its '}' in %q", s)
		}
		f := rest[i+1 : i+j]
		known := false
		for _, k := range fields {
			known = known || f == k
		}
		if !known {
			if len(fields) == 0 {
				return fmt.Errorf("{%s}: this text takes no fields", f)
			}
			return fmt.Errorf("{%s} is not a field here (known: {%s})", f, strings.Join(fields, "}, {"))
		}
		rest = rest[i+j+1:]
	}
	return nil
}
