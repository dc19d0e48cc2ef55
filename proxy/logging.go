package proxy

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// What the proxy logs never holds a cookie value, a consent string, a
// client address or request, response or body bytes, at any level: error
// values from the HTTP layers quote the bytes they could not parse, so they
// are reduced to a reason code from a closed set and never printed. Lines
// about the same thing are rate-limited, so a flood of bad requests or a
// failing upstream costs a few lines a minute, with a count of the rest.

// Rate limit of log lines per key (a fixed message and reason).
const (
	logBurst  = 5
	logWindow = time.Minute
)

// logLimiter lets through logBurst lines per key in each logWindow. Keys
// come from closed sets, so the map stays small.
type logLimiter struct {
	mu sync.Mutex
	m  map[string]*logBucket
}

type logBucket struct {
	start      time.Time
	n          int
	suppressed int
}

// allow reports whether a line for key may be written now, and how many
// were suppressed since the last one that was.
func (l *logLimiter) allow(key string) (bool, int) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[string]*logBucket)
	}
	b := l.m[key]
	if b == nil {
		b = &logBucket{start: now}
		l.m[key] = b
	}
	if now.Sub(b.start) >= logWindow {
		b.start, b.n = now, 0
	}
	if b.n >= logBurst {
		b.suppressed++
		return false, 0
	}
	b.n++
	s := b.suppressed
	b.suppressed = 0
	return true, s
}

// limitedLog writes one line unless its key is over the limit.
func limitedLog(l *slog.Logger, lim *logLimiter, level slog.Level, msg, key string, args ...any) {
	ok, suppressed := lim.allow(key)
	if !ok {
		return
	}
	if suppressed > 0 {
		args = append(args, "suppressed_since_last", suppressed)
	}
	l.Log(context.Background(), level, msg, args...)
}

// fasthttpLogger receives fasthttp's server log lines. Their arguments hold
// the connection's addresses and, for a request it could not parse, up to
// 400 bytes of it (cookies, consent strings); only the fixed format and a
// reason code are kept.
type fasthttpLogger struct {
	l   *slog.Logger
	lim *logLimiter
}

func (f fasthttpLogger) Printf(format string, args ...any) {
	reason := "other"
	for _, a := range args {
		if err, ok := a.(error); ok {
			reason = serveErrorReason(err)
		}
	}
	what := format
	if strings.HasPrefix(format, "error when serving connection") {
		what = "client connection failed"
	}
	limitedLog(f.l, f.lim, slog.LevelWarn, "http server", "server/"+what+"/"+reason, "what", what, "reason", reason)
}

// serveErrorReason reduces an error of fasthttp's server to a code. The
// text is read to classify, never kept.
func serveErrorReason(err error) string {
	var small *fasthttp.ErrSmallBuffer
	var to interface{ Timeout() bool }
	switch msg := err.Error(); {
	case errors.As(err, &small) || strings.Contains(msg, "small read buffer"):
		return "header_too_large"
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return "body_too_large"
	case errors.As(err, &to) && to.Timeout():
		return "timeout"
	case strings.Contains(msg, "chunk") || strings.Contains(msg, "hex number"):
		return "malformed_body"
	case strings.Contains(msg, "EOF"), strings.Contains(msg, "reset by peer"), strings.Contains(msg, "broken pipe"):
		return "closed_early"
	case strings.Contains(msg, "header"), strings.Contains(msg, "parse"), strings.Contains(msg, "request"):
		return "malformed_request"
	}
	return "other"
}
