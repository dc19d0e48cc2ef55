package deploy

import (
	"regexp"
	"strings"
	"testing"
)

var (
	promqlString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promqlMatchers = regexp.MustCompile(`\{[^{}]*\}`)
	promqlRange    = regexp.MustCompile(`\[[^\[\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promqlIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	grafanaVar     = regexp.MustCompile(`\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?`)
)

// promqlKeywords are identifiers that are not metric names when not
// followed by "(".
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "by": true, "without": true, "on": true,
	"ignoring": true, "group_left": true, "group_right": true, "offset": true, "bool": true,
	"inf": true, "nan": true, "atan2": true,
}

// promqlMetricNames returns the metric names a PromQL expression selects.
// It is a small lexer, not a parser: strings, label matchers, ranges and
// grouping lists are dropped; what remains of the identifiers, less
// functions (followed by "(") and keywords, are metric names. Durations and
// numbers start with a digit and never match.
func promqlMetricNames(expr string) []string {
	e := grafanaVar.ReplaceAllString(expr, "1m")
	e = promqlString.ReplaceAllString(e, `""`)
	e = promqlMatchers.ReplaceAllString(e, " ")
	e = promqlRange.ReplaceAllString(e, " ")
	e = promqlGrouping.ReplaceAllString(e, " ")
	var names []string
	for _, loc := range promqlIdent.FindAllStringIndex(e, -1) {
		if loc[0] > 0 && (isDigit(e[loc[0]-1]) || e[loc[0]-1] == '.') {
			continue // the tail of a number or duration such as 1e3 or 30m
		}
		id := e[loc[0]:loc[1]]
		if promqlKeywords[strings.ToLower(id)] {
			continue
		}
		if rest := strings.TrimLeft(e[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function or aggregation
		}
		names = append(names, id)
	}
	return names
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func TestPromqlMetricNames(t *testing.T) {
	for expr, want := range map[string]string{
		`sum by (site, le) (rate(consentgate_rewrite_duration_seconds_bucket{site=~"$site"}[$__rate_interval]))`: "consentgate_rewrite_duration_seconds_bucket",
		`time() - min(consentgate_rules_loaded_timestamp_seconds{job="x"}) > 30 * 86400`:                         "consentgate_rules_loaded_timestamp_seconds",
		`a{x="}"} / on (instance) group_left (version) b offset 1d and c`:                                        "a b c",
		`absent(up{job="consentgate"} == 1)`:                                                                     "up",
		`histogram_quantile(0.99, sum(rate(x_bucket[5m])) by (le)) > 2.5e-2`:                                     "x_bucket",
		`topk(15, sum without (instance) (rate(foo[1h:5m] offset -1h)))`:                                         "foo",
	} {
		if got := strings.Join(promqlMetricNames(expr), " "); got != want {
			t.Errorf("promqlMetricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}
