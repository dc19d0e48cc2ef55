package rewrite

import (
	"bytes"

	"github.com/consentgate/consentgate/rules"
)

// ampType maps the type attribute of an AMP component to the catalogue
// vendor whose code the AMP runtime then loads or whose endpoints it calls.
// Only names of the AMP vendor lists that are certain are mapped; the
// package documentation has the same table.
type ampType struct {
	name string // as written in type="...", lower case
	id   string // rules.Vendor.ID
}

// ampAnalyticsTypes are amp-analytics vendor configurations.
var ampAnalyticsTypes = []ampType{
	{"googleanalytics", "google-analytics"},
	{"gtag", "google-analytics"},
	{"googleadwords", "google-ads"},
	{"facebookpixel", "meta-pixel"},
	{"adobeanalytics", "adobe-analytics"},
	{"adobeanalytics_nativeconfig", "adobe-analytics"},
	{"chartbeat", "chartbeat"},
	{"comscore", "comscore"},
	{"parsely", "parsely"},
	{"quantcast", "quantcast"},
	{"segment", "segment"},
	{"metrika", "yandex-metrica"},
	{"amplitude", "amplitude"},
	{"mparticle", "mparticle"},
	{"permutive", "permutive"},
	{"lotame", "lotame"},
	{"newrelic", "new-relic-browser"},
}

// ampAdTypes are amp-ad and amp-embed ad networks.
var ampAdTypes = []ampType{
	{"doubleclick", "google-ads"},
	{"adsense", "google-ads"},
	{"a9", "amazon-ads"},
	{"criteo", "criteo"},
	{"taboola", "taboola"},
	{"outbrain", "outbrain"},
	{"appnexus", "xandr"},
	{"pubmatic", "pubmatic"},
	{"openx", "openx"},
	{"teads", "teads"},
	{"triplelift", "triplelift"},
	{"yieldmo", "yieldmo"},
	{"adform", "adform"},
	{"yandex", "yandex-ads"},
}

// ampEmbedIDs maps the AMP embed components to the catalogue vendor
// (rules.Vendor.ID) that their name implies: the AMP runtime builds the
// vendor's iframe, or loads its script, from data-* attributes, so no URL
// on the element names the vendor. Only components whose vendor is certain
// are listed; the package documentation has the same table.
var ampEmbedIDs = [elAmpAddthis - elAmpYoutube + 1]string{
	elAmpYoutube - elAmpYoutube:          "youtube",
	elAmpVimeo - elAmpYoutube:            "vimeo",
	elAmpInstagram - elAmpYoutube:        "instagram",
	elAmpTiktok - elAmpYoutube:           "tiktok-embeds",
	elAmpPinterest - elAmpYoutube:        "pinterest-widgets",
	elAmpReddit - elAmpYoutube:           "reddit-embeds",
	elAmpSoundcloud - elAmpYoutube:       "soundcloud",
	elAmpTwitter - elAmpYoutube:          "x-embeds",
	elAmpFacebook - elAmpYoutube:         "meta-pixel", // the catalogue's vendor of facebook.com and connect.facebook.net
	elAmpFacebookPage - elAmpYoutube:     "meta-pixel",
	elAmpFacebookComments - elAmpYoutube: "meta-pixel",
	elAmpFacebookLike - elAmpYoutube:     "meta-pixel",
	elAmpVk - elAmpYoutube:               "vk",
	elAmpJwplayer - elAmpYoutube:         "jw-player",
	elAmpWistiaPlayer - elAmpYoutube:     "wistia",
	elAmpConnatixPlayer - elAmpYoutube:   "connatix",
	elAmpAddthis - elAmpYoutube:          "addthis",
}

// ampVendor is an entry of the type tables resolved against a rules.Set.
type ampVendor struct {
	name string
	v    *rules.Vendor
}

// resolveAmp returns the entries of tab whose vendor is in s.
func resolveAmp(s *rules.Set, tab []ampType) []ampVendor {
	var r []ampVendor
	for _, t := range tab {
		if v := s.VendorByID(t.id); v != nil {
			r = append(r, ampVendor{t.name, v})
		}
	}
	return r
}

// unescape returns content with JSON-style "\/" read as "/". The result
// may alias w.scratch.
func (w *Writer) unescape(content []byte) []byte {
	if !bytes.Contains(content, []byte(`\/`)) {
		return content
	}
	b := w.scratch[:0]
	for k := 0; k < len(content); k++ {
		if content[k] == '\\' && k+1 < len(content) && content[k+1] == '/' {
			continue
		}
		b = append(b, content[k])
	}
	w.scratch = b
	return b
}

// configHosts returns the first denied vendor whose host follows a "//"
// in an (unescaped) amp-analytics configuration: the request URLs and
// endpoints it sends to.
func (w *Writer) configHosts(b []byte) *rules.Vendor {
	for {
		k := bytes.Index(b, []byte("//"))
		if k < 0 {
			return nil
		}
		b = b[k+2:]
		n := 0
		for n < len(b) && (isAlpha(b[n]) || b[n] >= '0' && b[n] <= '9' || b[n] == '.' || b[n] == '-') {
			n++
		}
		if n > 0 && bytes.IndexByte(b[:n], '.') >= 0 {
			if v := w.cl.classifyHost(b[:n]); v != nil {
				return v
			}
		}
		b = b[n:]
	}
}

// ampAnalytics decides a held amp-analytics element, which no attribute
// attributed to a vendor, by its content (the inline configuration):
// longer than MaxInline, it is removed; a denied vendor's signature or a
// denied host in it removes it; otherwise the content is rewritten as
// markup, like a noscript's.
func (w *Writer) ampAnalytics(all, content []byte, j int) {
	if len(content) > MaxInline {
		w.rep.stats.Oversize++
		w.hb.replace(j, nil)
		return
	}
	v := w.match(content)
	if v == nil {
		v = w.configHosts(w.unescape(content))
	}
	if v == nil {
		w.noscript(all, content, j)
		return
	}
	w.rep.record(v, elAmpAnalytics, rules.Remove)
	w.hb.replace(j, nil)
}
