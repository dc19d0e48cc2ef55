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
)

var elemNames = [...]string{
	elOther: "", elScript: "script", elNoscript: "noscript", elImg: "img", elIframe: "iframe",
	elFrame: "frame", elLink: "link", elA: "a", elArea: "area", elVideo: "video", elAudio: "audio",
	elSource: "source", elTrack: "track", elEmbed: "embed", elObject: "object", elInput: "input",
	elImage: "image", elSvg: "svg", elMath: "math", elHTML: "html", elHead: "head", elMeta: "meta",
	elTitle: "title", elBase: "base", elStyle: "style", elTextarea: "textarea", elXmp: "xmp",
	elNoembed: "noembed", elNoframes: "noframes", elPlaintext: "plaintext",
}

// lookupElem maps a lower-case tag name to its elem.
func lookupElem(name []byte) elem {
	switch string(name) {
	case "a":
		return elA
	case "img":
		return elImg
	case "script":
		return elScript
	case "link":
		return elLink
	case "iframe":
		return elIframe
	case "noscript":
		return elNoscript
	case "source":
		return elSource
	case "svg":
		return elSvg
	case "video":
		return elVideo
	case "audio":
		return elAudio
	case "area":
		return elArea
	case "embed":
		return elEmbed
	case "object":
		return elObject
	case "input":
		return elInput
	case "image":
		return elImage
	case "frame":
		return elFrame
	case "track":
		return elTrack
	case "math":
		return elMath
	case "html":
		return elHTML
	case "head":
		return elHead
	case "meta":
		return elMeta
	case "title":
		return elTitle
	case "base":
		return elBase
	case "style":
		return elStyle
	case "textarea":
		return elTextarea
	case "xmp":
		return elXmp
	case "noembed":
		return elNoembed
	case "noframes":
		return elNoframes
	case "plaintext":
		return elPlaintext
	}
	return elOther
}

// loads reports whether the element can load a third party.
func (e elem) loads() bool { return e >= elScript && e <= elImage }

// container reports whether removing the element removes its content too,
// through the matching end tag.
func (e elem) container() bool {
	switch e {
	case elScript, elNoscript, elIframe, elObject, elVideo, elAudio:
		return true
	}
	return false
}

// beforeStub reports whether the element may come before the stub: it runs
// no script, so the stub can wait until after it (which keeps an early
// <meta charset> within the first 1024 bytes).
func (e elem) beforeStub() bool {
	switch e {
	case elHTML, elHead, elMeta, elTitle, elBase, elStyle, elLink, elNoscript:
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
)

func lookupAttr(name []byte) akind {
	if len(name) < 3 || len(name) > 11 {
		return aOther
	}
	var lb [11]byte
	for i, c := range name {
		lb[i] = lower(c)
	}
	switch string(lb[:len(name)]) {
	case "src":
		return aSrc
	case "srcset":
		return aSrcset
	case "href":
		return aHref
	case "xlink:href":
		return aXlinkHref
	case "poster":
		return aPoster
	case "data":
		return aData
	case "imagesrcset":
		return aImagesrcset
	case "data-src":
		return aDataSrc
	case "data-srcset":
		return aDataSrcset
	case "ping":
		return aPing
	case "rel":
		return aRel
	case "type":
		return aType
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
		return el == elLink || el == elScript || el == elImage
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
