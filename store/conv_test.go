package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func TestTimes(t *testing.T) {
	local := time.Date(2030, 1, 2, 3, 4, 5, 6789, time.FixedZone("x", 3600))
	if got := Micros(time.Time{}); got != 0 {
		t.Errorf("Micros(zero): got %d, want 0", got)
	}
	if got := FromMicros(0); !got.IsZero() {
		t.Errorf("FromMicros(0): got %v, want the zero time", got)
	}
	n := Norm(local)
	if n.Location() != time.UTC || !n.Equal(local.Truncate(time.Microsecond)) || FromMicros(Micros(local)) != n {
		t.Errorf("Norm: got %v, want %v in UTC to the microsecond", n, local)
	}
	now := func() time.Time { return local }
	if got := Stamp(time.Time{}, now); got != n {
		t.Errorf("Stamp(zero): got %v, want the clock's %v", got, n)
	}
	other := local.Add(time.Hour)
	if got := Stamp(other, now); got != Norm(other) {
		t.Errorf("Stamp(t): got %v, want t normalised", got)
	}
}

func TestText(t *testing.T) {
	if got := FieldList(nil); got != "[]" {
		t.Errorf("FieldList(nil): got %q, want []", got)
	}
	if got := FieldList([]string{"host", "ip"}); got != `["host","ip"]` {
		t.Errorf("FieldList: got %q", got)
	}
	if got := EventTypes([]licensor.AlertType{"a", "b"}); got != "a b" {
		t.Errorf("EventTypes: got %q, want %q", got, "a b")
	}
	if got := Nullable(""); got != nil {
		t.Errorf("Nullable(\"\"): got %v, want nil", got)
	}
	if got := Qualify("i.", "a, b,\n\tc"); got != "i.a, i.b, i.c" {
		t.Errorf("Qualify: got %q", got)
	}
	var tel *licensor.Telemetry
	if err := Telemetry("", &tel); err != nil || tel != nil {
		t.Errorf("Telemetry(\"\"): got %v, %v, want nil, nil", tel, err)
	}
	if err := Telemetry(`{"app_name":"shop"}`, &tel); err != nil || tel == nil || tel.AppName != "shop" {
		t.Errorf("Telemetry: got %+v, %v", tel, err)
	}
	if err := Telemetry(`{`, &tel); err == nil {
		t.Errorf("Telemetry of broken JSON: got no error, want one")
	}
}

// fakeRows yields one int per row, then err.
type fakeRows struct {
	vals []int
	i    int
	err  error
}

func (r *fakeRows) Next() bool { r.i++; return r.i <= len(r.vals) }
func (r *fakeRows) Err() error { return r.err }
func (r *fakeRows) Scan(dest ...any) error {
	*dest[0].(*int) = r.vals[r.i-1]
	return nil
}

func TestAll(t *testing.T) {
	scan := func(s Scanner) (int, error) {
		var v int
		err := s.Scan(&v)
		if v < 0 {
			return 0, errors.New("negative")
		}
		return v, err
	}
	if got, err := All(&fakeRows{vals: []int{1, 2, 3}}, scan); err != nil || !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("All: got %v, %v, want [1 2 3]", got, err)
	}
	if got, err := All(&fakeRows{vals: []int{1, -1}}, scan); err == nil || got != nil {
		t.Errorf("All with a bad row: got %v, %v, want nil and the error", got, err)
	}
	ended := errors.New("connection lost")
	if got, err := All(&fakeRows{vals: []int{1}, err: ended}, scan); !errors.Is(err, ended) || !slices.Equal(got, []int{1}) {
		t.Errorf("All on a broken result: got %v, %v, want what was read and the error", got, err)
	}
}
