package realpages

import (
	"net/url"
	"strings"
)

// urlHost returns the lower-case host of an absolute URL without port or
// trailing dot, or "" for a URL without one (data:, blob:, about:).
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
}
