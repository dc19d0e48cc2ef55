package urlhost

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// maxDots is the most dots a configured host may have (32 labels).
const maxDots = 31

// Normalise validates the syntax of a host name from a config file or the
// catalogue and returns it lower-cased without a trailing dot.
func Normalise(h string) (string, error) {
	h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
	if h == "" {
		return "", errors.New("empty host")
	}
	if len(h) > MaxLen {
		return "", fmt.Errorf("host is longer than %d bytes", MaxLen)
	}
	for _, c := range h {
		if !(c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return "", fmt.Errorf("%q is not a host name (letters, digits, dots and dashes)", h)
		}
	}
	if strings.HasPrefix(h, ".") || strings.Contains(h, "..") {
		return "", fmt.Errorf("%q has an empty label", h)
	}
	if strings.Count(h, ".") > maxDots {
		return "", fmt.Errorf("%q has more than %d labels", h, maxDots+1)
	}
	return h, nil
}

// NormaliseEntry is Normalise for an entry of a host table (a vendor's
// host suffix): it also refuses a public suffix (ICANN or private section
// of the Public Suffix List), since a suffix such as "co.uk" or
// "github.io" would claim unrelated sites.
func NormaliseEntry(h string) (string, error) {
	n, err := Normalise(h)
	if err != nil {
		return "", err
	}
	if etld, _ := publicsuffix.PublicSuffix(n); etld == n {
		return "", fmt.Errorf("%q is a public suffix; name a registrable domain or a host under one", n)
	}
	return n, nil
}
