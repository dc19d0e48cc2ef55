// Package jsmin minifies the runtime guard's source with esbuild, the same
// way for go generate and for the test that checks the committed output.
package jsmin

import (
	"errors"
	"fmt"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Minify returns src minified for browsers from 2020 on (ES2017: what the
// guard uses, and no syntax a current browser lacks), without comments but
// the legal ones, ending in a newline.
func Minify(src []byte) ([]byte, error) {
	r := api.Transform(string(src), api.TransformOptions{
		Loader:            api.LoaderJS,
		Target:            api.ES2017,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsNone,
		Charset:           api.CharsetASCII,
	})
	if len(r.Errors) > 0 {
		var msgs []string
		for _, m := range r.Errors {
			loc := ""
			if m.Location != nil {
				loc = fmt.Sprintf("%d:%d: ", m.Location.Line, m.Location.Column)
			}
			msgs = append(msgs, loc+m.Text)
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	return r.Code, nil
}
