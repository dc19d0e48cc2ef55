package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error lists every problem found in a config, each with file and line.
type Error struct {
	File     string
	Problems []Problem
}

// Problem is one config error: where it is, which field, and what is wrong.
type Problem struct {
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if p.Line > 0 {
			fmt.Fprintf(&b, "%s:%d: ", e.File, p.Line)
		} else {
			fmt.Fprintf(&b, "%s: ", e.File)
		}
		if p.Field != "" {
			fmt.Fprintf(&b, "%s: ", p.Field)
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// Merge adds the problems of compiling a partly parsed config to e, the
// problems of parsing it, and returns e. A compile problem of a field that
// failed to parse, of a part of it or of the entry holding it (a vendor
// that "matches nothing" because its hosts key was misspelt) is a
// consequence and dropped.
func (e *Error) Merge(compileErr error) *Error {
	var ce *Error
	if !errors.As(compileErr, &ce) {
		if compileErr != nil {
			e.Problems = append(e.Problems, Problem{Msg: compileErr.Error()})
		}
		return e
	}
	parsed := len(e.Problems)
	for _, p := range ce.Problems {
		consequence := false
		for _, q := range e.Problems[:parsed] {
			if q.Field != "" && p.Field != "" && (Within(p.Field, q.Field) || Within(q.Field, p.Field)) {
				consequence = true
				break
			}
		}
		if !consequence {
			e.Problems = append(e.Problems, p)
		}
	}
	sort.SliceStable(e.Problems, func(i, j int) bool { return e.Problems[i].Line < e.Problems[j].Line })
	return e
}

// Within reports whether field path f is p or a part of it
// ("sites[0].hosts[1]" is within "sites[0]", "sites[10]" is not).
func Within(f, p string) bool {
	return f == p || strings.HasPrefix(f, p+".") || strings.HasPrefix(f, p+"[")
}
