package signing

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/licensor/licensor"
)

// appendClaims appends c as JSON, byte for byte what encoding/json.Marshal
// writes for licensor.Claims (field order, omitempty, sorted feature keys,
// the same string escaping), without reflection: the claims are encoded
// once per license, on the hot path of GetLicense. A feature value of a
// type other than bool, int64, int or float64 falls back to
// encoding/json for that value.
func appendClaims(b []byte, c *licensor.Claims) ([]byte, error) {
	b = append(b, `{"iss":`...)
	b = appendJSONString(b, c.Issuer)
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, c.Subject)
	b = append(b, `,"jti":`...)
	b = appendJSONString(b, c.ID)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.IssuedAt, 10)
	b = append(b, `,"nbf":`...)
	b = strconv.AppendInt(b, c.NotBefore, 10)
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, c.Expiry, 10)
	b = append(b, `,"contract":`...)
	b = appendJSONString(b, c.Contract)
	b = append(b, `,"customer":`...)
	b = appendJSONString(b, c.Customer)
	if c.Product != "" {
		b = append(b, `,"product":`...)
		b = appendJSONString(b, c.Product)
	}
	b = append(b, `,"features":`...)
	var err error
	if b, err = appendFeatures(b, c.Features); err != nil {
		return nil, err
	}
	b = append(b, `,"refresh_after":`...)
	b = strconv.AppendInt(b, c.RefreshAfter, 10)
	b = append(b, `,"fallback":`...)
	b = appendJSONString(b, string(c.FallbackRule))
	if c.FallbackCutoff != 0 {
		b = append(b, `,"fallback_cutoff":`...)
		b = strconv.AppendInt(b, c.FallbackCutoff, 10)
	}
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, c.Kind)
	if c.ContractVersion != 0 {
		b = append(b, `,"contract_version":`...)
		b = strconv.AppendInt(b, c.ContractVersion, 10)
	}
	if c.Environment != "" {
		b = append(b, `,"environment":`...)
		b = appendJSONString(b, c.Environment)
	}
	if c.Seat != nil {
		b = append(b, `,"seat":`...)
		b = strconv.AppendBool(b, *c.Seat)
	}
	if c.Confirmation != nil {
		b = append(b, `,"cnf":{"jkt":`...)
		b = appendJSONString(b, c.Confirmation.JKT)
		b = append(b, '}')
	}
	if c.Fingerprint != "" {
		b = append(b, `,"fingerprint":`...)
		b = appendJSONString(b, c.Fingerprint)
	}
	return append(b, '}'), nil
}

// appendFeatures writes the features object with its keys sorted, as
// encoding/json does for a map; a nil map is null.
func appendFeatures(b []byte, fs map[string]any) ([]byte, error) {
	if fs == nil {
		return append(b, "null"...), nil
	}
	var small [16]string
	keys := small[:0]
	for k := range fs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		switch v := fs[k].(type) {
		case bool:
			b = strconv.AppendBool(b, v)
		case int64:
			b = strconv.AppendInt(b, v, 10)
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		default:
			// float64 (a decoded license re-signed), json.Number, anything
			// else: let encoding/json decide, so the output stays its own.
			vb, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			b = append(b, vb...)
		}
	}
	return append(b, '}'), nil
}

// appendJSONString appends s quoted as encoding/json quotes it (with its
// default HTML escaping). Plain printable ASCII, the whole of every id and
// name Licensor writes, is copied as is; anything else goes through
// encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
