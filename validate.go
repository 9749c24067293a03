package licensor

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Bounds on what callers may send. They are part of the API contract and are
// named in the error a caller gets when over one.
const (
	MaxIDLen          = 128
	MaxNameLen        = 200
	MaxFeatureNameLen = 64
	MaxFeatures       = 256
	MaxListLimit      = 1000
	DefaultListLimit  = 100
)

// ValidateID checks an identifier given by a caller (an instance id, a
// contract id): non-empty, at most MaxIDLen bytes, valid UTF-8 in Unicode
// normalization form C, and made only of visible characters (see
// idRuneProblem). An id that is not in NFC is refused rather than
// silently compared: callers that accept ids from outside normalize them
// first with NormalizeID, so two spellings of one id never become two
// records.
func ValidateID(field, v string) error {
	if v == "" {
		return Errorf(EINVALID, "%s is required", field)
	}
	if len(v) > MaxIDLen {
		return Errorf(EINVALID, "%s is %d bytes; the limit is %d", field, len(v), MaxIDLen)
	}
	if visibleASCII(v) {
		return nil
	}
	if !utf8.ValidString(v) {
		return Errorf(EINVALID, "%s is not valid UTF-8", field)
	}
	pos := 0
	for _, r := range v {
		pos++
		if what := idRuneProblem(r); what != "" {
			return Errorf(EINVALID, "%s has %s (U+%04X) at character %d; ids must not contain spaces, control or invisible characters", field, what, r, pos)
		}
	}
	if !norm.NFC.IsNormalString(v) {
		return Errorf(EINVALID, "%s is not in Unicode normalization form C; normalize it (NFC) before sending", field)
	}
	return nil
}

// NormalizeID returns v in Unicode normalization form C if that is a valid
// id (ValidateID), so that an id typed with a precomposed "é" and one with
// "e" and a combining accent are the same id. Every id that comes from
// outside (instance ids above all: each distinct one takes a seat) goes
// through it before it is compared or stored.
func NormalizeID(field, v string) (string, error) {
	if visibleASCII(v) { // already NFC
		if err := ValidateID(field, v); err != nil {
			return "", err
		}
		return v, nil
	}
	if utf8.ValidString(v) {
		v = norm.NFC.String(v)
	}
	if err := ValidateID(field, v); err != nil {
		return "", err
	}
	return v, nil
}

// visibleASCII reports whether v is made only of ASCII characters above
// the space and below DEL. Such a string is valid UTF-8, in NFC, and has
// none of the characters idRuneProblem refuses: the common id skips those
// checks (the NFC check alone allocates).
func visibleASCII(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// idRuneProblem names what makes r unfit for an id, or returns "". Refused
// are the characters a person cannot see or that change how the others are
// shown, because two ids that print alike must not be two seats: spaces
// and separators, control characters, format characters (zero-width
// spaces and joiners, bidirectional controls, the byte order mark...),
// other default-ignorable characters (variation selectors, fillers),
// private-use characters, and code points Unicode has not assigned.
func idRuneProblem(r rune) string {
	switch {
	case r <= ' ' || r == 0x7f:
		if r == ' ' {
			return "a space"
		}
		return "a control character"
	case r < 0x7f:
		return ""
	case unicode.Is(unicode.Bidi_Control, r):
		return "a bidirectional control character"
	case unicode.Is(unicode.Cc, r):
		return "a control character"
	case unicode.Is(unicode.Cf, r):
		return "an invisible format character"
	case unicode.Is(unicode.Z, r):
		return "a space or separator"
	case unicode.Is(unicode.Variation_Selector, r), unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r):
		return "an invisible character"
	case unicode.Is(unicode.Co, r):
		return "a private-use character"
	case unicode.Is(unicode.Noncharacter_Code_Point, r) || !assigned(r):
		return "an unassigned code point"
	}
	return ""
}

// assigned reports whether Unicode (as this Go release knows it) assigns
// r: it is in one of the general categories other than Cn.
func assigned(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// ValidateName checks a human-readable name: non-empty after trimming, at
// most MaxNameLen bytes, valid UTF-8, no control characters.
func ValidateName(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return Errorf(EINVALID, "%s is required", field)
	}
	if len(v) > MaxNameLen {
		return Errorf(EINVALID, "%s is %d bytes; the limit is %d", field, len(v), MaxNameLen)
	}
	if !utf8.ValidString(v) {
		return Errorf(EINVALID, "%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if r < ' ' || r == 0x7f {
			return Errorf(EINVALID, "%s must not contain control characters", field)
		}
	}
	return nil
}

// ValidateKey checks a machine name such as a feature name: 1 to
// MaxFeatureNameLen characters of [a-z0-9_.-], starting with a letter or digit.
func ValidateKey(field, v string) error {
	if v == "" {
		return Errorf(EINVALID, "%s is required", field)
	}
	if len(v) > MaxFeatureNameLen {
		return Errorf(EINVALID, "%s is %d bytes; the limit is %d", field, len(v), MaxFeatureNameLen)
	}
	for i, r := range v {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (i > 0 && (r == '_' || r == '-' || r == '.'))
		if !ok {
			return Errorf(EINVALID, "%s %q: use lower-case letters, digits, '_', '-' and '.', starting with a letter or digit", field, v)
		}
	}
	return nil
}

// MaxDuration is the longest duration anything in Licensor takes (about
// 106751 days, the range of time.Duration).
const MaxDuration = time.Duration(math.MaxInt64)

// ValidateDuration checks that d lies within [lo, hi]. The message gives the
// allowed range in the units a person uses (days for long durations) and
// never the value of a duration beyond the range, which may be one clamped
// on its way in and would only confuse.
func ValidateDuration(field string, d, lo, hi time.Duration) error {
	switch {
	case d < lo && d < 0:
		return Errorf(EINVALID, "%s must not be negative; it must be between %s and %s", field, fmtDuration(lo), fmtDuration(hi))
	case d < lo:
		return Errorf(EINVALID, "%s is %s, shorter than %s; it must be between %s and %s", field, fmtDuration(d), fmtDuration(lo), fmtDuration(lo), fmtDuration(hi))
	case d > hi:
		return Errorf(EINVALID, "%s is longer than %s; it must be between %s and %s", field, fmtDuration(hi), fmtDuration(lo), fmtDuration(hi))
	}
	return nil
}

// FormatDuration prints d for a person: whole days as "14d", a day or more
// as days with a fraction ("1.5d"), less than a day as Go prints it
// ("36m0s").
func FormatDuration(d time.Duration) string { return fmtDuration(d) }

func fmtDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d >= day && d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	case d >= day:
		return strconv.FormatFloat(float64(d)/float64(day), 'f', -1, 64) + "d"
	}
	return d.String()
}

// ListOptions pages through a list: at most Limit items after the cursor.
type ListOptions struct {
	Limit int    // 0 means DefaultListLimit; capped at MaxListLimit
	After string // cursor: the last id of the previous page
}

// Normalize returns opts with Limit defaulted and bounded.
func (o ListOptions) Normalize() (ListOptions, error) {
	if o.Limit < 0 {
		return o, Errorf(EINVALID, "page size must not be negative")
	}
	if o.Limit == 0 {
		o.Limit = DefaultListLimit
	}
	if o.Limit > MaxListLimit {
		o.Limit = MaxListLimit
	}
	if len(o.After) > MaxIDLen {
		return o, Errorf(EINVALID, "page token is %d bytes; the limit is %d", len(o.After), MaxIDLen)
	}
	return o, nil
}

// truncate shortens s to at most n bytes (on a character boundary) for
// quoting a caller's input back in a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
