package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// KeepScriptConfig is one entry of a site's keep_scripts as written: an
// inline script the rewriter always keeps, named by exactly one of its id
// attribute, one of its classes or the SHA-256 of its content.
type KeepScriptConfig struct {
	ID    string `yaml:"id"`
	Class string `yaml:"class"`
	// SHA256 is the hash of the script's content (the bytes between its
	// start tag and its end tag), in hex, as consentgate explain-page
	// prints it.
	SHA256 string `yaml:"sha256"`
}

// KeepScripts are the inline scripts of a site that the rewriter always
// keeps, whatever they hold: the operator's answer to a script wrongly
// taken for a tracker (see consentgate explain-page).
type KeepScripts struct {
	IDs     []string // exact values of the id attribute
	Classes []string // one of the classes of the class attribute
	SHA256  [][sha256.Size]byte
}

// Len is the number of entries.
func (k *KeepScripts) Len() int { return len(k.IDs) + len(k.Classes) + len(k.SHA256) }

// compileKeepScripts validates keep_scripts; problems have field paths
// relative to the site.
func compileKeepScripts(list []KeepScriptConfig) (KeepScripts, []Problem) {
	var k KeepScripts
	var probs []Problem
	for i, e := range list {
		field := fmt.Sprintf(".keep_scripts[%d]", i)
		n := 0
		for _, v := range []string{e.ID, e.Class, e.SHA256} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			probs = append(probs, Problem{Field: field, Msg: "give exactly one of id, class or sha256 (consentgate explain-page prints them for each inline script)"})
			continue
		}
		switch {
		case e.ID != "":
			if strings.ContainsAny(e.ID, " \t\n\r\f") {
				probs = append(probs, Problem{Field: field + ".id", Msg: fmt.Sprintf("%q: an id has no white space", e.ID)})
				continue
			}
			k.IDs = append(k.IDs, e.ID)
		case e.Class != "":
			if strings.ContainsAny(e.Class, " \t\n\r\f") {
				probs = append(probs, Problem{Field: field + ".class", Msg: fmt.Sprintf("%q: give one class per entry", e.Class)})
				continue
			}
			k.Classes = append(k.Classes, e.Class)
		default:
			var h [sha256.Size]byte
			b, err := hex.DecodeString(e.SHA256)
			if err != nil || len(b) != len(h) {
				probs = append(probs, Problem{Field: field + ".sha256", Msg: fmt.Sprintf("%q is not a SHA-256 in hex (64 hex digits, as consentgate explain-page prints it)", e.SHA256)})
				continue
			}
			copy(h[:], b)
			k.SHA256 = append(k.SHA256, h)
		}
	}
	return k, probs
}
