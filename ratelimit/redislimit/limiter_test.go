package redislimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/ratelimit/redislimit"
)

const wait = 10 * time.Second

// client connects to LICENSOR_TEST_REDIS, or skips.
func client(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("LICENSOR_TEST_REDIS")
	if url == "" {
		t.Skip("set LICENSOR_TEST_REDIS=redis://127.0.0.1:6379/15 to run the Redis limiter suite; .ci/run does")
	}
	c, err := redislimit.Dial(context.Background(), url)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// prefix returns a key prefix of the test's own, whose keys are deleted
// when it ends.
func prefix(t *testing.T, c *redis.Client) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	p := "licensor-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, p+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return p
}

func inFlight(t *testing.T, l *redislimit.Limiter, tenant string) int {
	t.Helper()
	n, err := l.InFlight(context.Background(), tenant)
	if err != nil {
		t.Fatalf("InFlight: %v", err)
	}
	return n
}

func TestLimitHolds(t *testing.T) {
	c := client(t)
	l := redislimit.New(c, redislimit.Options{Prefix: prefix(t, c)})
	ctx := context.Background()
	var releases []func()
	for i := range 5 {
		release, err := l.Acquire(ctx, "ten_a", 5, 0)
		if err != nil {
			t.Fatalf("Acquire %d of 5: got error %v, want none", i, err)
		}
		releases = append(releases, release)
	}
	_, err := l.Acquire(ctx, "ten_a", 5, 0)
	if licensor.ErrorCode(err) != licensor.EEXHAUSTED || licensor.RetryAfter(err) <= 0 {
		t.Fatalf("Acquire 6 of 5: got %v (retry after %v), want %q with a retry hint", err, licensor.RetryAfter(err), licensor.EEXHAUSTED)
	}
	// Another tenant is not touched by this one's surge.
	other, err := l.Acquire(ctx, "ten_b", 1, 0)
	if err != nil {
		t.Fatalf("Acquire for another tenant: got error %v, want none", err)
	}
	other()
	releases[0]()
	releases[0]() // twice is harmless
	if got := inFlight(t, l, "ten_a"); got != 4 {
		t.Errorf("InFlight after one release: got %d, want 4", got)
	}
	release, err := l.Acquire(ctx, "ten_a", 5, 0)
	if err != nil {
		t.Fatalf("Acquire after a release: got error %v, want none", err)
	}
	release()
	for _, r := range releases[1:] {
		r()
	}
	if got := inFlight(t, l, "ten_a"); got != 0 {
		t.Errorf("InFlight after releasing all: got %d, want 0", got)
	}
}

func TestSharedAcrossServers(t *testing.T) {
	// Three servers (three limiters, three connections) on one Redis:
	// 120 concurrent requests for a limit of 10 → exactly 10 admitted.
	c := client(t)
	p := prefix(t, c)
	var ls []*redislimit.Limiter
	for range 3 {
		ls = append(ls, redislimit.New(client(t), redislimit.Options{Prefix: p}))
	}
	const n, limit = 120, 10
	var wg sync.WaitGroup
	var admitted, refused atomic.Int32
	releases := make(chan func(), n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			release, err := ls[i%3].Acquire(context.Background(), "ten_a", limit, 0)
			switch licensor.ErrorCode(err) {
			case "":
				admitted.Add(1)
				releases <- release
			case licensor.EEXHAUSTED:
				refused.Add(1)
			default:
				t.Errorf("Acquire: got error %v, want none or %q", err, licensor.EEXHAUSTED)
			}
		})
	}
	close(start)
	wg.Wait()
	close(releases)
	if admitted.Load() != limit || refused.Load() != n-limit {
		t.Errorf("got %d admitted and %d refused, want %d and %d", admitted.Load(), refused.Load(), limit, n-limit)
	}
	if got := inFlight(t, ls[0], "ten_a"); got != limit {
		t.Errorf("InFlight: got %d, want %d", got, limit)
	}
	for r := range releases {
		r()
	}
	if got := inFlight(t, ls[1], "ten_a"); got != 0 {
		t.Errorf("InFlight after releasing: got %d, want 0", got)
	}
}

func TestCrashedServerLeaksNoSlot(t *testing.T) {
	// Server A takes every slot and dies (its connection goes, nothing is
	// released or extended): the slots expire and server B gets them.
	c := client(t)
	p := prefix(t, c)
	opts := redislimit.Options{Prefix: p, SlotTTL: 300 * time.Millisecond}
	crashed := client(t)
	a := redislimit.New(crashed, opts)
	b := redislimit.New(c, opts)
	for i := range 3 {
		if _, err := a.Acquire(context.Background(), "ten_a", 3, 0); err != nil {
			t.Fatalf("Acquire %d on A: %v", i, err)
		}
	}
	crashed.Close()
	if _, err := b.Acquire(context.Background(), "ten_a", 3, 0); licensor.ErrorCode(err) != licensor.EEXHAUSTED {
		t.Fatalf("Acquire on B while A's slots live: got %v, want %q", err, licensor.EEXHAUSTED)
	}
	// B waits (generously) for the slots to expire: all three come back.
	for i := range 3 {
		release, err := b.Acquire(context.Background(), "ten_a", 3, wait)
		if err != nil {
			t.Fatalf("Acquire %d on B after A crashed: got error %v, want none", i, err)
		}
		defer release()
	}
}

func TestLongRequestKeepsItsSlot(t *testing.T) {
	// A request that outlives SlotTTL keeps its slot: it is extended.
	c := client(t)
	l := redislimit.New(c, redislimit.Options{Prefix: prefix(t, c), SlotTTL: 100 * time.Millisecond})
	release, err := l.Acquire(context.Background(), "ten_a", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	deadline := time.Now().Add(wait)
	for l.Extended() < 4 { // two whole lifetimes
		if time.Now().After(deadline) {
			t.Fatalf("extensions: got %d within %v, want 4", l.Extended(), wait)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, not timing
	}
	if got := inFlight(t, l, "ten_a"); got != 1 {
		t.Errorf("InFlight after two lifetimes: got %d, want 1", got)
	}
	if _, err := l.Acquire(context.Background(), "ten_a", 1, 0); licensor.ErrorCode(err) != licensor.EEXHAUSTED {
		t.Errorf("Acquire while the long request runs: got %v, want %q", err, licensor.EEXHAUSTED)
	}
}

func TestWaitForASlot(t *testing.T) {
	c := client(t)
	l := redislimit.New(c, redislimit.Options{Prefix: prefix(t, c)})
	ctx := context.Background()
	held, err := l.Acquire(ctx, "ten_a", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("TimesOut", func(t *testing.T) {
		_, err := l.Acquire(ctx, "ten_a", 1, 20*time.Millisecond)
		if licensor.ErrorCode(err) != licensor.EEXHAUSTED {
			t.Errorf("Acquire with a short wait: got %v, want %q", err, licensor.EEXHAUSTED)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := l.Acquire(cctx, "ten_a", 1, wait); err == nil {
			t.Errorf("Acquire with a cancelled context: got no error, want one")
		}
	})
	t.Run("GetsTheReleasedSlot", func(t *testing.T) {
		got := make(chan error, 1)
		go func() {
			release, err := l.Acquire(ctx, "ten_a", 1, wait)
			if err == nil {
				release()
			}
			got <- err
		}()
		held()
		if err := <-got; err != nil {
			t.Errorf("waiting Acquire: got error %v, want the released slot", err)
		}
	})
}

// countingFallback admits everything and counts.
type countingFallback struct{ n atomic.Int32 }

func (f *countingFallback) Acquire(context.Context, string, int, time.Duration) (func(), error) {
	f.n.Add(1)
	return func() {}, nil
}

func TestRedisDown(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer down.Close()
	t.Run("Fallback", func(t *testing.T) {
		fb := &countingFallback{}
		l := redislimit.New(down, redislimit.Options{Fallback: fb})
		release, err := l.Acquire(context.Background(), "ten_a", 5, 0)
		if err != nil {
			t.Fatalf("Acquire with Redis down and a fallback: got error %v, want none", err)
		}
		release()
		if fb.n.Load() != 1 {
			t.Errorf("fallback calls: got %d, want 1", fb.n.Load())
		}
	})
	t.Run("NoFallback", func(t *testing.T) {
		l := redislimit.New(down, redislimit.Options{})
		_, err := l.Acquire(context.Background(), "ten_a", 5, 0)
		if licensor.ErrorCode(err) != licensor.EUNAVAILABLE {
			t.Errorf("Acquire with Redis down: got %v, want %q", err, licensor.EUNAVAILABLE)
		}
		if msg := licensor.ErrorMessage(err); msg != "the concurrency limiter is unavailable; retry shortly" {
			t.Errorf("message: got %q, want the store's own words", msg)
		}
	})
	t.Run("DialFails", func(t *testing.T) {
		if _, err := redislimit.Dial(context.Background(), "redis://:s3cret@127.0.0.1:1/0"); err == nil {
			t.Errorf("Dial to a closed port: got no error, want one")
		}
		if _, err := redislimit.Dial(context.Background(), "not a url"); err == nil {
			t.Errorf("Dial of garbage: got no error, want one")
		}
	})
}
