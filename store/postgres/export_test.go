package postgres

import (
	"context"
	"time"
)

// SetFeedPingEvery sets how often new feeds check an idle connection and
// returns a func that restores the default.
func SetFeedPingEvery(d time.Duration) func() {
	old := feedPingEvery
	feedPingEvery = d
	return func() { feedPingEvery = old }
}

// Sessions returns how many times the feed has started listening.
func (f *Feed) Sessions() int64 { return f.sessions.Load() }

// Pings returns how many idle checks of the listening connection passed.
func (f *Feed) Pings() int64 { return f.pings.Load() }

// RelaxedSetting returns synchronous_commit as the refresh connections see it.
func (db *DB) RelaxedSetting(ctx context.Context) (string, error) {
	var v string
	err := db.relaxed.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&v)
	return v, err
}
