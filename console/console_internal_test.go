package console

import (
	"slices"
	"strings"
	"testing"
	"time"

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

// TestSessionsExpire: a session ends at its TTL; a full table drops the
// expired first, then the oldest; a forged or overlong cookie finds none.
func TestSessionsExpire(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	ss := newSessions(func() time.Time { return now }, time.Hour)
	ss.max = 2
	a := ss.create(&session{})
	if ss.get(a) == nil {
		t.Fatal("a new session is not found")
	}
	if ss.get("forged") != nil || ss.get(strings.Repeat("x", 101)) != nil {
		t.Error("a forged cookie found a session")
	}
	now = now.Add(time.Hour)
	if ss.get(a) != nil {
		t.Error("a session is found at its TTL")
	}
	b := ss.create(&session{})
	now = now.Add(time.Minute)
	c := ss.create(&session{})
	d := ss.create(&session{}) // full: the oldest (b) goes
	if ss.get(b) != nil || ss.get(c) == nil || ss.get(d) == nil {
		t.Errorf("a full table: b %v, c %v, d %v; want the oldest dropped", ss.get(b) != nil, ss.get(c) != nil, ss.get(d) != nil)
	}
	now = now.Add(2 * time.Hour)
	ss.create(&session{}) // full of expired sessions: both go
	if len(ss.m) != 1 {
		t.Errorf("a full table of expired sessions: %d kept, want only the new one", len(ss.m))
	}
}
