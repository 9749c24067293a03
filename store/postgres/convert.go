package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/licensor/licensor"
)

// micros is how a time is stored: Unix microseconds UTC, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros; it always returns UTC.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// norm returns t as the store keeps it: UTC, microsecond precision.
func norm(t time.Time) time.Time { return fromMicros(micros(t)) }

// stamp returns t normalised, or the store's clock when t is zero: creation
// and update times the caller left empty.
func (db *DB) stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = db.now()
	}
	return norm(t)
}

// claim returns the tenant ctx is scoped to and makes *tenantID agree with
// it: an empty TenantID is filled in; another tenant's is ENOTFOUND, since
// from inside this scope that tenant does not exist.
func claim(ctx context.Context, tenantID *string) (string, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return "", err
	}
	if *tenantID != "" && *tenantID != tid {
		return "", licensor.Errorf(licensor.ENOTFOUND, "tenant %s not found", *tenantID)
	}
	*tenantID = tid
	return tid, nil
}

// page normalises list options.
func page(o licensor.ListOptions) (licensor.ListOptions, error) { return o.Normalize() }

// nullable stores "" as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// jsonArg stores a nil RawMessage as NULL.
func jsonArg(m json.RawMessage) any {
	if m == nil {
		return nil
	}
	return string(m)
}

type scanner interface{ Scan(dest ...any) error }
