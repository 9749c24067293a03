package licensor

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
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
// contract id): non-empty, at most MaxIDLen bytes, printable, no spaces.
func ValidateID(field, v string) error {
	if v == "" {
		return Errorf(EINVALID, "%s is required", field)
	}
	if len(v) > MaxIDLen {
		return Errorf(EINVALID, "%s is %d bytes; the limit is %d", field, len(v), MaxIDLen)
	}
	if !utf8.ValidString(v) {
		return Errorf(EINVALID, "%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f {
			return Errorf(EINVALID, "%s must not contain spaces or control characters", field)
		}
	}
	return nil
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

// ValidateDuration checks that d lies within [lo, hi].
func ValidateDuration(field string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return Errorf(EINVALID, "%s is %s; it must be between %s and %s", field, d, fmtDuration(lo), fmtDuration(hi))
	}
	return nil
}

func fmtDuration(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
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
