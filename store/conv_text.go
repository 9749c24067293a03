package store

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/licensor/licensor"
)

// Nullable stores "" as NULL: an optional reference (a pool's contract, a
// token's tenant) that must not point at a row with an empty id.
func Nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// FieldList is how a tenant's dropped telemetry fields are stored: a JSON
// array, never null.
func FieldList(fs []string) string {
	if len(fs) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(fs)
	return string(b)
}

// EventTypes is how a webhook's event filter is stored: space-separated,
// empty for every type.
func EventTypes(ts []licensor.AlertType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, " ")
}

// Telemetry decodes an instance's stored latest telemetry into *dst: nil
// for "" (none reported).
func Telemetry(s string, dst **licensor.Telemetry) error {
	if s == "" {
		*dst = nil
		return nil
	}
	var t licensor.Telemetry
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return fmt.Errorf("stored telemetry: %w", err)
	}
	*dst = &t
	return nil
}

// Qualify prefixes each column of a column list with alias ("i.").
func Qualify(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// MetadataText is how a customer's or a contract's metadata is stored: a
// JSON object, "{}" for none.
func MetadataText(m licensor.Metadata) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(map[string]string(m))
	return string(b)
}

// ParseMetadata decodes stored metadata into *dst: nil for "{}" or "", so
// that a contract read on the license path costs no decoding.
func ParseMetadata(s string, dst *licensor.Metadata) error {
	if s == "" || s == "{}" {
		*dst = nil
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return fmt.Errorf("stored metadata: %w", err)
	}
	*dst = m
	return nil
}
