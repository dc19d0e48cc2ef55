package rewrite

import (
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
)

// TestAmpEmbedIDs checks the AMP embed components: each has a vendor of
// the default catalogue, and its name is looked up, in any case, as the
// component (and, whole or split between Writes, by the tokenizer).
func TestAmpEmbedIDs(t *testing.T) {
	s, _ := sets(t)
	n := 0
	for e := elScript; int(e) < len(elemNames); e++ {
		if !e.ampNamed() {
			continue
		}
		n++
		if !e.amp() || !e.loads() || !e.container() {
			t.Errorf("%s: amp() %v, loads() %v, container() %v, want true", elemNames[e], e.amp(), e.loads(), e.container())
		}
		id := ampEmbedIDs[e-elAmpYoutube]
		if s.VendorByID(id) == nil {
			t.Errorf("%s: no vendor %q in the catalogue", elemNames[e], id)
		}
		name := elemNames[e]
		for _, c := range []string{name, strings.ToUpper(name), "Amp-" + strings.ToUpper(name[4:5]) + name[5:]} {
			if got := lookupElem([]byte(c)); got != e {
				t.Errorf("lookupElem(%q) = %v, want %v", c, got, e)
			}
			if got := lookupAmp([]byte(c)); got != e {
				t.Errorf("lookupAmp(%q) = %v, want %v", c, got, e)
			}
		}
		if len(name) > len(Writer{}.name) {
			t.Errorf("%s: longer than Writer.name, so not told apart when split between Writes", name)
		}
	}
	if n != len(ampEmbedIDs) {
		t.Errorf("%d AMP embed elems, %d vendor ids", n, len(ampEmbedIDs))
	}
	// Other AMP names, and names that merely start like a component.
	for _, c := range []string{"amp-carousel", "amp-youtubex", "amp-youtub", "amp-facebook-x", "amp-vkx", "amp-v",
		"amp-twitte", "amp-jwplayer2", "amp-story-player", "amp-facebook-commentsx", "amp-facebook-comment", "amp-social-share", "amq-youtube", "amp_youtube"} {
		if got := lookupElem([]byte(c)); got != elOther {
			t.Errorf("lookupElem(%q) = %v, want elOther", c, got)
		}
	}
}

func TestAmpEmbeds(t *testing.T) {
	check := func(t *testing.T, p Policy, in, want string, ids ...string) {
		t.Helper()
		got, rm := rewriteString(t, in, p)
		if got != want {
			t.Errorf("Rewrite(%q)\n got: %q\nwant: %q", in, got, want)
		}
		var gotIDs []string
		for _, r := range rm {
			gotIDs = append(gotIDs, r.Vendor.ID+" "+r.Element+" "+r.Action.String())
		}
		if strings.Join(gotIDs, ", ") != strings.Join(ids, ", ") {
			t.Errorf("Rewrite(%q) removed [%s], want [%s]", in, strings.Join(gotIDs, ", "), strings.Join(ids, ", "))
		}
		// Every split gives the same output.
		w := NewWriter(nil, p)
		for i := 0; i <= len(in); i++ {
			if out := rewriteSplit(t, w, []byte(in), p, []int{i}); string(out) != got {
				t.Fatalf("Rewrite(%q) split at %d: %q, whole: %q", in, i, out, got)
			}
		}
		ones := make([]int, 0, len(in))
		for i := 1; i < len(in); i++ {
			ones = append(ones, i)
		}
		if out := rewriteSplit(t, w, []byte(in), p, ones); string(out) != got {
			t.Fatalf("Rewrite(%q) in 1-byte writes: %q, whole: %q", in, out, got)
		}
	}
	remove, neutralise := optOut(t, false), neutral(t, false)

	t.Run("denied", func(t *testing.T) {
		for _, c := range []struct{ el, id string }{
			{"amp-youtube", "youtube"}, {"amp-instagram", "instagram"}, {"amp-tiktok", "tiktok-embeds"},
			{"amp-pinterest", "pinterest-widgets"}, {"amp-reddit", "reddit-embeds"}, {"amp-twitter", "x-embeds"},
			{"amp-facebook", "meta-pixel"}, {"amp-vk", "vk"}, {"amp-addthis", "addthis"},
			{"amp-facebook-page", "meta-pixel"}, {"amp-facebook-comments", "meta-pixel"}, {"amp-facebook-like", "meta-pixel"},
			{"amp-connatix-player", "connatix"},
		} {
			in := `a<` + c.el + ` data-x="1" layout="responsive" width="4" height="3"><div placeholder><b>p</b></div><div fallback>f</div></` + c.el + `>b`
			check(t, remove, in, `ab`, c.id+" "+c.el+" remove")
			// Renaming attributes cannot stop the AMP runtime: removed
			// where the site neutralises too.
			check(t, neutralise, in, `ab`, c.id+" "+c.el+" remove")
		}
	})
	t.Run("not denied", func(t *testing.T) {
		// Functional vendors: the category is not denied.
		for _, in := range []string{
			`<amp-vimeo data-videoid="27246366" width="4" height="3"></amp-vimeo>`,
			`<amp-soundcloud data-trackid="243169232" height="657"></amp-soundcloud>`,
			`<amp-jwplayer data-playlist-id="x" data-player-id="y" width="4" height="3"></amp-jwplayer>`,
			`<amp-carousel width="4" height="3"><amp-img src="/a.jpg"></amp-img></amp-carousel>`,
			`<amp-youtubex data-videoid="x"></amp-youtubex><amp-you data-videoid="x"></amp-you>`,
			`<amp-wistia-player data-media-hashed-id="u8p9wq6mq8" width="512" height="360"></amp-wistia-player>`,
		} {
			check(t, remove, in, in)
			check(t, neutralise, in, in)
		}
		// Denied vendor, category allowed by the visitor.
		in := `<amp-youtube data-videoid="x"></amp-youtube>`
		p := remove
		p.Deny = 1 << rules.Analytics
		check(t, p, in, in)
	})
	t.Run("allow-list", func(t *testing.T) {
		cfg, err := config.Parse([]byte("upstream: http://127.0.0.1:1\nsites:\n  - name: a\n    hosts: [\"*\"]\n    allow_vendors: [youtube]\n"), "allow.yaml")
		if err != nil {
			t.Fatal(err)
		}
		s, err := rules.Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p := Policy{Set: s, Site: s.Sites()[0], Deny: rules.DefaultDeny}
		check(t, p, `<amp-youtube data-videoid="x"></amp-youtube><amp-twitter data-tweetid="1"></amp-twitter>.`,
			`<amp-youtube data-videoid="x"></amp-youtube>.`, "x-embeds amp-twitter remove")
	})
	t.Run("structure", func(t *testing.T) {
		// Nested elements of the same name, in any case: the removed
		// element ends at its own end tag.
		check(t, remove, `<AMP-YOUTUBE data-videoid=x><amp-youtube><Amp-YouTube></amp-youtube ></AMP-youtube>in</amp-youtube>out`, `out`,
			"youtube amp-youtube remove")
		// Another component inside is removed with it; an unrelated end
		// tag does not end it.
		check(t, remove, `<amp-twitter data-tweetid=1><amp-img src=/a.jpg></amp-img></amp-carousel></amp-tw></amp-twitter>x<amp-vimeo data-videoid=1></amp-vimeo>`,
			`x<amp-vimeo data-videoid=1></amp-vimeo>`, "x-embeds amp-twitter remove")
		// Cut off by the end of the page.
		check(t, remove, `a<amp-instagram data-shortcode="x"><div placeholder>`, `a`, "instagram amp-instagram remove")
		// A start tag cut off is no element (browsers drop it), as for img.
		check(t, remove, `a<amp-instagram data-shortcode="x`, `a<amp-instagram data-shortcode="x`)
		// Inside noscript: the content is rewritten as markup; a noscript
		// left empty goes.
		check(t, remove, `<noscript><amp-youtube data-videoid=x></amp-youtube></noscript>x`, `x`, "youtube amp-youtube remove")
		check(t, remove, `<noscript><p>v</p><amp-tiktok data-src=x></amp-tiktok></noscript>`, `<noscript><p>v</p></noscript>`,
			"tiktok-embeds amp-tiktok remove")
		// Text that only looks like one.
		check(t, remove, `<!-- <amp-youtube data-videoid=x> --><script>"<amp-youtube>"</script><textarea><amp-vk></textarea>`,
			`<!-- <amp-youtube data-videoid=x> --><script>"<amp-youtube>"</script><textarea><amp-vk></textarea>`)
		// Self-closing in foreign content: nothing to skip after it.
		check(t, remove, `<svg><amp-reddit data-src=x /><rect/></svg>y`, `<svg><rect/></svg>y`, "reddit-embeds amp-reddit remove")
		// Attributes are tokenized as for any element.
		check(t, remove, `<amp-pinterest data-do="embedPin" title='a>b' data-url="x">p</amp-pinterest>z`, `z`,
			"pinterest-widgets amp-pinterest remove")
	})
}
