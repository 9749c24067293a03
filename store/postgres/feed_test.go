package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/store/postgres"
)

// wait is the generous deadline for a signal that must come.
const wait = 10 * time.Second

func receive(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatalf("%s: got no signal within %v, want one", what, wait)
	}
}

// drain empties a subscriber of the signal a (re)connection may have sent.
func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

func TestFeedAcrossServers(t *testing.T) {
	url, schema := pgtest.Schema(t)
	a := pgtest.OpenSchema(t, url, schema)
	b := pgtest.OpenSchema(t, url, schema)
	c := pgtest.OpenSchema(t, url, schema)
	subB, cancelB := b.ChangeFeed().Subscribe("ten_1", "con_1")
	defer cancelB()
	subC, cancelC := c.ChangeFeed().Subscribe("ten_1", "con_1")
	defer cancelC()
	<-b.ChangeFeed().Connected()
	<-c.ChangeFeed().Connected()
	drain(subB)
	drain(subC)

	if err := a.ChangeFeed().Publish(context.Background(), "ten_1", "con_1"); err != nil {
		t.Fatalf("Publish: got error %v, want none", err)
	}
	receive(t, "subscriber on server B", subB)
	receive(t, "subscriber on server C", subC)
	if got := b.ChangeFeed().Subscribers("ten_1", "con_1"); got != 1 {
		t.Errorf("Subscribers on B: got %d, want 1", got)
	}
	cancelB()
	cancelB() // twice is harmless
	if got := b.ChangeFeed().Subscribers("ten_1", "con_1"); got != 0 {
		t.Errorf("Subscribers on B after cancel: got %d, want 0", got)
	}
}

func TestFeedReconnectSignalsEveryone(t *testing.T) {
	// The listening connection is killed (a failover, a restart): the feed
	// reconnects and signals every subscriber once, since a change may have
	// been announced while it was deaf; afterwards it hears changes again.
	url, schema := pgtest.Schema(t)
	a := pgtest.OpenSchema(t, url, schema)
	b := pgtest.OpenSchema(t, url, schema)
	feed := b.ChangeFeed()
	sub1, cancel1 := feed.Subscribe("ten_1", "con_1")
	defer cancel1()
	sub2, cancel2 := feed.Subscribe("ten_2", "con_2")
	defer cancel2()
	<-feed.Connected()
	drain(sub1)
	drain(sub2)

	var killed int
	err := a.Pool().QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'licensor-feed' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, schema).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminate the listening connection: got %d killed, error %v, want 1 and none", killed, err)
	}
	receive(t, "subscriber 1 after the reconnection", sub1)
	receive(t, "subscriber 2 after the reconnection", sub2)

	if err := a.ChangeFeed().Publish(context.Background(), "ten_2", "con_2"); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	receive(t, "subscriber 2 after a publish on the new connection", sub2)
}

func TestFeedIdleConnectionStays(t *testing.T) {
	// An idle listening connection is checked now and then; a check that
	// passes keeps the connection (no reconnection, so no spurious signal
	// to every watcher), and notifications still arrive.
	defer postgres.SetFeedPingEvery(20 * time.Millisecond)()
	url, schema := pgtest.Schema(t)
	a := pgtest.OpenSchema(t, url, schema)
	b := pgtest.OpenSchema(t, url, schema)
	feed := b.ChangeFeed()
	sub, cancel := feed.Subscribe("ten_1", "con_1")
	defer cancel()
	<-feed.Connected()
	deadline := time.Now().Add(wait)
	for feed.Pings() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("idle checks: got %d within %v, want 3", feed.Pings(), wait)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not timing
	}
	if got := feed.Sessions(); got != 1 {
		t.Errorf("listening sessions after idle checks: got %d, want 1", got)
	}
	drain(sub)
	if err := a.ChangeFeed().Publish(context.Background(), "ten_1", "con_1"); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	receive(t, "subscriber after idle checks", sub)
}
