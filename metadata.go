package licensor

import (
	"sort"
	"unicode/utf8"
)

// Metadata bounds: enough for a CRM id, a region, an account manager; not
// a document store.
const (
	MaxMetadataEntries  = 32
	MaxMetadataKeyLen   = 64
	MaxMetadataValueLen = 512
)

// Metadata is free-form vendor data kept on a customer or a contract:
// keys of 1 to MaxMetadataKeyLen bytes of [a-z0-9_.-], values of at most
// MaxMetadataValueLen bytes of UTF-8 without control characters, at most
// MaxMetadataEntries entries. It never reaches a license.
type Metadata map[string]string

// ValidateMetadata checks m, the metadata of what (e.g. "customer"),
// reporting the first bad key in key order, so that the same input always
// gives the same message.
func ValidateMetadata(what string, m Metadata) error {
	if len(m) > MaxMetadataEntries {
		return Errorf(EINVALID, "%s metadata has %d entries; the limit is %d", what, len(m), MaxMetadataEntries)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" {
			return Errorf(EINVALID, "%s metadata has an empty key", what)
		}
		if len(k) > MaxMetadataKeyLen {
			return Errorf(EINVALID, "%s metadata key %.20q… is %d bytes; the limit is %d", what, k, len(k), MaxMetadataKeyLen)
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
				return Errorf(EINVALID, "%s metadata key %q: use lower-case letters, digits, '_', '.' and '-'", what, truncate(k, MaxMetadataKeyLen))
			}
		}
		v := m[k]
		if len(v) > MaxMetadataValueLen {
			return Errorf(EINVALID, "%s metadata %q is %d bytes; the limit is %d", what, k, len(v), MaxMetadataValueLen)
		}
		if !utf8.ValidString(v) {
			return Errorf(EINVALID, "%s metadata %q is not valid UTF-8", what, k)
		}
		for _, r := range v {
			if r < ' ' || r == 0x7f {
				return Errorf(EINVALID, "%s metadata %q must not contain control characters", what, k)
			}
		}
	}
	return nil
}
