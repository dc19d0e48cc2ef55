package signals

import (
	"errors"
	"fmt"
)

// USPString is a decoded IAB US Privacy string ("1YNN").
type USPString struct {
	Version        byte // '1'
	ExplicitNotice byte // 'Y', 'N' or '-'
	OptOutSale     byte // 'Y', 'N' or '-'
	LSPACovered    byte // 'Y', 'N' or '-'
}

var errUSPLength = errors.New("US Privacy string must be 4 characters")

// ParseUSP decodes a US Privacy string (IAB "CCPA / US Privacy String"
// specification v1.0): version '1' then three of 'Y', 'N', '-'. The
// letters are case-sensitive, as in the specification's ENUM and the IAB
// and Prebid decoders: "1y--" is an error, not "no opt-out". It never
// allocates on success.
func ParseUSP(b []byte) (USPString, error) {
	var u USPString
	if len(b) != 4 {
		return u, errUSPLength
	}
	if b[0] != '1' {
		return u, fmt.Errorf("US Privacy version %q is not 1", b[0])
	}
	u.Version = '1'
	for i, p := range []*byte{&u.ExplicitNotice, &u.OptOutSale, &u.LSPACovered} {
		c := b[i+1]
		switch c {
		case 'Y', 'N', '-':
		default:
			return USPString{}, fmt.Errorf("US Privacy character %d is %q, want Y, N or -", i+2, c)
		}
		*p = c
	}
	return u, nil
}
