package rewrite

import (
	"regexp"
	"strings"
	"testing"
)

// TestStubCoversRemovedDefinitions: where the rewriter removes a vendor's
// snippet that defines a global and keeps a later script that calls it,
// the stub (carried by the guard) defines that global, or the kept script
// throws a ReferenceError the unsignalled page does not. The snippets are
// from the real pages where the measure (go run ./bench/realpages) saw it.
func TestStubCoversRemovedDefinitions(t *testing.T) {
	p := optOut(t, true)
	p.Head, p.Guard = []byte(`<script src="/.consentgate/guard/x.js"></script>`), true
	stub := string(StubScript(p))
	for _, c := range []struct {
		page       string
		definition string // the vendor's snippet: removed
		call       string // a script of the page that calls the global
		global     string
	}{
		{"entermedia.co.kr", `<script type="text/javascript">
	fn_s3dpop_importScript = function(url) {
		var script = document.createElement('script');
		script.type = "text/javascript";
		script.async = true;
		script.src = url;
		(document.getElementsByTagName("head")[0]||document.getElementsByTagName("body")[0]).appendChild(script);
	};
	fn_s3dpop_importScript("//syncmedia.macc.skcdn.com/_Common/js/shuqstyle.min_last.js");
</script>`, `<script type="text/javascript">
	var s3dpop_searchImgID = "s3dpop_searchImgID01";
	var s3dpop_divID = "s3dpop_divID01";
	var s3dpop_closeBtn = "Y";
	var target_url = "//ad.3dpop.kr/cct/gate.pop?company_uid=c78de4357f87597eb2fc05b20c39ddb5c8c253ad";
	target_url += "&searchImgID="+s3dpop_searchImgID+"&divID="+s3dpop_divID+"&isCloseBtn="+s3dpop_closeBtn;
	fn_s3dpop_importScript(target_url);
</script>`, "fn_s3dpop_importScript"},
		{"smithsonianmag.com", `<script>
  (function(w,d) {
    w.kwa || (w.kwa = function() {
      (w.kwa.q = w.kwa.q || []).push(arguments);
    });
    se = d.createElement('script'),
    fs = d.scripts[0];
    se.src = '//cdn.keywee.co/dist/analytics.min.js';
    fs.parentNode.insertBefore(se,fs)
   }(window, document));
</script>`, `<script>
   kwa('initialize',315);
</script>`, "kwa"},
		{"sciencealert.com", `<script>
	var tmntag = tmntag || {};
	tmntag.cmd = tmntag.cmd || [];
	(function() {
	var tmnhead = document.createElement('script');
	tmnhead.async = true;
	tmnhead.type = 'text/javascript';
	tmnhead.src = ('https:' == document.location.protocol ? 'https:' : 'http:') + '//ads.servebom.com/tmnhead.js';
	var node = document.getElementsByTagName('script')[0];
	node.parentNode.insertBefore(tmnhead, node);
	})();
	tmntag.cmd.push(function() {
	tmntag.placement(3547);
	tmntag.start();
	});
</script>`, `<script>tmntag.cmd.push(function(){tmntag.adTag('Purch_D_R_0_1', false);});</script>`, "tmntag"},
	} {
		page := "<!doctype html><html><head><title>t</title></head><body>" + c.definition + "<p>text</p>" + c.call + "</body></html>"
		got, _ := rewriteString(t, page, p)
		if strings.Contains(got, c.definition) {
			t.Errorf("%s: the vendor's snippet is kept:\n%s", c.page, got)
		}
		if !strings.Contains(got, c.call) {
			continue // removed with the snippet: nothing calls the global
		}
		if !regexp.MustCompile(`[" ]` + regexp.QuoteMeta(c.global) + `[" ]`).MatchString(stub) {
			t.Errorf("%s: the page keeps a call of %s, which the stub does not define:\n%s", c.page, c.global, stub)
		}
	}
}
