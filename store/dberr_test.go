package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

func TestTranslate(t *testing.T) {
	cause := errors.New("UNIQUE constraint failed: products.name")
	m := Messages{PrimaryKey: "taken", Unique: "name taken", ForeignKey: "tenant missing"}
	for _, tc := range []struct {
		name     string
		m        Messages
		c        Constraint
		wantCode string
		wantMsg  string
	}{
		{"PrimaryKey", m, PrimaryKey, licensor.ECONFLICT, "taken"},
		{"Unique", m, Unique, licensor.ECONFLICT, "name taken"},
		{"ForeignKey", m, ForeignKey, licensor.ENOTFOUND, "tenant missing"},
		{"NoConstraint", m, NoConstraint, "", ""},
		{"NoWords", Messages{PrimaryKey: "taken"}, Unique, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.Translate(cause, tc.c)
			if tc.wantCode == "" {
				if err != cause {
					t.Fatalf("got %v, want the cause unchanged", err)
				}
				return
			}
			var de *licensor.Error
			if !errors.As(err, &de) || de.Code != tc.wantCode || de.Message != tc.wantMsg {
				t.Fatalf("got %#v, want code %s, message %q", err, tc.wantCode, tc.wantMsg)
			}
			if !errors.Is(err, cause) {
				t.Errorf("got %v, want it to wrap the driver's error", err)
			}
		})
	}
	if err := m.Translate(nil, NoConstraint); err != nil {
		t.Errorf("Translate(nil): got %v, want nil", err)
	}
}

func TestFinal(t *testing.T) {
	busy := errors.New("database is locked")
	transient := func(err error) bool { return errors.Is(err, busy) }
	domain := licensor.Errorf(licensor.ENOTFOUND, "pool p not found")
	for _, tc := range []struct {
		name     string
		err      error
		wantCode string
	}{
		{"Nil", nil, ""},
		{"Domain", domain, licensor.ENOTFOUND},
		{"Transient", busy, licensor.EUNAVAILABLE},
		{"Other", errors.New("disk I/O error"), licensor.EINTERNAL},
		{"Canceled", context.Canceled, licensor.EINTERNAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Final("GetPool", tc.err, transient, "retry shortly")
			if got := licensor.ErrorCode(err); err != nil && got != tc.wantCode || err == nil && tc.wantCode != "" {
				t.Fatalf("got %v (code %q), want code %q", err, got, tc.wantCode)
			}
			var de *licensor.Error
			switch {
			case tc.wantCode == licensor.EUNAVAILABLE && (!errors.As(err, &de) || de.Message != "retry shortly" || de.RetryAfter != time.Second):
				t.Errorf("got %#v, want the unavailable message and a retry hint of 1s", err)
			case tc.wantCode == licensor.EINTERNAL && (!errors.As(err, &de) || de.Message != "internal error" || !errors.Is(err, tc.err)):
				t.Errorf("got %#v, want a generic message that keeps the cause", err)
			case tc.name == "Domain" && err != domain:
				t.Errorf("got %v, want the domain error unchanged", err)
			}
		})
	}
}
