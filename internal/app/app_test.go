package app_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/app"
	"github.com/licensor/licensor/internal/signing"
)

// closeCounter is a store that only counts its closes.
type closeCounter struct {
	licensor.Store
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

func newSealer(t *testing.T) *signing.Sealer {
	t.Helper()
	s, err := signing.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestNewOwnsTheStore: from New on the App owns the store, so a New that
// fails closes it, and so does Close, once however often it is called.
func TestNewOwnsTheStore(t *testing.T) {
	ctx := context.Background()
	t.Run("MissingTLS", func(t *testing.T) {
		st := &closeCounter{}
		if _, err := app.New(ctx, app.Config{Store: st, Sealer: newSealer(t)}); err == nil {
			t.Fatal("New without TLS: got no error, want one")
		}
		if st.closed != 1 {
			t.Errorf("store closed %d times, want 1", st.closed)
		}
	})
	t.Run("BadRedis", func(t *testing.T) {
		st := &closeCounter{}
		_, err := app.New(ctx, app.Config{Store: st, Sealer: newSealer(t), TLS: &tls.Config{}, Redis: "not a url"})
		if err == nil {
			t.Fatal("New with a bad Redis URL: got no error, want one")
		}
		if st.closed != 1 {
			t.Errorf("store closed %d times, want 1", st.closed)
		}
	})
	t.Run("CloseWithoutStart", func(t *testing.T) {
		st := &closeCounter{}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.New(ctx, app.Config{Store: st, Sealer: newSealer(t), TLS: &tls.Config{}, Listener: ln})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := a.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
		if st.closed != 1 {
			t.Errorf("store closed %d times, want 1", st.closed)
		}
		if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("listener after Close: Accept got %v, want net.ErrClosed", err)
		}
	})
}
