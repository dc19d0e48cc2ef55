// Command bareproxy is the floor of what a fasthttp reverse proxy costs: a
// fasthttp.Server whose handler hands the request to a keep-alive
// fasthttp.HostClient and relays the response, with nothing else.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	upstream := flag.String("upstream", "", "upstream host:port")
	flag.Parse()
	if *upstream == "" {
		log.Fatal("--upstream host:port wanted")
	}
	c := &fasthttp.HostClient{Addr: *upstream, MaxConns: 4096, NoDefaultUserAgentHeader: true, DisablePathNormalizing: true}
	h := func(ctx *fasthttp.RequestCtx) {
		ctx.Request.Header.Del("Connection")
		if err := c.Do(&ctx.Request, &ctx.Response); err != nil {
			ctx.Error("bad gateway", fasthttp.StatusBadGateway)
			return
		}
		ctx.Response.Header.Del("Connection")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stderr, "bareproxy listening on", ln.Addr())
	srv := &fasthttp.Server{Handler: h, Name: "bareproxy", NoDefaultServerHeader: true, NoDefaultDate: true}
	log.Fatal(srv.Serve(ln))
}
