package signals

import (
	"bufio"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// header parses a raw request head, as the server would.
func header(t testing.TB, lines string) *fasthttp.RequestHeader {
	t.Helper()
	var h fasthttp.RequestHeader
	if err := h.Read(bufioReader("GET / HTTP/1.1\r\nHost: example.com\r\n" + lines + "\r\n")); err != nil {
		if len(lines) > 80 {
			lines = lines[:80] + "…"
		}
		msg := err.Error()
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		t.Fatalf("cannot parse request head %q: %s", lines, msg)
	}
	return &h
}

func bufioReader(s string) *bufio.Reader {
	return bufio.NewReaderSize(strings.NewReader(s), len(s)+4096)
}
