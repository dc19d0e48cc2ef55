package receipt

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Record is one receipt as read back from a file: the JSON of a line. Only
// the members of its kind are set (see the package documentation).
type Record struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	Site string    `json:"site,omitempty"`
	// Rules is the version of the rule set that decided.
	Rules string `json:"rules,omitempty"`

	Canary   bool     `json:"canary,omitempty"`
	Shadow   bool     `json:"shadow,omitempty"`
	OptedOut bool     `json:"opted_out,omitempty"`
	Mode     string   `json:"mode,omitempty"`
	Denied   []string `json:"denied,omitempty"`
	Sources  []string `json:"sources,omitempty"`
	Status   int      `json:"status,omitempty"`
	HTML     bool     `json:"html,omitempty"`

	Incomplete      bool            `json:"incomplete,omitempty"`
	Removed         []RemovedVendor `json:"removed,omitempty"`
	RemovedOther    int             `json:"removed_other,omitempty"`
	Cookies         []CookieVendor  `json:"cookies,omitempty"`
	SetCookies      []string        `json:"set_cookies,omitempty"`
	SetCookiesOther int             `json:"set_cookies_other,omitempty"`
	FailClosed      []string        `json:"fail_closed,omitempty"`
	Oversize        int             `json:"oversize,omitempty"`

	Guard []GuardVendor `json:"guard,omitempty"`

	Path       string       `json:"path,omitempty"`
	Result     string       `json:"result,omitempty"`
	Error      string       `json:"error,omitempty"`
	Leaks      []LeakRecord `json:"leaks,omitempty"`
	LeaksOther int          `json:"leaks_other,omitempty"`

	Requests *TallyCounts `json:"requests,omitempty"`

	Version   string `json:"version,omitempty"`
	Clean     bool   `json:"clean,omitempty"`
	Resumed   string `json:"resumed,omitempty"`
	Truncated int64  `json:"truncated_bytes,omitempty"`

	Lost uint64 `json:"lost,omitempty"`
	Prev string `json:"prev"`
}

// RemovedVendor is what was removed or neutralised of one vendor.
type RemovedVendor struct {
	Vendor   string         `json:"vendor"`
	Category string         `json:"category"`
	Action   string         `json:"action"`
	Elements map[string]int `json:"elements"`
}

// N is the number of elements.
func (r RemovedVendor) N() int {
	n := 0
	for _, c := range r.Elements {
		n += c
	}
	return n
}

// CookieVendor is what was done to one vendor's cookies.
type CookieVendor struct {
	Vendor          string `json:"vendor"`
	Category        string `json:"category"`
	DroppedRequest  int    `json:"dropped_request,omitempty"`
	DroppedResponse int    `json:"dropped_response,omitempty"`
	Expired         int    `json:"expired,omitempty"`
}

// GuardVendor is what the runtime guard blocked of one vendor.
type GuardVendor struct {
	Vendor   string `json:"vendor"`
	Category string `json:"category,omitempty"`
	N        int    `json:"n"`
}

// LeakRecord is one leak a canary found.
type LeakRecord struct {
	What     string `json:"what"`
	Vendor   string `json:"vendor"`
	Category string `json:"category"`
	Element  string `json:"element,omitempty"`
	Name     string `json:"name,omitempty"`
}

// TallyCounts are the request counts of a tally record.
type TallyCounts struct {
	OptedOut        uint64 `json:"opted_out"`
	ConsentRequired uint64 `json:"consent_required"`
	NotOptedOut     uint64 `json:"not_opted_out"`
}

// Hash returns the chain hash of a line: the lower-case hex SHA-256 of its
// bytes, without the newline. The next record's prev is this.
func Hash(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// MaxLine bounds one line when reading; a record is far smaller.
const MaxLine = 1 << 20

// Line is one line of a receipts file as read.
type Line struct {
	File string
	No   int    // 1-based
	Raw  []byte // without the newline; valid until the next call
	// Torn: the file ended without a newline after this line.
	Torn bool
}

// ErrLineTooLong is returned for a line over MaxLine.
var ErrLineTooLong = errors.New("receipts: line longer than 1 MiB")

// ReadLines calls fn for every line of the files, in order. It stops at the
// first error of fn or of reading.
func ReadLines(paths []string, fn func(l Line) error) error {
	for _, p := range paths {
		if err := readFile(p, fn); err != nil {
			return err
		}
	}
	return nil
}

func readFile(path string, fn func(l Line) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read receipts: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var long []byte
	for no := 1; ; no++ {
		raw, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], raw...)
			for errors.Is(err, bufio.ErrBufferFull) {
				raw, err = br.ReadSlice('\n')
				long = append(long, raw...)
				if len(long) > MaxLine {
					return fmt.Errorf("%s:%d: %w", path, no, ErrLineTooLong)
				}
			}
			raw = long
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("cannot read receipts: %s:%d: %w", path, no, err)
		}
		if len(raw) == 0 && err == io.EOF {
			return nil
		}
		l := Line{File: path, No: no}
		if bytes.HasSuffix(raw, []byte{'\n'}) {
			l.Raw = raw[:len(raw)-1]
		} else {
			l.Raw, l.Torn = raw, true
		}
		if ferr := fn(l); ferr != nil {
			return ferr
		}
		if err == io.EOF {
			return nil
		}
	}
}

// ReadRecords decodes every record of the files, in order, and calls fn with
// each; a line that does not decode is passed with its error (a torn last
// line, an edited line).
func ReadRecords(paths []string, fn func(l Line, r *Record, err error) error) error {
	return ReadLines(paths, func(l Line) error {
		var r Record
		err := json.Unmarshal(l.Raw, &r)
		if err != nil {
			return fn(l, nil, err)
		}
		return fn(l, &r, nil)
	})
}
