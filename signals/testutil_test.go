package signals

import (
	"bufio"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
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

// decided is what Read should decide for a request.
type decided struct {
	optedOut        bool
	denied          rules.Categories
	sources, errors Source
}

// readTwice reads the request head lines for testSite twice, the second
// time perhaps from the cache: Read must decide want, and Explain the same
// as Read. check, when not nil, looks further at each pass.
func readTwice(t *testing.T, r *Reader, lines string, want decided, check func(c Consent, e *Explanation)) {
	t.Helper()
	for pass := 0; pass < 2; pass++ {
		h := header(t, lines)
		c := r.Read(PolicyOf(testSite()), h)
		if c.OptedOut != want.optedOut || c.Denied != want.denied || c.Sources != want.sources || c.Errors != want.errors {
			t.Fatalf("pass %d: got opted_out=%v denied=%v sources=%v errors=%v; want %v %v %v %v",
				pass, c.OptedOut, c.Denied, c.Sources.Names(), c.Errors.Names(),
				want.optedOut, want.denied, want.sources.Names(), want.errors.Names())
		}
		e := r.Explain(PolicyOf(testSite()), h)
		if e.Consent != c {
			t.Errorf("Explain decided %+v, Read %+v", e.Consent, c)
		}
		if check != nil {
			check(c, e)
		}
		r.cache.c.Wait()
	}
}
