package console

import (
	"slices"
	"testing"

	"github.com/licensor/licensor"
)

func TestIsLocal(t *testing.T) {
	for _, tc := range []struct {
		p    string
		want bool
	}{
		{"/", true}, {"/console/contracts/con_1", true}, {"/console/audit?object_type=contract&after=aud_1", true},
		{"", false}, {"console", false}, {"//evil.example", false}, {"/\\evil.example", false},
		{"/\t/evil.example", false}, {"/\n/evil.example", false}, {"https://evil.example/", false}, {"/a\\b", false},
	} {
		if got := isLocal(tc.p); got != tc.want {
			t.Errorf("isLocal(%q) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestParseEntitlements(t *testing.T) {
	es, err := parseEntitlements(" solver = 8, reporting\ngpu=2,, ")
	if err != nil {
		t.Fatal(err)
	}
	want := []licensor.Entitlement{{Feature: "solver", Count: 8}, {Feature: "reporting"}, {Feature: "gpu", Count: 2}}
	if !slices.Equal(es, want) {
		t.Fatalf("got %+v, want %+v", es, want)
	}
	for _, bad := range []string{"solver=0", "solver=x", "solver=-1"} {
		if _, err := parseEntitlements(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseMetadata(t *testing.T) {
	md, err := parseMetadata("crm = 4711\n\nregion=eu=west\n")
	if err != nil {
		t.Fatal(err)
	}
	if md["crm"] != "4711" || md["region"] != "eu=west" || len(md) != 2 {
		t.Fatalf("got %v", md)
	}
	if got := formatMetadata(md); got != "crm=4711\nregion=eu=west\n" {
		t.Fatalf("formatted %q", got)
	}
	if _, err := parseMetadata("no equals sign"); err == nil {
		t.Fatal("a line without = is accepted")
	}
}
