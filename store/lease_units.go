package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/licensor/licensor"
)

// A lease's units live in the lease's own row: a JSON object of feature
// name to units, keys sorted, e.g. {"gpu":2,"solver":3}. One column instead
// of a row per feature saves a statement per feature on every grant and
// return, and a read of them on every return; any SQL client can still
// read it.

// formatUnits returns the column value of units, sorted by feature.
func formatUnits(units []licensor.Units) string {
	us := units
	if !slices.IsSortedFunc(us, unitsByFeature) {
		us = slices.Clone(us)
		slices.SortFunc(us, unitsByFeature)
	}
	b := make([]byte, 0, 16*len(us)+2)
	b = append(b, '{')
	for i, u := range us {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(b, u.Feature)
		b = strconv.AppendInt(b, u.Units, 10)
	}
	return string(append(b, '}'))
}

// unitsKey returns how feature's key appears in a column value (with its
// colon), to find the leases holding a feature with a substring match.
func unitsKey(feature string) string { return string(appendKey(nil, feature)) }

func appendKey(b []byte, feature string) []byte {
	if plainUnits(feature) {
		b = append(b, '"')
		b = append(b, feature...)
		b = append(b, '"')
	} else {
		q, _ := json.Marshal(feature) // a string always marshals
		b = append(b, q...)
	}
	return append(b, ':')
}

// plain reports whether s is written as it is, with no escaping and
// nothing the fast parser splits on: every valid feature name
// (licensor.ValidateKey) is.
func plainUnits(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return s != ""
}

// parseUnits returns the units of a column value, sorted by feature.
func parseUnits(s string) ([]licensor.Units, error) {
	if us, ok := parsePlainUnits(s); ok {
		return us, nil
	}
	var m map[string]int64
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("lease units %q: %w", s, err)
	}
	us := make([]licensor.Units, 0, len(m))
	for f, n := range m {
		us = append(us, licensor.Units{Feature: f, Units: n})
	}
	slices.SortFunc(us, unitsByFeature)
	return us, nil
}

// parsePlain reads what Format writes for plain names, with no allocation
// beyond the result; anything else is left to encoding/json.
func parsePlainUnits(s string) ([]licensor.Units, bool) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, false
	}
	body := s[1 : len(s)-1]
	if body == "" {
		return nil, true
	}
	us := make([]licensor.Units, 0, strings.Count(body, ",")+1)
	for body != "" {
		var item string
		item, body, _ = strings.Cut(body, ",")
		if len(item) < 4 || item[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(item[1:], '"') + 1
		if end < 1 || end+1 >= len(item) || item[end+1] != ':' {
			return nil, false
		}
		name := item[1:end]
		if !plainUnits(name) {
			return nil, false
		}
		n, err := strconv.ParseInt(item[end+2:], 10, 64)
		if err != nil {
			return nil, false
		}
		us = append(us, licensor.Units{Feature: name, Units: n})
	}
	if !slices.IsSortedFunc(us, unitsByFeature) {
		slices.SortFunc(us, unitsByFeature)
	}
	return us, true
}

func unitsByFeature(a, b licensor.Units) int { return strings.Compare(a.Feature, b.Feature) }

// remainingUnits returns what is left of l after giving back units (nothing
// when units is empty: the whole lease goes back). A feature l does not
// hold, or more units than it holds, is EINVALID.
func remainingUnits(l *licensor.Lease, units []licensor.Units) ([]licensor.Units, error) {
	if len(units) == 0 {
		return nil, nil
	}
	back := make(map[string]int64, len(units))
	for _, u := range units {
		held := l.UnitsOf(u.Feature)
		switch {
		case held == 0:
			return nil, licensor.Errorf(licensor.EINVALID, "lease %s holds no units of %q", l.ID, u.Feature)
		case u.Units > held:
			return nil, licensor.Errorf(licensor.EINVALID, "lease %s holds %d units of %q; it cannot return %d", l.ID, held, u.Feature, u.Units)
		}
		back[u.Feature] = u.Units
	}
	var rest []licensor.Units
	for _, u := range l.Units {
		if n := u.Units - back[u.Feature]; n > 0 {
			rest = append(rest, licensor.Units{Feature: u.Feature, Units: n})
		}
	}
	return rest, nil
}
