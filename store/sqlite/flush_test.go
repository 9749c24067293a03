package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor/store"
)

// TestFlushHours: whichever statement the flush picks, the file ends with
// the hours of the times it wrote: a refresh within the hour (hours left
// out of the SET list), one into the next hour (hours set at once), and
// one the store took for within the hour while another writer of the file
// had moved the row to another hour (the same-hour statement finds no
// row; the full one writes it).
func TestFlushHours(t *testing.T) {
	for _, tc := range []struct {
		name  string
		other time.Duration // another writer's check-in, after wbT0; 0: none
		at    time.Duration // the refresh, after wbT0
	}{
		{"SameHour", 0, time.Minute},
		{"NextHour", 0, time.Hour},
		{"MovedByAnotherWriter", 2 * time.Hour, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db, _ := openTemp(t, WithFlushInterval(time.Hour))
			tctx, c := wbContract(t, db, 1)
			mustCheckin(t, db, tctx, wbCheckin(c.ID, "a", "h1", 0)) // new: remembered
			if tc.other != 0 {
				at := wbT0.Add(tc.other).UnixMicro()
				if _, err := db.w.ExecContext(ctx, `UPDATE instances SET last_seen_at = ?1, last_seen_hour = ?1 / 3600000000
					WHERE contract_id = ?2 AND instance_id = 'a'`, at, c.ID); err != nil {
					t.Fatal(err)
				}
			}
			mustCheckin(t, db, tctx, wbCheckin(c.ID, "a", "h1", tc.at))
			if !db.wb.queued(instKey{c.TenantID, c.ID, "a"}) {
				t.Fatal("refresh: got it written at once, want it queued")
			}
			if err := db.flushPending(); err != nil {
				t.Fatal(err)
			}
			var seen, seenHour, expires, expiresHour int64
			if err := db.r.QueryRowContext(ctx, `SELECT last_seen_at, last_seen_hour, license_expires_at, license_expires_hour
				FROM instances WHERE contract_id = ? AND instance_id = 'a'`, c.ID).Scan(&seen, &seenHour, &expires, &expiresHour); err != nil {
				t.Fatal(err)
			}
			if want := wbT0.Add(tc.at).UnixMicro(); seen != want || seenHour != store.HourOf(want) {
				t.Errorf("last seen: got %d in hour %d, want %d in hour %d", seen, seenHour, want, store.HourOf(want))
			}
			if want := wbT0.Add(tc.at + time.Hour).UnixMicro(); expires != want || expiresHour != store.HourOf(want) {
				t.Errorf("license expiry: got %d in hour %d, want %d in hour %d", expires, expiresHour, want, store.HourOf(want))
			}
		})
	}
}
