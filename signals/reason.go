package signals

// Reason says why a consent signal could not be used. The set is closed, so
// it is safe as a metrics label (consentgate_signal_parse_errors_total{signal,
// reason}); every value but ReasonNone means the signal counted as an
// opt-out for what it covers.
type Reason uint8

// The reasons, in label order.
const (
	// ReasonNone: the signal parsed.
	ReasonNone Reason = iota
	// ReasonEmpty: the cookie or a part of it is empty.
	ReasonEmpty
	// ReasonTooLong: longer than MaxSignalLen (or a part longer than its
	// format allows).
	ReasonTooLong
	// ReasonBadBase64: a character outside the base64url alphabet.
	ReasonBadBase64
	// ReasonTruncated: the bits ended before the format's last field.
	ReasonTruncated
	// ReasonBadVersion: a version or type this package does not know.
	ReasonBadVersion
	// ReasonBadHeader: a GPP header that is not type 3, or a section list
	// that does not match the sections present.
	ReasonBadHeader
	// ReasonBadRange: an absurd id, range or length (Fibonacci overflow,
	// vendor range end before start, too many sections).
	ReasonBadRange
	// ReasonBadValue: a field value the specification does not allow.
	ReasonBadValue
	// ReasonBadSyntax: a CMP cookie that does not follow its format.
	ReasonBadSyntax
	// ReasonDuplicate: the same consent cookie twice with different values.
	ReasonDuplicate
	// ReasonBadSID: a __gpp_sid that is not a comma-separated id list.
	ReasonBadSID
	numReasons
)

var reasonNames = [numReasons]string{
	"none", "empty", "too_long", "bad_base64", "truncated", "bad_version",
	"bad_header", "bad_range", "bad_value", "bad_syntax", "duplicate", "bad_sid",
}

// String returns the metrics label of the reason.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "other"
}

// ReasonNames lists every reason label except "none", for pre-creating
// metric children.
func ReasonNames() []string { return reasonNames[1:] }

// MaxSignalLen is the longest consent cookie value parsed. Longer values are
// an opt-out with ReasonTooLong: real GPP and TC strings are a few KiB.
const MaxSignalLen = 16 << 10
