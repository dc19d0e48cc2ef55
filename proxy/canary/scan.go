package canary

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/consentgate/consentgate/proxy/receipt"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/urlhost"
	"golang.org/x/net/html"
)

// maxDepth bounds nested documents (noscript content, iframe srcdoc).
const maxDepth = 4

// scanner finds what a canary expects gone in a page. It reads the page
// with golang.org/x/net/html's tokenizer, not with the rewriter, so a fault
// of the rewriter shows up instead of being repeated.
type scanner struct {
	set   *rules.Set
	can   *rules.Canary
	stub  []byte // consentgate's own stub script, which names vendor globals
	leaks []receipt.Leak
	seen  map[[3]string]bool
}

// ScanHTML returns every element of body that would load a vendor the
// canary expects gone: URL attributes (src, srcset, href of loading links,
// poster, data, background, ping, data-src and data-srcset of elements not
// neutralised, xlink:href), url(...) and URL strings in style attributes
// and style elements, inline scripts by the vendor's signatures, and the
// same inside noscript content and iframe srcdoc documents. An element
// neutralised by consentgate (data-consent-category, URL attributes renamed
// with data-) loads nothing and is not counted. Each (vendor, element,
// attribute) is listed once. stub is the text of the stub script the
// proxy inserts for the visitor's policy (rewrite.Stub without its tags),
// which defines the denied vendors' globals and so carries their
// signatures; a script with exactly that text is not counted.
func ScanHTML(set *rules.Set, can *rules.Canary, stub, body []byte) []receipt.Leak {
	s := &scanner{set: set, can: can, stub: stub, seen: map[[3]string]bool{}}
	s.doc(body, 0)
	return s.leaks
}

// loadingRel are link rel values that make a browser fetch href.
var loadingRel = []string{"stylesheet", "preload", "prefetch", "preconnect", "dns-prefetch", "modulepreload", "icon", "prerender", "manifest", "import"}

var stripTabNL = strings.NewReplacer("\t", "", "\n", "", "\r", "")

func (s *scanner) add(v *rules.Vendor, element, attr string) {
	if v == nil || !s.can.Expects(v) {
		return
	}
	k := [3]string{v.ID, element, attr}
	if s.seen[k] {
		return
	}
	s.seen[k] = true
	s.leaks = append(s.leaks, receipt.Leak{What: "element", Vendor: v.ID, Category: v.Category.String(), Element: element, Name: attr})
}

// url classifies one URL as the browser would read it.
func (s *scanner) url(u, element, attr string) {
	u = stripTabNL.Replace(u)
	if h := urlhost.Find([]byte(u)); len(h) > 0 {
		s.add(s.set.VendorForHost(h), element, attr)
	}
}

func (s *scanner) doc(body []byte, depth int) {
	if depth > maxDepth {
		return
	}
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return
		case html.StartTagToken, html.SelfClosingTagToken:
			name, more := z.TagName()
			el := string(name)
			attrs := map[string]string{}
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				if _, dup := attrs[string(k)]; !dup { // browsers ignore a repeat
					attrs[string(k)] = string(v)
				}
			}
			s.element(z, tt, el, attrs, depth)
		}
	}
}

func (s *scanner) element(z *html.Tokenizer, tt html.TokenType, el string, attrs map[string]string, depth int) {
	_, neutralised := attrs["data-consent-category"]
	for k, v := range attrs {
		switch k {
		case "src", "poster", "data", "background", "action-xhr", "xlink:href":
			s.url(v, el, k)
		case "srcset", "imagesrcset":
			for _, c := range strings.Split(v, ",") {
				if f := strings.Fields(c); len(f) > 0 {
					s.url(f[0], el, k)
				}
			}
		case "data-src", "data-srcset":
			if neutralised {
				continue // renamed by consentgate: inert
			}
			for _, c := range strings.Split(v, ",") {
				if f := strings.Fields(c); len(f) > 0 {
					s.url(f[0], el, k)
				}
			}
		case "ping":
			for _, u := range strings.Fields(v) {
				s.url(u, el, k)
			}
		case "href":
			switch el {
			case "link":
				rel := strings.ToLower(attrs["rel"])
				for _, r := range loadingRel {
					if containsWord(rel, r) {
						s.url(v, el, k)
						break
					}
				}
			case "base", "script", "image", "use", "feimage":
				s.url(v, el, k)
			}
		case "style":
			s.css(v, el, k)
		case "srcdoc":
			if el == "iframe" {
				sub := &scanner{set: s.set, can: s.can, stub: s.stub, seen: s.seen}
				sub.doc([]byte(v), depth+1)
				for _, l := range sub.leaks {
					s.leaks = append(s.leaks, receipt.Leak{What: l.What, Vendor: l.Vendor, Category: l.Category, Element: "iframe", Name: "srcdoc"})
				}
			}
		}
	}
	if tt == html.SelfClosingTagToken {
		return
	}
	switch el {
	case "script":
		if _, external := attrs["src"]; external || neutralised || dataScript(attrs["type"]) {
			return
		}
		if z.Next() == html.TextToken {
			text := z.Text()
			if len(s.stub) > 0 && bytes.Equal(text, s.stub) {
				return
			}
			s.set.Signatures().Each(text, func(v *rules.Vendor) bool {
				s.add(v, "script", "inline")
				return true
			})
		}
	case "style":
		if z.Next() == html.TextToken {
			s.css(string(z.Text()), "style", "css")
		}
	case "noscript":
		if z.Next() == html.TextToken {
			s.doc(z.Text(), depth+1)
		}
	}
}

// css classifies the URLs of CSS text: url(...) arguments and strings that
// are absolute or scheme-relative URLs (@import, image-set).
func (s *scanner) css(css, el, attr string) {
	lower := strings.ToLower(css)
	for i := 0; ; {
		j := strings.Index(lower[i:], "url(")
		if j < 0 {
			break
		}
		start := i + j + 4
		end := strings.IndexByte(css[start:], ')')
		if end < 0 {
			end = len(css) - start
		}
		s.url(strings.Trim(strings.TrimSpace(css[start:start+end]), `"'`), el, attr)
		i = start
	}
	for _, q := range []byte{'"', '\''} {
		for rest := css; ; {
			a := strings.IndexByte(rest, q)
			if a < 0 {
				break
			}
			b := strings.IndexByte(rest[a+1:], q)
			if b < 0 {
				break
			}
			str := rest[a+1 : a+1+b]
			if l := strings.ToLower(str); strings.HasPrefix(l, "//") || strings.HasPrefix(l, "http:") || strings.HasPrefix(l, "https:") {
				s.url(str, el, attr)
			}
			rest = rest[a+1+b+1:]
		}
	}
}

// dataScript reports whether a script type makes it data that never runs
// (as the rewriter reads it): JSON, import maps, templates.
func dataScript(t string) bool {
	t = strings.ToLower(strings.TrimSpace(t))
	if strings.Contains(t, "json") || t == "importmap" || t == "speculationrules" {
		return true
	}
	for _, p := range []string{"text/template", "text/x-template", "text/html", "text/x-handlebars", "text/ng-template", "text/x-jquery-tmpl", "text/x-magento-template", "x-shader/"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

func containsWord(list, w string) bool {
	for _, f := range strings.Fields(list) {
		if f == w {
			return true
		}
	}
	return false
}

// CookieLeaks returns the Set-Cookie lines of a response that set a cookie
// of a vendor the canary expects gone; an expiry (Max-Age=0 or less, or an
// Expires in the past) is no leak: it is how consentgate removes them.
func CookieLeaks(set *rules.Set, can *rules.Canary, h http.Header, now time.Time) []receipt.Leak {
	var out []receipt.Leak
	for _, line := range h.Values("Set-Cookie") {
		name, rest, _ := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		v := set.CookieVendor([]byte(name))
		if v == nil || !can.Expects(v) || expiry(rest, now) {
			continue
		}
		out = append(out, receipt.Leak{What: "cookie", Vendor: v.ID, Category: v.Category.String(), Name: name})
	}
	return out
}

// expiry reports whether the attributes of a Set-Cookie line (after the
// name's "=") delete the cookie.
func expiry(rest string, now time.Time) bool {
	parts := strings.Split(rest, ";")
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "max-age":
			v = strings.TrimSpace(v)
			if v == "0" || strings.HasPrefix(v, "-") {
				return true
			}
			return false // Max-Age wins over Expires (RFC 6265 §5.3)
		}
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "expires") {
			if t, err := http.ParseTime(strings.TrimSpace(v)); err == nil && !t.After(now) {
				return true
			}
		}
	}
	return false
}
