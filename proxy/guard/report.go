package guard

import (
	"bytes"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/consentgate/consentgate/rules"
)

// Bounds on a count report. The guard sends vendor ids and counts only,
// "id=n&id=n", a few dozen bytes; anyone can post to the endpoint, so what
// one report can add is capped.
const (
	// MaxReport is the largest report body read.
	MaxReport = 4 << 10
	// MaxEntries is the most vendors one report counts.
	MaxEntries = 64
	// MaxCount caps one vendor's count in one report.
	MaxCount = 1000
)

// Errors of ReadReport.
var (
	ErrReportTooLarge = errors.New("guard report larger than MaxReport")
	ErrReportSyntax   = errors.New("guard report is not id=count&id=count")
)

// Block is one vendor's count in a report.
type Block struct {
	Vendor *rules.Vendor
	Count  int
}

// ReadReport parses a report for site and appends its valid entries to
// dst. An entry is valid when its id names a vendor of set that a guard on
// site can refuse (not on the site's allow-list, in a category, as the site
// classifies it, that an opt-out or an opt-in region can deny, with hosts) and its count is a positive
// integer, capped at MaxCount; the first entry of a vendor counts. ignored
// is the number of other entries. A body over MaxReport or with more than
// MaxEntries entries is refused whole.
func ReadReport(dst []Block, body []byte, set *rules.Set, site *rules.Site) (out []Block, ignored int, err error) {
	if len(body) > MaxReport {
		return dst, 0, ErrReportTooLarge
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return dst, 0, ErrReportSyntax
	}
	if bytes.Count(body, []byte{'&'}) >= MaxEntries {
		return dst, 0, ErrReportTooLarge
	}
	start := len(dst)
	denyable := site.Deny | rules.AllButNecessary
	for len(body) > 0 {
		var pair []byte
		pair, body, _ = bytes.Cut(body, []byte{'&'})
		id, num, ok := bytes.Cut(pair, []byte{'='})
		if !ok {
			return dst[:start], 0, ErrReportSyntax
		}
		n, err := strconv.Atoi(string(num))
		if err != nil {
			return dst[:start], 0, ErrReportSyntax
		}
		v := set.VendorByID(unescapeID(id))
		if v == nil || n <= 0 || !denyable.Has(site.Category(v)) || site.Allowed(v) || len(v.Hosts) == 0 || seen(dst[start:], v) {
			ignored++
			continue
		}
		dst = append(dst, Block{Vendor: v, Count: min(n, MaxCount)})
	}
	return dst, ignored, nil
}

func seen(bs []Block, v *rules.Vendor) bool {
	for _, b := range bs {
		if b.Vendor == v {
			return true
		}
	}
	return false
}

// unescapeID undoes the guard's encodeURIComponent; an id that is not
// valid percent-encoding is returned as written (and matches no vendor).
func unescapeID(id []byte) string {
	if bytes.IndexByte(id, '%') < 0 {
		return string(id)
	}
	out := make([]byte, 0, len(id))
	for i := 0; i < len(id); i++ {
		if id[i] == '%' && i+2 < len(id) {
			if x, err := strconv.ParseUint(string(id[i+1:i+3]), 16, 8); err == nil {
				out = append(out, byte(x))
				i += 2
				continue
			}
		}
		out = append(out, id[i])
	}
	return string(out)
}

// Limiter is a token bucket on reports: Rate a second, up to Burst at
// once. The zero value allows nothing; it is safe for concurrent use.
type Limiter struct {
	Rate, Burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// Allow takes one token at time now, if there is one.
func (l *Limiter) Allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() {
		l.tokens = l.Burst
	} else if d := now.Sub(l.last).Seconds(); d > 0 {
		l.tokens = min(l.Burst, l.tokens+d*l.Rate)
	}
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
