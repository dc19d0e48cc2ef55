package signals

import (
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// US Privacy strings are case-sensitive. Sources:
//
//   - InteractiveAdvertisingBureau/USPrivacy f8d659f58665b4e797b99b59079fd787a386eaaa
//     "CCPA/US Privacy String.md" lines 123-125: each of the three
//     characters is an ENUM of N, Y or '-'.
//   - IABTechLab/iabgpp-es fd0546e7b28e7e186bc27aac6375e6c10a80e47e
//     modules/cmpapi/src/encoder/segment/UspV1CoreSegment.ts lines 26-36:
//     the uspv1 validator accepts exactly "-", "Y" and "N".
//   - prebid/prebid-server 0ba352315253f6692af6497d553cfb12909a1b8b
//     privacy/ccpa/parsedpolicy_test.go lines 140-168: "1y--", "1-y-" and
//     "1--y" are errors ("Invalid ... Case").
func TestUSPCaseSensitive(t *testing.T) {
	for _, s := range []string{"1y--", "1-y-", "1--y", "1yyn", "1YyN", "1nYN", "1NNn"} {
		if u, err := ParseUSP([]byte(s)); err == nil {
			t.Errorf("ParseUSP(%q) = %+v, want an error", s, u)
		}
	}
	for _, s := range []string{"1YNN", "1NYY", "1-Y-", "1---"} {
		if _, err := ParseUSP([]byte(s)); err != nil {
			t.Errorf("ParseUSP(%q): %v", s, err)
		}
	}

	// Through the Reader a lower-case string fails closed: an opt-out with
	// a reason, in the usprivacy cookie and in a GPP uspv1 section.
	r := newTestReader(t, Options{})
	for _, tt := range []struct {
		cookie string
		src    Source
		reason Reason
	}{
		{"usprivacy=1y--", USP, ReasonBadValue},
		{"us_privacy=1-y-", USP, ReasonBadValue},
		{"usprivacy=1--y", USP, ReasonBadValue},
		{"__gpp=DBABTA~1ynn", GPP, ReasonBadValue},
	} {
		for pass := 0; pass < 2; pass++ {
			c := r.Read(PolicyOf(testSite()), header(t, cookie(tt.cookie)))
			if !c.OptedOut || c.Denied != rules.DefaultDeny || c.Errors != tt.src || c.Reason(tt.src) != tt.reason {
				t.Errorf("%s pass %d: opted_out=%v denied=%v errors=%v reason=%v; want an opt-out with %v %v",
					tt.cookie, pass, c.OptedOut, c.Denied, c.Errors.Names(), c.Reason(tt.src), tt.src.Names(), tt.reason)
			}
			r.cache.c.Wait()
		}
	}
}
