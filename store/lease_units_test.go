package store

import (
	"fmt"
	"strings"
	"testing"

	"github.com/licensor/licensor"
)

func TestUnitsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		units []licensor.Units
		want  string
	}{
		{"One", []licensor.Units{{Feature: "solver", Units: 1}}, `{"solver":1}`},
		{"Sorted", []licensor.Units{{Feature: "solver", Units: 3}, {Feature: "gpu-export", Units: 2}}, `{"gpu-export":2,"solver":3}`},
		{"Dots", []licensor.Units{{Feature: "v2.cad_x", Units: 1_000_000}}, `{"v2.cad_x":1000000}`},
		{"None", nil, `{}`},
		{"Escaped", []licensor.Units{{Feature: `a"b,c:d`, Units: 4}, {Feature: "z", Units: 5}}, `{"a\"b,c:d":4,"z":5}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := formatUnits(tc.units)
			if got != tc.want {
				t.Fatalf("Format: got %s, want %s", got, tc.want)
			}
			back, err := parseUnits(got)
			if err != nil {
				t.Fatalf("parseUnits(%s): got error %v, want none", got, err)
			}
			if fmt.Sprint(back) != fmt.Sprint(sortedCopy(tc.units)) {
				t.Errorf("parseUnits(%s): got %v, want %v", got, back, sortedCopy(tc.units))
			}
			for _, u := range tc.units {
				if !strings.Contains(got, unitsKey(u.Feature)) {
					t.Errorf("unitsKey(%q) = %s: not found in %s", u.Feature, unitsKey(u.Feature), got)
				}
			}
		})
	}
}

func TestParseUnitsOther(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{ "solver" : 2 }`, "[{solver 2}]"},
		{`{"solver":2,"gpu":1}`, "[{gpu 1} {solver 2}]"},
	} {
		got, err := parseUnits(tc.in)
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("parseUnits(%s): got %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{``, `[]`, `{"solver":"x"}`, `{"solver":1`} {
		if _, err := parseUnits(bad); err == nil {
			t.Errorf("parseUnits(%q): got no error, want one", bad)
		}
	}
	if strings.Contains(`{"xsolver":1}`, unitsKey("solver")) {
		t.Errorf("unitsKey(solver) matches the key xsolver")
	}
}

func TestRemaining(t *testing.T) {
	l := &licensor.Lease{ID: "lea_1", Units: []licensor.Units{{Feature: "gpu", Units: 2}, {Feature: "solver", Units: 3}}}
	for _, tc := range []struct {
		name string
		back []licensor.Units
		want string
		code string
	}{
		{"All", nil, "[]", ""},
		{"Some", []licensor.Units{{Feature: "solver", Units: 1}}, "[{gpu 2} {solver 2}]", ""},
		{"AFeature", []licensor.Units{{Feature: "gpu", Units: 2}}, "[{solver 3}]", ""},
		{"Everything", []licensor.Units{{Feature: "gpu", Units: 2}, {Feature: "solver", Units: 3}}, "[]", ""},
		{"TooMany", []licensor.Units{{Feature: "solver", Units: 4}}, "", licensor.EINVALID},
		{"NotHeld", []licensor.Units{{Feature: "cad", Units: 1}}, "", licensor.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := remainingUnits(l, tc.back)
			if code := licensor.ErrorCode(err); code != tc.code {
				t.Fatalf("error: got %v (code %q), want code %q", err, code, tc.code)
			}
			if err == nil && fmt.Sprint(got) != tc.want {
				t.Errorf("got %v, want %s", got, tc.want)
			}
		})
	}
}

func sortedCopy(us []licensor.Units) []licensor.Units {
	out := append([]licensor.Units(nil), us...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].Feature < out[i].Feature {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func BenchmarkParseUnits(b *testing.B) {
	s := formatUnits([]licensor.Units{{Feature: "solver", Units: 1}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseUnits(s); err != nil {
			b.Fatal(err)
		}
	}
}
