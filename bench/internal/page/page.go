// Package page generates the pages the load harness serves: a small page, a
// marketing page with the usual third-party trackers, a binary asset and an
// endless-looking HTML stream. Every page is a pure function of its size, so
// two runs serve the same bytes.
package page

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
)

// Small returns an HTML page of exactly n bytes (n >= 128) without trackers.
func Small(n int) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ok</title></head><body><p>")
	tail := "</p></body></html>\n"
	for b.Len()+len(tail) < n {
		b.WriteByte("abcdefghij klmnopqrst uvwxyz"[b.Len()%28])
	}
	b.WriteString(tail)
	return b.Bytes()[:n:n]
}

// head is the <head> of a marketing page: preconnects, stylesheets and the
// tag snippets every marketing site carries.
const head = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Northwind Analytics Cloud | Dashboards your whole team understands</title>
<meta name="description" content="Northwind Analytics Cloud turns product data into dashboards anyone can read.">
<meta property="og:image" content="https://cdn.northwind.example/og/home.png">
<link rel="preconnect" href="https://www.googletagmanager.com">
<link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>
<link rel="dns-prefetch" href="//connect.facebook.net">
<link rel="dns-prefetch" href="//snap.licdn.com">
<link rel="stylesheet" href="/assets/site.css?v=20260115">
<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Inter:wght@400;600&display=swap">
<link rel="icon" href="/assets/logo.svg" type="image/svg+xml">
<!-- Google Tag Manager -->
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':
new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],
j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=
'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-NW4BENCH');</script>
<!-- End Google Tag Manager -->
<!-- Google tag (gtag.js) -->
<script async src="https://www.googletagmanager.com/gtag/js?id=G-NW4BENCH01"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-NW4BENCH01', {'send_page_view': true});
</script>
<!-- Meta Pixel Code -->
<script>
!function(f,b,e,v,n,t,s)
{if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};
if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';
n.queue=[];t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];
s.parentNode.insertBefore(t,s)}(window, document,'script',
'https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '100200300400500');
fbq('track', 'PageView');
</script>
<noscript><img height="1" width="1" style="display:none"
src="https://www.facebook.com/tr?id=100200300400500&ev=PageView&noscript=1"
/></noscript>
<!-- End Meta Pixel Code -->
<!-- Hotjar Tracking Code -->
<script>
    (function(h,o,t,j,a,r){
        h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};
        h._hjSettings={hjid:3100200,hjsv:6};
        a=o.getElementsByTagName('head')[0];
        r=o.createElement('script');r.async=1;
        r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;
        a.appendChild(r);
    })(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');
</script>
<script src="/assets/app.js?v=20260115" defer></script>
</head>
<body class="home">
<!-- Google Tag Manager (noscript) -->
<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-NW4BENCH"
height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>
<!-- End Google Tag Manager (noscript) -->
<header class="site-header">
  <a class="brand" href="/"><img src="/assets/logo.svg" alt="" width="28" height="28"> Northwind Analytics Cloud</a>
  <nav>
    <a href="/" aria-current="page">Home</a> <a href="/product">Product</a> <a href="/pricing">Pricing</a>
    <a href="/customers">Customers</a> <a href="/blog">Blog</a> <a class="button" href="/pricing#trial">Start free trial</a>
  </nav>
</header>
<main>
`

// tail closes the page with the LinkedIn Insight tag and a footer.
const tail = `</main>
<footer class="site-footer">
  <div class="cols">
    <div><strong>Northwind Analytics Cloud</strong><br>Dashboards your whole team understands.</div>
    <div><a href="/product">Product</a><br><a href="/pricing">Pricing</a><br><a href="/security">Security</a></div>
    <div><a href="/privacy">Privacy policy</a><br><a href="/terms">Terms</a><br>
      <a class="dns" href="/.consentgate/optout?return=/">Do Not Sell or Share My Personal Information</a></div>
  </div>
  <p class="fine">&copy; 2026 Northwind Analytics, Inc. Every company and ID on this page is made up.</p>
</footer>
<!-- LinkedIn Insight Tag -->
<script type="text/javascript">
_linkedin_partner_id = "5550123";
window._linkedin_data_partner_ids = window._linkedin_data_partner_ids || [];
window._linkedin_data_partner_ids.push(_linkedin_partner_id);
</script><script type="text/javascript">
(function(l) {
if (!l){window.lintrk = function(a,b){window.lintrk.q.push([a,b])};
window.lintrk.q=[]}
var s = document.getElementsByTagName("script")[0];
var b = document.createElement("script");
b.type = "text/javascript";b.async = true;
b.src = "https://snap.licdn.com/li.lms-analytics/insight.min.js";
s.parentNode.insertBefore(b, s);})(window.lintrk);
</script>
<noscript>
<img height="1" width="1" style="display:none;" alt="" src="https://px.ads.linkedin.com/collect/?pid=5550123&fmt=gif" />
</noscript>
</body>
</html>
`

var words = []string{
	"analytics", "dashboard", "pipeline", "revenue", "segment", "cohort", "retention", "forecast",
	"warehouse", "connector", "insight", "metric", "board", "alert", "team", "customer", "growth",
	"trial", "workspace", "report", "funnel", "event", "source", "query", "cache", "owner", "share",
}

// section writes the i-th content section: text, images, a product card grid
// and, every few sections, an embed, a tracking pixel or a big inline JSON
// state blob, as a CMS renders them.
func section(w *bytes.Buffer, r *rand.Rand, i int) {
	sentence := func() {
		n := 8 + r.IntN(14)
		for j := 0; j < n; j++ {
			if j > 0 {
				w.WriteByte(' ')
			}
			w.WriteString(words[r.IntN(len(words))])
		}
		w.WriteString(". ")
	}
	fmt.Fprintf(w, "<section class=\"block block-%d\" id=\"s%d\" data-track=\"section_view\" data-section=\"%d\">\n", i%7, i, i)
	fmt.Fprintf(w, "  <h2 class=\"title\">Section %d: ", i)
	sentence()
	w.WriteString("</h2>\n  <p class=\"lead\">")
	for k := 0; k < 3+r.IntN(3); k++ {
		sentence()
	}
	w.WriteString("</p>\n  <div class=\"grid\">\n")
	for k := 0; k < 3; k++ {
		fmt.Fprintf(w, "    <article class=\"card\"><img src=\"/img/feature-%d-%d.webp\" srcset=\"/img/feature-%d-%d@2x.webp 2x\" alt=\"Feature %d\" width=\"320\" height=\"200\" loading=\"lazy\"><h3>", i, k, i, k, k)
		sentence()
		w.WriteString("</h3><p>")
		sentence()
		sentence()
		fmt.Fprintf(w, "</p><a class=\"more\" href=\"/product/feature-%d-%d?utm_source=home&amp;utm_medium=card\">Learn more</a></article>\n", i, k)
	}
	w.WriteString("  </div>\n")
	switch i % 6 {
	case 1:
		fmt.Fprintf(w, "  <iframe width=\"560\" height=\"315\" src=\"https://www.youtube.com/embed/tour%d\" title=\"Product tour\" frameborder=\"0\" allowfullscreen></iframe>\n", i)
	case 2:
		fmt.Fprintf(w, "  <script>gtag('event', 'section_view', {'section': %d, 'page': 'home'});</script>\n", i)
		fmt.Fprintf(w, "  <img src=\"https://www.facebook.com/tr?id=100200300400500&ev=ViewContent&cd[section]=%d\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">\n", i)
	case 3:
		w.WriteString("  <script type=\"application/json\" id=\"state-")
		fmt.Fprintf(w, "%d\">{\"products\":[", i)
		for k := 0; k < 12; k++ {
			if k > 0 {
				w.WriteByte(',')
			}
			fmt.Fprintf(w, "{\"id\":%d,\"sku\":\"NW-%05d\",\"name\":\"%s %s\",\"price\":%d.%02d,\"currency\":\"USD\",\"tags\":[\"%s\",\"%s\"],\"rating\":%d.%d}",
				i*100+k, r.IntN(100000), words[r.IntN(len(words))], words[r.IntN(len(words))], 10+r.IntN(900), r.IntN(100),
				words[r.IntN(len(words))], words[r.IntN(len(words))], 1+r.IntN(4), r.IntN(10))
		}
		w.WriteString("]}</script>\n")
	case 4:
		fmt.Fprintf(w, "  <script src=\"/assets/widgets.js?section=%d\" async></script>\n", i)
		fmt.Fprintf(w, "  <img src=\"https://px.ads.linkedin.com/collect/?pid=5550123&conversionId=%d&fmt=gif\" width=\"1\" height=\"1\" alt=\"\">\n", i)
	case 5:
		fmt.Fprintf(w, "  <blockquote>&ldquo;We retired four spreadsheets and a weekly meeting.&rdquo;<cite>Customer %d</cite></blockquote>\n", i)
	}
	w.WriteString("</section>\n")
}

// Marketing returns a marketing page of about n bytes (within a section's
// size, a few KB), the same bytes for the same n.
func Marketing(n int) []byte {
	var b bytes.Buffer
	b.Grow(n + 8<<10)
	r := rand.New(rand.NewPCG(uint64(n), 0x5eed))
	b.WriteString(head)
	for i := 0; b.Len()+len(tail) < n; i++ {
		section(&b, r, i)
	}
	b.WriteString(tail)
	return b.Bytes()
}

// Asset returns n bytes of incompressible-looking binary data.
func Asset(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 0xa55e7))
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := 0; k < 8; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return b
}

// Gzip returns b gzip-compressed at the default level, as a server's
// pre-compressed file would be.
func Gzip(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b) //nolint:errcheck // a bytes.Buffer does not fail
	zw.Close()  //nolint:errcheck
	return out.Bytes()
}

// Stream writes an HTML page of at least n bytes to w: the marketing page's
// head, then sections until n bytes are out, then the tail. The sections
// repeat a fixed block so generating costs the upstream little.
func Stream(w io.Writer, n int64) error {
	var blk bytes.Buffer
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; blk.Len() < 64<<10; i++ {
		section(&blk, r, i)
	}
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	written := int64(len(head))
	for written < n {
		k, err := w.Write(blk.Bytes())
		written += int64(k)
		if err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, tail)
	return err
}
