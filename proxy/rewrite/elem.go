package rewrite

// elem is an element the rewriter tells apart by name.
type elem uint8

const (
	elOther elem = iota
	// Elements that can load a third party.
	elScript
	elNoscript
	elImg
	elIframe
	elFrame
	elLink
	elA
	elArea
	elVideo
	elAudio
	elSource
	elTrack
	elEmbed
	elObject
	elInput
	elImage // SVG <image>
	// AMP components that load a URL or a vendor (see ampElems).
	elAmpPixel
	elAmpImg
	elAmpAnim
	elAmpIframe
	elAmpVideo
	elAmpAudio
	elAmpAd
	elAmpEmbed
	elAmpAnalytics
	// AMP embed components, attributed to their vendor by name (see
	// ampEmbedIDs): the AMP runtime builds the vendor's iframe or loads its
	// script from data-* attributes.
	elAmpYoutube
	elAmpVimeo
	elAmpInstagram
	elAmpTiktok
	elAmpPinterest
	elAmpReddit
	elAmpSoundcloud
	elAmpTwitter
	elAmpFacebook
	elAmpFacebookPage
	elAmpFacebookComments
	elAmpFacebookLike
	elAmpVk
	elAmpJwplayer
	elAmpWistiaPlayer
	elAmpConnatixPlayer
	elAmpAddthis // the last AMP component: see amp, loads, ampNamed
	// Elements that change how what follows is tokenized, or where the
	// stub goes.
	elSvg
	elMath
	elHTML
	elHead
	elMeta
	elTitle
	elBase
	elStyle
	elTextarea
	elXmp
	elNoembed
	elNoframes
	elPlaintext
	elTemplate // counted inside a placeholder (see placeholder.go)
)

var elemNames = [...]string{
	elOther: "", elScript: "script", elNoscript: "noscript", elImg: "img", elIframe: "iframe",
	elFrame: "frame", elLink: "link", elA: "a", elArea: "area", elVideo: "video", elAudio: "audio",
	elSource: "source", elTrack: "track", elEmbed: "embed", elObject: "object", elInput: "input",
	elImage: "image", elAmpPixel: "amp-pixel", elAmpImg: "amp-img", elAmpAnim: "amp-anim",
	elAmpIframe: "amp-iframe", elAmpVideo: "amp-video", elAmpAudio: "amp-audio", elAmpAd: "amp-ad",
	elAmpEmbed: "amp-embed", elAmpAnalytics: "amp-analytics",
	elAmpYoutube: "amp-youtube", elAmpVimeo: "amp-vimeo", elAmpInstagram: "amp-instagram",
	elAmpTiktok: "amp-tiktok", elAmpPinterest: "amp-pinterest", elAmpReddit: "amp-reddit",
	elAmpSoundcloud: "amp-soundcloud", elAmpTwitter: "amp-twitter", elAmpFacebook: "amp-facebook",
	elAmpFacebookPage: "amp-facebook-page", elAmpFacebookComments: "amp-facebook-comments",
	elAmpFacebookLike: "amp-facebook-like", elAmpVk: "amp-vk", elAmpJwplayer: "amp-jwplayer",
	elAmpWistiaPlayer: "amp-wistia-player", elAmpConnatixPlayer: "amp-connatix-player",
	elAmpAddthis: "amp-addthis", elSvg: "svg", elMath: "math", elHTML: "html", elHead: "head", elMeta: "meta",
	elTitle: "title", elBase: "base", elStyle: "style", elTextarea: "textarea", elXmp: "xmp",
	elNoembed: "noembed", elNoframes: "noframes", elPlaintext: "plaintext", elTemplate: "template",
}

// lookupElem maps a tag name, in any case, to its elem.
func lookupElem(name []byte) elem {
	if ampName(name) {
		return lookupAmp(name)
	}
	if len(name) == 0 || len(name) >= len(elemTab[0]) {
		return elOther
	}
	t := &elemTab[name[0]&31][len(name)]
	if t[0] == elOther {
		return elOther
	}
	return lookupElemIn(name, t)
}

// ampName reports whether name may be an AMP component ("amp-..."): two
// byte compares, so the tokenizer's fast path pays next to nothing for the
// names of other elements.
func ampName(name []byte) bool {
	return len(name) > 4 && name[3] == '-' && name[0]|0x20 == 'a'
}

// lookupAmp returns the AMP component elem that name, which ampName
// accepted, is, or elOther.
func lookupAmp(name []byte) elem {
	if len(name) >= len(ampTab[0]) || name[1]|0x20 != 'm' || name[2]|0x20 != 'p' {
		return elOther
	}
	t := &ampTab[name[4]&31][len(name)]
	if t[0] == elOther {
		return elOther
	}
	return lookupElemIn(name, t)
}

// ampTab holds the AMP components by the low bits of the byte after
// "amp-" and their length; no more than two share a slot. A name is no
// longer than the tag name the tokenizer keeps when a name is split
// between Writes (Writer.name), or a split name would not be told apart
// as the whole one is: a longer component needs Writer.name to grow.
var ampTab = func() (t [32][len(Writer{}.name) + 1][2]elem) {
	for e := elAmpPixel; e.amp(); e++ {
		n := elemNames[e]
		if len(n) >= len(t[0]) {
			panic("rewrite: AMP component name longer than Writer.name: " + n)
		}
		s := &t[n[4]&31][len(n)]
		putSlot(s, e, "ampTab", n)
	}
	return t
}()

// putSlot puts x, named n, in the first free place of the slot s of the
// lookup table tab (elOther and aOther, the zero values, are free).
func putSlot[T elem | akind](s *[2]T, x T, tab, n string) {
	switch {
	case s[0] == 0:
		s[0] = x
	case s[1] == 0:
		s[1] = x
	default:
		panic("rewrite: three names share a slot of " + tab + ": " + n)
	}
}

// lookupElemIn returns the elem among t that name is, or elOther.
func lookupElemIn(name []byte, t *[2]elem) elem {
	for _, e := range t {
		if e != elOther && lowerEq(name, elemNames[e]) {
			return e
		}
	}
	return elOther
}

// elemTab holds the elems by the low bits of their first byte and their
// length; no more than two share a slot. AMP components are looked up
// apart (lookupAmp).
var elemTab = func() (t [32][10][2]elem) {
	for e := elScript; int(e) < len(elemNames); e++ {
		if e.amp() {
			continue
		}
		n := elemNames[e]
		s := &t[n[0]&31][len(n)]
		putSlot(s, e, "elemTab", n)
	}
	return t
}()

// lowerEq reports whether b equals the lower-case s, ignoring ASCII case.
func lowerEq(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if lower(c) != s[i] {
			return false
		}
	}
	return true
}

// loads reports whether the element can load a third party.
func (e elem) loads() bool { return e >= elScript && e <= elAmpAddthis || e == elBase }

// amp reports whether the element is an AMP component.
func (e elem) amp() bool { return e >= elAmpPixel && e <= elAmpAddthis }

// ampNamed reports whether the element is an AMP embed component, whose
// vendor its name implies (ampEmbedIDs).
func (e elem) ampNamed() bool { return e >= elAmpYoutube && e <= elAmpAddthis }

// container reports whether removing the element removes its content too,
// through the matching end tag.
func (e elem) container() bool {
	switch e {
	case elScript, elNoscript, elIframe, elObject, elVideo, elAudio:
		return true
	}
	return e.amp() // AMP components have end tags and fallback content

}

// beforeStub reports whether the element may come before the stub: it runs
// no script, so the stub can wait until after it (which keeps an early
// <meta charset> within the first 1024 bytes). <base> is not one: the
// stub goes before it, so that the guard's src, a path on the proxy's own
// origin, resolves against the document's URL and not against a base that
// points elsewhere (sciencealert.com's base names its own host; one on a
// CDN would leave the page without its guard and its stubs).
func (e elem) beforeStub() bool {
	switch e {
	case elHTML, elHead, elMeta, elTitle, elStyle, elLink, elNoscript:
		return true
	}
	return false
}

// akind is an attribute the rewriter reads.
type akind uint8

const (
	aOther akind = iota
	aSrc
	aSrcset
	aHref
	aXlinkHref
	aPoster
	aData
	aImagesrcset
	aDataSrc    // data-src, used by lazy loaders and consent tools
	aDataSrcset // data-srcset
	aPing
	aRel
	aType
	aConfig // amp-analytics config
	aSrcdoc // iframe srcdoc: a document of its own
	aStyle  // CSS: its url() and image-set strings (see styleCuts)
	aID     // id and class: a site's keep_scripts names scripts by them
	aClass
	aWidth // width, height, hidden and layout: a placeholder's size
	aHeight
	aHidden
	aLayout
)

var attrNames = [...]string{
	aSrc: "src", aSrcset: "srcset", aHref: "href", aXlinkHref: "xlink:href", aPoster: "poster",
	aData: "data", aImagesrcset: "imagesrcset", aDataSrc: "data-src", aDataSrcset: "data-srcset",
	aPing: "ping", aRel: "rel", aType: "type", aConfig: "config", aSrcdoc: "srcdoc", aStyle: "style",
	aID: "id", aClass: "class", aWidth: "width", aHeight: "height", aHidden: "hidden", aLayout: "layout",
}

// attrTab holds the akinds by the low bits of their first byte and their
// length; no more than two share a slot.
var attrTab = func() (t [32][12][2]akind) {
	for k := aSrc; int(k) < len(attrNames); k++ {
		n := attrNames[k]
		s := &t[n[0]&31][len(n)]
		putSlot(s, k, "attrTab", n)
	}
	return t
}()

// lookupAttr maps an attribute name, in any case, to its akind.
func lookupAttr(name []byte) akind {
	if len(name) == 0 || len(name) >= len(attrTab[0]) {
		return aOther
	}
	t := &attrTab[name[0]&31][len(name)]
	if t[0] == aOther {
		return aOther
	}
	return lookupAttrIn(name, t)
}

// lookupAttrIn returns the akind among t that name is, or aOther.
func lookupAttrIn(name []byte, t *[2]akind) akind {
	for _, k := range t {
		if k != aOther && lowerEq(name, attrNames[k]) {
			return k
		}
	}
	return aOther
}

// url reports whether the attribute of el holds a URL the element loads
// (ping aside, which a and area send on click).
func (k akind) url(el elem) bool {
	switch k {
	case aSrc, aSrcset, aPoster, aData, aImagesrcset, aDataSrc, aDataSrcset:
		return true
	case aHref, aXlinkHref:
		// A base href is where every relative URL of the page then loads.
		return el == elLink || el == elScript || el == elImage || el == elBase && k == aHref
	case aConfig:
		return el == elAmpAnalytics
	case aSrcdoc:
		return el == elIframe
	}
	return false
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// isSpace is the HTML tokenizer's whitespace (tab, LF, FF, CR, space).
func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' }
