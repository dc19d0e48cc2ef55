package receipt

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/signals"
)

// Kind is what a record is about.
type Kind uint8

// The kinds of record. Their names are the "kind" member of the JSON.
const (
	// KindResponse is one response enforced for a visitor whose decision
	// denies some category (or, on a shadow site, observed: what would
	// have been enforced).
	KindResponse Kind = iota
	// KindCanary is the result of one canary check of a page.
	KindCanary
	// KindGuard is what the in-page runtime guard reported blocking.
	KindGuard
	// KindTally is a site's request counts by decision since the last
	// tally: the denominator of the opt-out share.
	KindTally
	// KindStart opens every run of the writer: how the chain was resumed.
	KindStart
	// KindStop closes a run that shut down cleanly.
	KindStop
	numKinds
)

var kindNames = [numKinds]string{"response", "canary", "guard", "tally", "start", "stop"}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Bounds on what one record carries, so a line stays small (well under 16
// KiB) whatever the page: past a bound the rest is counted, not listed.
const (
	MaxRemoved    = 64 // (vendor, action, element) rows
	MaxCookies    = 32 // vendors whose cookies were dropped or expired
	MaxSetCookies = 16 // names of cookies the upstream set
	MaxNameLen    = 64 // bytes of one such name
	MaxLeaks      = 32
	MaxGuard      = 32
)

// Entry is one record as the proxy hands it to a Log: small, with pointers
// into the rule set instead of strings, so filling it on the request path
// costs little. The Log turns it into a JSON line off the request path.
// Get one from Acquire; Add or Release gives it back.
type Entry struct {
	Kind Kind
	// Time is when the request arrived (the record's time, to the second).
	Time  time.Time
	Site  string
	Rules string // rules.Set.Version of the set that decided
	// Shadow: the site is in shadow mode; what the record lists was
	// observed, not done, and the visitor got the upstream's bytes.
	Shadow bool
	// Canary: the request came from the proxy's own canary.
	Canary   bool
	OptedOut bool
	Mode     signals.Mode
	Denied   rules.Categories
	Sources  signals.Source
	Status   int
	// HTML: the body was HTML and went through the rewriter (enforcing)
	// or was read by it (shadow).
	HTML bool
	// Incomplete: the client went away or the body broke off before the
	// rewriter saw all of it; the counts cover what it saw.
	Incomplete bool

	Removed      []Removal
	RemovedOther int // rows past MaxRemoved
	Cookies      []CookieCount
	// The names of the cookies the upstream set, in setCookies at the
	// offsets in setCookieEnd (no allocation once the Entry is warm);
	// SetCookieN counts Set-Cookie lines past MaxSetCookies, or with a
	// name too long or not a token.
	setCookies   []byte
	setCookieEnd []uint16
	SetCookieN   int
	// FailClosed are the reason codes of the fail-closed branches taken
	// (see the package documentation).
	FailClosed []string
	Oversize   int // rewrite.Stats.Oversize

	Guard []GuardBlock

	// Canary checks.
	Path       string // the canary's configured path
	Result     string // pass, leak or error
	Error      string // why a check could not be made
	Leaks      []Leak
	LeaksOther int

	// Tallies.
	Requests Tally

	// Start records.
	Version   string
	Clean     bool  // the previous run ended with a stop record
	Truncated int64 // bytes of a torn last line removed on restart
	Resumed   string

	// Set by the Log.
	lost uint64
}

// Removal is one row of what the rewriter removed or neutralised: a vendor,
// what was done and to which element, and how often in the response.
type Removal struct {
	Vendor *rules.Vendor
	// Category is the vendor's category on the site (its own
	// vendor_categories, else the catalogue's).
	Category rules.Category
	Action   rules.Action
	Element  string
	N        int
}

// CookieCount is what was done to one vendor's cookies in a response.
type CookieCount struct {
	Vendor   *rules.Vendor
	Category rules.Category // on the site
	// DroppedRequest: the visitor's cookies not sent upstream.
	DroppedRequest int
	// DroppedResponse: the upstream's Set-Cookie lines not sent on.
	DroppedResponse int
	// Expired: cookies the visitor held, expired with a Set-Cookie.
	Expired int
}

// GuardBlock is what the runtime guard blocked of one vendor.
type GuardBlock struct {
	Vendor   string // catalogue id
	Category string
	N        int
}

// Leak is one thing a canary found that an opted-out visitor must not get.
type Leak struct {
	Vendor   string // catalogue id
	Category string
	// What is "element" (an element that loads the vendor is in the HTML)
	// or "cookie" (a Set-Cookie of the vendor's that is not an expiry).
	What string
	// Element is the element name ("script", "img", ...); Name the
	// attribute, or the cookie name.
	Element string
	Name    string
}

// Tally is a site's request counts by decision (the consentgate_requests_total
// decisions) since the last tally record.
type Tally struct {
	Site            string
	OptedOut        uint64
	ConsentRequired uint64
	NotOptedOut     uint64
}

var entryPool = sync.Pool{New: func() any { return new(Entry) }}

// Acquire returns an empty Entry.
func Acquire() *Entry { return entryPool.Get().(*Entry) }

// Release resets e and returns it to the pool; e must not be used after.
func Release(e *Entry) {
	if e == nil {
		return
	}
	if cap(e.Removed) > 4*MaxRemoved || cap(e.setCookies) > 4*MaxSetCookies*MaxNameLen {
		*e = Entry{}
	} else {
		*e = Entry{
			Removed: e.Removed[:0], Cookies: e.Cookies[:0], setCookies: e.setCookies[:0], setCookieEnd: e.setCookieEnd[:0],
			FailClosed: e.FailClosed[:0], Guard: e.Guard[:0], Leaks: e.Leaks[:0],
		}
	}
	entryPool.Put(e)
}

// AddRemoval counts n elements of v (of category c on the site) that got
// action a.
func (e *Entry) AddRemoval(v *rules.Vendor, c rules.Category, a rules.Action, element string, n int) {
	if v == nil || n <= 0 {
		return
	}
	for i := range e.Removed {
		r := &e.Removed[i]
		if r.Vendor == v && r.Action == a && r.Element == element {
			r.N += n
			return
		}
	}
	if len(e.Removed) >= MaxRemoved {
		e.RemovedOther += n
		return
	}
	e.Removed = append(e.Removed, Removal{Vendor: v, Category: c, Action: a, Element: element, N: n})
}

// cookie returns the row of v, adding it; nil past MaxCookies.
func (e *Entry) cookie(v *rules.Vendor, c rules.Category) *CookieCount {
	for i := range e.Cookies {
		if e.Cookies[i].Vendor == v {
			return &e.Cookies[i]
		}
	}
	if len(e.Cookies) >= MaxCookies || v == nil {
		return nil
	}
	e.Cookies = append(e.Cookies, CookieCount{Vendor: v, Category: c})
	return &e.Cookies[len(e.Cookies)-1]
}

// CookieDroppedRequest counts one of v's cookies not sent upstream; cat
// is v's category on the site.
func (e *Entry) CookieDroppedRequest(v *rules.Vendor, cat rules.Category) {
	if c := e.cookie(v, cat); c != nil {
		c.DroppedRequest++
	}
}

// CookieDroppedResponse counts one of v's Set-Cookie lines not sent on.
func (e *Entry) CookieDroppedResponse(v *rules.Vendor, cat rules.Category) {
	if c := e.cookie(v, cat); c != nil {
		c.DroppedResponse++
	}
}

// CookieExpired counts one of v's cookies expired at the visitor.
func (e *Entry) CookieExpired(v *rules.Vendor, cat rules.Category) {
	if c := e.cookie(v, cat); c != nil {
		c.Expired++
	}
}

// SetCookie records the name of a cookie the upstream set: names only,
// never values. A name that is not a cookie-name token or is longer than
// MaxNameLen, and names past MaxSetCookies, are only counted; a name seen
// before in the response is not repeated. It copies name.
func (e *Entry) SetCookie(name []byte) {
	if len(name) == 0 || len(name) > MaxNameLen || !isToken(name) {
		e.SetCookieN++
		return
	}
	start := 0
	for _, end := range e.setCookieEnd {
		if string(e.setCookies[start:end]) == string(name) {
			return
		}
		start = int(end)
	}
	if len(e.setCookieEnd) >= MaxSetCookies {
		e.SetCookieN++
		return
	}
	e.setCookies = append(e.setCookies, name...)
	e.setCookieEnd = append(e.setCookieEnd, uint16(len(e.setCookies)))
}

// SetCookies returns the names SetCookie recorded, in order.
func (e *Entry) SetCookies() []string {
	out := make([]string, 0, len(e.setCookieEnd))
	start := 0
	for _, end := range e.setCookieEnd {
		out = append(out, string(e.setCookies[start:end]))
		start = int(end)
	}
	return out
}

// AddFailClosed records a fail-closed reason code once.
func (e *Entry) AddFailClosed(reason string) {
	for _, r := range e.FailClosed {
		if r == reason {
			return
		}
	}
	e.FailClosed = append(e.FailClosed, reason)
}

// AddLeak records what a canary found.
func (e *Entry) AddLeak(l Leak) {
	if len(e.Leaks) >= MaxLeaks {
		e.LeaksOther++
		return
	}
	e.Leaks = append(e.Leaks, l)
}

// AddGuard records n runtime blocks of a vendor; past MaxGuard vendors the
// rest are counted under "other".
func (e *Entry) AddGuard(vendor, category string, n int) {
	for i := range e.Guard {
		if e.Guard[i].Vendor == vendor {
			e.Guard[i].N += n
			return
		}
	}
	if len(e.Guard) >= MaxGuard {
		vendor, category = "other", ""
		for i := range e.Guard {
			if e.Guard[i].Vendor == vendor {
				e.Guard[i].N += n
				return
			}
		}
	}
	e.Guard = append(e.Guard, GuardBlock{Vendor: vendor, Category: category, N: n})
}

// isToken reports whether b is an RFC 9110 token (a cookie name, RFC 6265).
func isToken(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || c == '"' || c == '(' || c == ')' || c == ',' || c == '/' || c == ':' ||
			c == ';' || c == '<' || c == '=' || c == '>' || c == '?' || c == '@' || c == '[' || c == '\\' ||
			c == ']' || c == '{' || c == '}' {
			return false
		}
	}
	return true
}

// appendJSON appends the record of e as one line of JSON (no newline), with
// its sequence number and the hash of the previous record. Members are
// written in a fixed order and only where they say something, so the line
// depends on e alone.
func (e *Entry) appendJSON(b []byte, seq uint64, prev []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"time":"`...)
	b = e.Time.UTC().Truncate(time.Second).AppendFormat(b, time.RFC3339)
	b = append(b, `","kind":"`...)
	b = append(b, e.Kind.String()...)
	b = append(b, '"')
	if e.Site != "" {
		b = appendStr(append(b, `,"site":`...), e.Site)
	}
	if e.Rules != "" {
		b = appendStr(append(b, `,"rules":`...), e.Rules)
	}
	switch e.Kind {
	case KindResponse:
		b = e.appendDecision(b)
		b = appendInt(b, "status", e.Status)
		b = appendBool(b, "html", e.HTML)
		b = appendBool(b, "incomplete", e.Incomplete)
		b = e.appendRemoved(b)
		b = e.appendCookies(b)
		b = appendStrs(b, "fail_closed", e.FailClosed)
		b = appendInt(b, "oversize", e.Oversize)
	case KindCanary:
		b = appendStr(append(b, `,"path":`...), e.Path)
		b = appendStr(append(b, `,"result":`...), e.Result)
		if e.Error != "" {
			b = appendStr(append(b, `,"error":`...), e.Error)
		}
		b = appendInt(b, "status", e.Status)
		if len(e.Leaks) > 0 {
			b = append(b, `,"leaks":[`...)
			for i, l := range e.Leaks {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendStr(append(b, `{"what":`...), l.What)
				b = appendStr(append(b, `,"vendor":`...), l.Vendor)
				b = appendStr(append(b, `,"category":`...), l.Category)
				if l.Element != "" {
					b = appendStr(append(b, `,"element":`...), l.Element)
				}
				if l.Name != "" {
					b = appendStr(append(b, `,"name":`...), l.Name)
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = appendInt(b, "leaks_other", e.LeaksOther)
	case KindGuard:
		b = appendBool(b, "shadow", e.Shadow)
		b = append(b, `,"guard":[`...)
		for i, g := range e.Guard {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendStr(append(b, `{"vendor":`...), g.Vendor)
			if g.Category != "" {
				b = appendStr(append(b, `,"category":`...), g.Category)
			}
			b = strconv.AppendInt(append(b, `,"n":`...), int64(g.N), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	case KindTally:
		b = append(b, `,"requests":{"opted_out":`...)
		b = strconv.AppendUint(b, e.Requests.OptedOut, 10)
		b = append(b, `,"consent_required":`...)
		b = strconv.AppendUint(b, e.Requests.ConsentRequired, 10)
		b = append(b, `,"not_opted_out":`...)
		b = strconv.AppendUint(b, e.Requests.NotOptedOut, 10)
		b = append(b, '}')
	case KindStart:
		b = appendStr(append(b, `,"version":`...), e.Version)
		b = append(b, `,"clean":`...)
		b = strconv.AppendBool(b, e.Clean)
		if e.Resumed != "" {
			b = appendStr(append(b, `,"resumed":`...), e.Resumed)
		}
		if e.Truncated > 0 {
			b = strconv.AppendInt(append(b, `,"truncated_bytes":`...), e.Truncated, 10)
		}
	}
	if e.lost > 0 {
		b = strconv.AppendUint(append(b, `,"lost":`...), e.lost, 10)
	}
	b = appendBytes(append(b, `,"prev":`...), prev)
	return append(b, '}')
}

func (e *Entry) appendDecision(b []byte) []byte {
	b = appendBool(b, "canary", e.Canary)
	b = append(b, `,"shadow":`...)
	b = strconv.AppendBool(b, e.Shadow)
	b = append(b, `,"opted_out":`...)
	b = strconv.AppendBool(b, e.OptedOut)
	b = appendStr(append(b, `,"mode":`...), e.Mode.String())
	b = append(b, `,"denied":[`...)
	first := true
	for _, c := range rules.ByName {
		if e.Denied.Has(c) {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendStr(b, c.String())
		}
	}
	b = append(b, `],"sources":[`...)
	first = true
	names := signals.SourceNames()
	e.Sources.Each(func(i int) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendStr(b, names[i])
	})
	return append(b, ']')
}

// appendRemoved writes the removal rows grouped by vendor and action, in
// the order each vendor was first met.
func (e *Entry) appendRemoved(b []byte) []byte {
	if len(e.Removed) == 0 {
		return appendInt(b, "removed_other", e.RemovedOther)
	}
	b = append(b, `,"removed":[`...)
	var done [MaxRemoved]bool
	first := true
	for i, r := range e.Removed {
		if done[i] {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendStr(append(b, `{"vendor":`...), r.Vendor.ID)
		b = appendStr(append(b, `,"category":`...), r.Category.String())
		b = appendStr(append(b, `,"action":`...), r.Action.String())
		b = append(b, `,"elements":{`...)
		for j := i; j < len(e.Removed); j++ {
			o := e.Removed[j]
			if done[j] || o.Vendor != r.Vendor || o.Action != r.Action {
				continue
			}
			done[j] = true
			if j > i {
				b = append(b, ',')
			}
			b = appendStr(b, o.Element)
			b = strconv.AppendInt(append(b, ':'), int64(o.N), 10)
		}
		b = append(b, `}}`...)
	}
	b = append(b, ']')
	return appendInt(b, "removed_other", e.RemovedOther)
}

func (e *Entry) appendCookies(b []byte) []byte {
	if len(e.Cookies) > 0 {
		b = append(b, `,"cookies":[`...)
		for i, c := range e.Cookies {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendStr(append(b, `{"vendor":`...), c.Vendor.ID)
			b = appendStr(append(b, `,"category":`...), c.Category.String())
			b = appendInt(b, "dropped_request", c.DroppedRequest)
			b = appendInt(b, "dropped_response", c.DroppedResponse)
			b = appendInt(b, "expired", c.Expired)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(e.setCookieEnd) > 0 {
		b = append(b, `,"set_cookies":[`...)
		start := 0
		for i, end := range e.setCookieEnd {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendBytes(b, e.setCookies[start:end])
			start = int(end)
		}
		b = append(b, ']')
	}
	return appendInt(b, "set_cookies_other", e.SetCookieN)
}

// appendInt appends ,"name":n unless n is 0.
func appendInt(b []byte, name string, n int) []byte {
	if n == 0 {
		return b
	}
	b = append(append(append(b, `,"`...), name...), `":`...)
	return strconv.AppendInt(b, int64(n), 10)
}

// appendBool appends ,"name":true when v is.
func appendBool(b []byte, name string, v bool) []byte {
	if !v {
		return b
	}
	return append(append(append(b, `,"`...), name...), `":true`...)
}

func appendStrs(b []byte, name string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(append(append(b, `,"`...), name...), `":[`...)
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStr(b, s)
	}
	return append(b, ']')
}

// appendBytes is appendStr of a token (cookie names: no quote, backslash or
// control character).
func appendBytes(b, s []byte) []byte {
	return append(append(append(b, '"'), s...), '"')
}

// appendStr appends s as a JSON string (RFC 8259): quote, backslash and
// control characters escaped, invalid UTF-8 replaced by U+FFFD.
func appendStr(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
