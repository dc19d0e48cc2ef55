package rules

import (
	"crypto/sha256"

	"github.com/consentgate/consentgate/rules/config"
)

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

// compileKeepScripts compiles keep_scripts that config.Validate accepted.
func compileKeepScripts(list []config.KeepScript) KeepScripts {
	var k KeepScripts
	for _, e := range list {
		switch {
		case e.ID != "":
			k.IDs = append(k.IDs, e.ID)
		case e.Class != "":
			k.Classes = append(k.Classes, e.Class)
		default:
			h, _ := e.Hash()
			k.SHA256 = append(k.SHA256, h)
		}
	}
	return k
}
