package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Read reads and parses the config file at path.
func Read(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %w", err)
	}
	return Parse(data, path)
}

// Parse parses a YAML config. Unknown keys and values of the wrong type are
// errors; all of them are reported at once in an *Error, each with its line
// and field path. name is used in messages and to resolve the relative
// paths the config names (Path). Parse does not validate: see Validate.
func Parse(data []byte, name string) (*Config, error) {
	cfg, ce := ParsePartial(data, name)
	if ce != nil {
		return nil, ce
	}
	return cfg, nil
}

// ParsePartial is Parse that also returns what it could decode when a key
// is unknown or a value of the wrong type, so that validating and
// compiling it can report the rest of the file's problems in the same run
// (Error.Merge). The config is nil when nothing could be decoded (a syntax
// error); the error is nil when the whole file parsed.
func ParsePartial(data []byte, name string) (*Config, *Error) {
	cfg := &Config{file: name, dir: filepath.Dir(name), raw: data, lines: lineIndex{}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		probs := yamlProblems(err, nil)
		if len(probs) == 1 {
			probs[0].Line = syntaxLine(data, probs[0].Line)
		}
		return nil, &Error{File: name, Problems: probs}
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		if top := root.Content[0]; top.Kind != yaml.MappingNode && !(top.Kind == yaml.ScalarNode && top.Tag == "!!null") {
			return nil, &Error{File: name, Problems: []Problem{{Line: top.Line, Msg: "the config must be a mapping of keys such as upstream: and sites:"}}}
		}
		cfg.lines.add(root.Content[0], "")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, &Error{File: name, Problems: yamlProblems(err, cfg.lines)}
	}
	return cfg, nil
}

// maxSyntaxScan bounds the configs whose syntax errors syntaxLine locates
// by parsing prefixes (a parse per line).
const maxSyntaxScan = 2000

// syntaxLine returns the line of a YAML syntax error: the one after the
// longest prefix of whole lines that still parses. The yaml package reports
// the line where the enclosing construct starts, counted from 0 for parser
// errors, or where the problem is when that construct starts on the first
// line: an unclosed "[" on line 4 came out as line 3, a stray "- x" in the
// top-level mapping on line 4 as line 3, and some errors as line 1. Longer
// configs keep the reported line.
func syntaxLine(data []byte, reported int) int {
	ends := []int{}
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	if len(ends) > maxSyntaxScan {
		return reported
	}
	var n yaml.Node
	// ends[k-1] is the end of line k; the whole document (k = len) fails.
	for k := len(ends) - 1; k > 0; k-- {
		if yaml.Unmarshal(data[:ends[k-1]], &n) == nil {
			return k + 1
		}
	}
	return 1
}

// lineIndex maps a field path such as "sites[0].hosts[1]" to where it is.
type lineIndex map[string]nodePos

type nodePos struct {
	line  int
	value string // of a scalar
}

func (ix lineIndex) add(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			ix[p] = nodePos{n.Content[i].Line, n.Content[i+1].Value}
			ix.add(n.Content[i+1], p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			ix[p] = nodePos{c.Line, c.Value}
			ix.add(c, p)
		}
	}
}

// line returns the line of path, or of its nearest parent that has one.
func (ix lineIndex) line(path string) int {
	for path != "" {
		if np, ok := ix[path]; ok {
			return np.line
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// at returns the path on line whose last key is key ("" for any) and whose
// value is value ("" for any; a yaml message shortens long values to a
// prefix and "..."); the deepest such path wins, then the first. It also
// returns the full value.
func (ix lineIndex) at(line int, key, value string) (string, string) {
	best, full := "", ""
	short, cut := strings.CutSuffix(value, "...")
	for p, np := range ix {
		if np.line != line || key != "" && !strings.HasSuffix("."+p, "."+key) {
			continue
		}
		if value != "" && np.value != value && !(cut && strings.HasPrefix(np.value, short)) {
			continue
		}
		if len(p) > len(best) || len(p) == len(best) && p < best {
			best, full = p, np.value
		}
	}
	return best, full
}

var (
	reUnknownField = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	reCannot       = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (\\S+)$")
)

// keysOf lists the YAML keys of the config types, for "unknown key" hints.
var keysOf = map[string]reflect.Type{
	"config.Config":     reflect.TypeFor[Config](),
	"config.Site":       reflect.TypeFor[Site](),
	"config.Cookie":     reflect.TypeFor[Cookie](),
	"config.Region":     reflect.TypeFor[Region](),
	"config.Import":     reflect.TypeFor[Import](),
	"config.Registry":   reflect.TypeFor[Registry](),
	"config.Account":    reflect.TypeFor[Account](),
	"config.Vendor":     reflect.TypeFor[Vendor](),
	"config.KeepScript": reflect.TypeFor[KeepScript](),
	"config.Canary":     reflect.TypeFor[Canary](),
	"config.Receipts":   reflect.TypeFor[Receipts](),
}

// yamlProblems turns a yaml error ("yaml: line 3: field x not found in type
// config.Site") into problems with field paths and plain messages.
func yamlProblems(err error, ix lineIndex) []Problem {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	out := make([]Problem, 0, len(msgs))
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		p := Problem{Msg: m}
		var line int
		if n, _ := fmt.Sscanf(m, "line %d:", &line); n == 1 {
			p.Line = line
			p.Msg = strings.TrimSpace(m[strings.IndexByte(m, ':')+1:])
		}
		if sm := reUnknownField.FindStringSubmatch(p.Msg); sm != nil {
			p.Field, _ = ix.at(p.Line, sm[1], "")
			p.Msg = fmt.Sprintf("unknown key %q", sm[1])
			if t, ok := keysOf[sm[2]]; ok {
				keys := yamlKeys(t)
				if s := Closest(sm[1], keys); s != "" {
					p.Msg += fmt.Sprintf(" (did you mean %q?)", s)
				} else {
					p.Msg += " (known keys: " + strings.Join(keys, ", ") + ")"
				}
			}
		} else if sm := reCannot.FindStringSubmatch(p.Msg); sm != nil {
			value := sm[2]
			if f, full := ix.at(p.Line, "", value); f != "" {
				p.Field = f
				if value != "" {
					value = full
				}
			} else {
				p.Field, _ = ix.at(p.Line, "", "")
			}
			p.Msg = typeMessage(sm[1], value, sm[3])
		} else if p.Line > 0 && ix != nil {
			p.Field, _ = ix.at(p.Line, "", "")
		}
		out = append(out, p)
	}
	return out
}

// typeMessage explains a value of the wrong YAML type.
func typeMessage(tag, value, goType string) string {
	got := map[string]string{"!!seq": "a list", "!!map": "a mapping", "!!str": "text", "!!int": "a number", "!!bool": "true/false", "!!float": "a number"}[tag]
	if value != "" {
		got = fmt.Sprintf("%q", value)
	}
	if got == "" {
		got = tag
	}
	var want string
	switch {
	case goType == "bool":
		want = "true or false"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		want = "a whole number"
	case goType == "string":
		want = "a single value"
	case strings.HasPrefix(goType, "[]"):
		want = "a list"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "config."):
		want = "a mapping of keys"
	default:
		want = goType
	}
	return fmt.Sprintf("want %s, got %s", want, got)
}

// yamlKeys returns the yaml keys of a struct type in declaration order.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}

// Closest returns the one of keys within edit distance 2 of s, the
// nearest first, or "": the hint of an "unknown key" or "no vendor with
// id" problem.
func Closest(s string, keys []string) string {
	best, bestD := "", 3
	for _, k := range keys {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
