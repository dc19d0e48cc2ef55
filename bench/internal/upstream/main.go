// Command upstream is the origin of the load harness: a fasthttp server on
// loopback serving the harness pages from memory.
//
//	/1k.html        a 1 KB HTML page
//	/page.html      the 150 KB marketing page with trackers
//	/asset.bin      a 2 MB binary asset
//	/gz/page.html   the marketing page, gzip-encoded (always, as gzip_static always)
//	/stream?bytes=N an HTML page of N bytes generated while it is sent (chunked)
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"

	"github.com/consentgate/consentgate/bench/internal/page"
	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	pageSize := flag.Int("page", 150<<10, "size of the marketing page")
	assetSize := flag.Int("asset", 2<<20, "size of the asset")
	flag.Parse()

	small := page.Small(1024)
	mkt := page.Marketing(*pageSize)
	gz := page.Gzip(mkt)
	asset := page.Asset(*assetSize)

	html := func(ctx *fasthttp.RequestCtx, b []byte) {
		ctx.Response.Header.SetContentType("text/html; charset=utf-8")
		ctx.Response.SetBodyRaw(b)
	}
	h := func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/1k.html":
			html(ctx, small)
		case "/page.html":
			html(ctx, mkt)
		case "/gz/page.html":
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			html(ctx, gz)
		case "/asset.bin":
			ctx.Response.Header.SetContentType("application/octet-stream")
			ctx.Response.SetBodyRaw(asset)
		case "/stream":
			n, err := strconv.ParseInt(string(ctx.QueryArgs().Peek("bytes")), 10, 64)
			if err != nil || n < 0 {
				ctx.Error("bytes=N wanted", fasthttp.StatusBadRequest)
				return
			}
			ctx.Response.Header.SetContentType("text/html; charset=utf-8")
			ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
				page.Stream(w, n) //nolint:errcheck // the client went away
				w.Flush()         //nolint:errcheck
			})
		default:
			ctx.Error("not found", fasthttp.StatusNotFound)
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stderr, "upstream listening on", ln.Addr())
	srv := &fasthttp.Server{Handler: h, Name: "bench-upstream", NoDefaultDate: true}
	log.Fatal(srv.Serve(ln))
}
