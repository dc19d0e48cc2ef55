package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy"
	"github.com/valyala/fasthttp"
)

// Secrets a visitor or an upstream sends; none may reach a log line.
const (
	secretSession = "SESSIONc0ffee42"
	secretUSP     = "1YYN"
	secretTCF     = "CPSG_8APSG_8AAAAAAENAACgAAAAAAAAAAAAAAAAAAAA.YAAAAAAAAAAA"
	secretOT      = "groups=C0001%3A1%2CC0002%3A0%2CC0004%3A0"
	secretGA      = "GA1.1.UPSTREAMbeef77"
	secretBody    = "BODYBYTESfeed99"
	// The visitors of this test dial from this address (loopback, but not
	// the upstream's): it must appear in no log line.
	clientIP = "127.0.0.3"
)

var secretCookie = "Cookie: nw_session=" + secretSession + "; usprivacy=" + secretUSP + "; euconsent-v2=" + secretTCF + "; OptanonConsent=" + secretOT

// dialFrom opens a connection to addr from clientIP.
func dialFrom(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot dial from %s: %v", clientIP, err)
	}
	return c
}

// sendRaw writes raw, optionally closes the write side, and reads what comes
// back until the proxy closes or 2 s pass.
func sendRaw(t *testing.T, addr, raw string, closeWrite bool) string {
	t.Helper()
	c := dialFrom(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second)) //nolint:errcheck
	io.WriteString(c, raw)                         //nolint:errcheck
	if closeWrite {
		c.(*net.TCPConn).CloseWrite() //nolint:errcheck
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// TestLogsHoldNoPersonalData drives every error path a visitor or an
// upstream can trigger, with debug logging on, and then looks for the
// cookie values, consent strings, upstream bytes and the client's address
// in everything logged. It also checks that a flood of the same error is
// rate-limited.
func TestLogsHoldNoPersonalData(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// An upstream that answers by path: garbage headers carrying a
	// Set-Cookie, a body cut short, a reset.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				switch req.URL.Path {
				case "/garbage":
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nSet-Cookie: _ga=%s\r\nthis is not a header %s\r\n\r\n%s", secretGA, secretBody, secretBody)
				case "/badstatus":
					fmt.Fprintf(c, "HTTP/1.1 2x0 %s\r\nSet-Cookie: _ga=%s\r\n\r\n", secretBody, secretGA)
				case "/short":
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nSet-Cookie: _ga=%s\r\nContent-Length: 400000\r\n\r\n<p>%s", secretGA, secretBody)
				case "/reset":
					c.(*net.TCPConn).SetLinger(0) //nolint:errcheck
				default:
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 7\r\n\r\n<p>ok</p>")
				}
			}(c)
		}
	}()
	g := startGate(t, "http://"+ln.Addr().String(), "", func(o *proxy.Options) {
		o.Logger = logger
		o.AccessLogEvery = 1
	})
	addr := strings.TrimPrefix(g.url, "http://")

	// Refused upstream: a second proxy in front of a closed port.
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	g2 := startGate(t, "http://"+deadAddr, "", func(o *proxy.Options) { o.Logger = logger })

	head := "Host: site.test\r\nConnection: close\r\n" + secretCookie + "\r\nSec-GPC: 1\r\n"
	for name, raw := range map[string]string{
		"control byte after Cookie":  "GET / HTTP/1.1\r\n" + head + "X-A: a\x01b\r\n\r\n",
		"NUL after Cookie":           "GET / HTTP/1.1\r\n" + head + "X-A: a\x00b\r\n\r\n",
		"abandoned before CRLF":      "GET / HTTP/1.1\r\n" + head + "X-A: b",
		"bad request line":           "G\x00T /" + secretBody + " HTTP/1.1\r\n" + head + "\r\n",
		"header too large":           "GET / HTTP/1.1\r\n" + head + "X-Big: " + strings.Repeat("z", 40<<10) + "\r\n\r\n",
		"bad chunk":                  "POST / HTTP/1.1\r\n" + head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + secretBody + "\r\n0\r\n\r\n",
		"body shorter than declared": "POST / HTTP/1.1\r\n" + head + "Content-Length: 100\r\n\r\n" + secretBody,
		"upstream garbage":           "GET /garbage HTTP/1.1\r\n" + head + "\r\n",
		"upstream bad status":        "GET /badstatus HTTP/1.1\r\n" + head + "\r\n",
		"upstream short body":        "GET /short HTTP/1.1\r\n" + head + "\r\n",
		"upstream reset":             "GET /reset HTTP/1.1\r\n" + head + "\r\n",
		"access log":                 "GET /ok?email=" + secretBody + " HTTP/1.1\r\n" + head + "\r\n",
		"bare LF block":              "GET / HTTP/1.1\n" + strings.ReplaceAll(head, "\r\n", "\n") + "\n",
	} {
		sendRaw(t, addr, raw, strings.HasPrefix(name, "abandoned") || strings.HasPrefix(name, "body shorter"))
	}
	sendRaw(t, strings.TrimPrefix(g2.url, "http://"), "GET / HTTP/1.1\r\n"+head+"\r\n", false)

	// A flood of one malformed request: the log must not grow with it.
	errorLines := func() int {
		return strings.Count(buf.String(), `"level":"WARN"`) + strings.Count(buf.String(), `"level":"ERROR"`)
	}
	before := errorLines()
	for range 200 {
		sendRaw(t, addr, "GET / HTTP/1.1\r\n"+head+"X-A: a\x01b\r\n\r\n", false)
	}
	for range 100 {
		sendRaw(t, addr, "GET /garbage HTTP/1.1\r\n"+head+"\r\n", false)
	}
	flood := errorLines() - before

	out := buf.String()
	for _, s := range []string{secretSession, secretUSP, secretTCF, secretOT, "C0002%3A0", secretGA, secretBody, clientIP} {
		if strings.Contains(out, s) {
			i := strings.Index(out, s)
			t.Errorf("a log line holds %q: …%s…", s, out[max(0, i-200):min(len(out), i+100)])
		}
	}
	if flood > 20 {
		t.Errorf("300 failing requests logged %d lines; repeated errors must be rate-limited", flood)
	}
	if !strings.Contains(out, "upstream") {
		t.Errorf("the upstream failures were not logged at all:\n%s", out)
	}
	t.Logf("%d log lines, %d warnings and errors for the flood of 300", strings.Count(out, "\n"), flood)
}

var _ = fasthttp.StatusOK
