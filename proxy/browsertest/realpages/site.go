package realpages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/consentgate/consentgate/proxy"
	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/signals"
)

// site is the saved pages behind consentgate, both on 127.0.0.1: an
// in-process fasthttp upstream serves each page at /p/NAME, and consentgate
// (config.Default: the built-in catalogue, the default policy) proxies
// to it.
type site struct {
	upstream string // "127.0.0.1:port"
	url      string // consentgate, "http://127.0.0.1:port"
	set      *rules.Set
	policy   *rules.Site
	pages    map[string]*Page

	mu  sync.Mutex
	gpc map[string][]string // page name → Sec-GPC of each document request, as the upstream saw it

	close func()
}

func startSite(pages []*Page) (*site, error) {
	s := &site{pages: map[string]*Page{}, gpc: map[string][]string{}}
	for _, p := range pages {
		s.pages[p.Name] = p
	}
	var closers []func()
	s.close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	up, err := serve(&fasthttp.Server{Handler: s.serveUpstream, Name: "realpages-upstream", NoDefaultDate: true})
	if err != nil {
		return nil, err
	}
	closers = append(closers, up.close)
	s.upstream = up.addr
	s.set, err = rules.Compile(config.Default("http://" + up.addr))
	if err != nil {
		s.close()
		return nil, err
	}
	closers = append(closers, s.set.Close)
	s.policy = s.set.Site([]byte(up.addr))
	if s.policy == nil {
		s.close()
		return nil, errors.New("the default config has no site for 127.0.0.1")
	}
	sig := signals.NewReader()
	closers = append(closers, sig.Close)
	srv, err := proxy.New(proxy.Options{
		Rules:   proxy.StaticRules{Set: s.set},
		Signals: sig,
		Metrics: proxy.NewMetrics(prometheus.NewRegistry()),
	})
	if err != nil {
		s.close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.close()
		return nil, err
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }() //nolint:errcheck // ends at Shutdown
	closers = append(closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx) //nolint:errcheck // bounded; the listener is closed either way
		<-done
	})
	s.url = "http://" + ln.Addr().String()
	return s, nil
}

type server struct {
	addr  string
	close func()
}

// serve runs srv on 127.0.0.1.
func serve(srv *fasthttp.Server) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }() //nolint:errcheck // ends at Shutdown
	return &server{addr: ln.Addr().String(), close: func() {
		srv.Shutdown() //nolint:errcheck // the listener is closed either way
		<-done
	}}, nil
}

// serveUpstream serves /p/NAME; everything else (the pages' relative
// URLs) is a 404.
func (s *site) serveUpstream(ctx *fasthttp.RequestCtx) {
	name, ok := strings.CutPrefix(string(ctx.Path()), "/p/")
	p := s.pages[name]
	if !ok || p == nil {
		ctx.Error("not found", fasthttp.StatusNotFound)
		return
	}
	s.mu.Lock()
	s.gpc[name] = append(s.gpc[name], string(ctx.Request.Header.Peek("Sec-GPC")))
	s.mu.Unlock()
	ctx.Response.Header.SetContentType(p.contentType())
	ctx.Response.SetBodyRaw(p.HTML)
}

// takeGPC returns and clears the Sec-GPC values the upstream saw on the
// page's document requests.
func (s *site) takeGPC(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.gpc[name]
	delete(s.gpc, name)
	return v
}

// pageURL is where the browser loads a page, through consentgate.
func (s *site) pageURL(name string) string { return s.url + "/p/" + name }

// browserHeaders are what Chromium sends for a top-level navigation, so the
// byte check sees what the browser would be served.
var browserHeaders = [][2]string{
	{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"},
	{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"},
	{"Accept-Encoding", "gzip, deflate, br, zstd"},
	{"Accept-Language", "en-US,en;q=0.9"},
}

// fetchClient fetches pages for the byte check; without keep-alive no
// connection or goroutine outlives a fetch.
var fetchClient = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// fetchPage GETs a page from addr ("127.0.0.1:port") with a browser's
// headers and no privacy signal, and returns the response's status, body
// bytes as sent (Accept-Encoding is set, so they are not decoded) and
// Content-Encoding.
func fetchPage(addr, name string) (status int, body []byte, encoding string, err error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/p/"+name, nil)
	if err != nil {
		return 0, nil, "", err
	}
	for _, h := range browserHeaders {
		req.Header.Set(h[0], h[1])
	}
	resp, err := fetchClient.Do(req)
	if err != nil {
		return 0, nil, "", fmt.Errorf("fetching %s from %s: %w", name, addr, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
	if err != nil {
		return 0, nil, "", fmt.Errorf("fetching %s from %s: %w", name, addr, err)
	}
	return resp.StatusCode, body, resp.Header.Get("Content-Encoding"), nil
}
