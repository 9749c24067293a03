package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

func TestCheckoutWait(t *testing.T) {
	ctx := context.Background()
	gpu := func(n int64) licensor.Units { return licensor.Units{Feature: "gpu-export", Units: n} }
	for _, p := range []Protocol{GRPC, Connect} {
		t.Run(string(p), func(t *testing.T) {
			t.Run("GrantedWhenAUnitComesBack", func(t *testing.T) {
				e := newEnv(t, testserver.FixtureOptions{})
				pool := createPool(t, e.srv, e.f)
				cfg := e.config(t, "holder", "")
				cfg.Protocol = p
				holder := newClient(t, cfg)
				held, err := holder.Checkout(ctx, gpu(2))
				if err != nil {
					t.Fatalf("Checkout: %v", err)
				}
				cfg = e.config(t, "waiter", "")
				cfg.Protocol = p
				waiter := newClient(t, cfg)
				positions := make(chan int, 8)
				type result struct {
					l   *Lease
					err error
				}
				done := make(chan result, 1)
				go func() {
					l, err := waiter.CheckoutWait(ctx, Wait{For: time.Minute, OnPosition: func(n int) { positions <- n }}, gpu(1))
					done <- result{l, err}
				}()
				if got := <-positions; got != 1 {
					t.Fatalf("position: got %d, want 1", got)
				}
				if err := held.Return(ctx); err != nil {
					t.Fatalf("Return: %v", err)
				}
				r := <-done
				if r.err != nil {
					t.Fatalf("CheckoutWait: %v", r.err)
				}
				if r.l.Units()["gpu-export"] != 1 || r.l.Token() == "" {
					t.Fatalf("lease: got units %v, token %q; want gpu-export=1 and a token", r.l.Units(), r.l.Token())
				}
				if got := inUse(t, e.srv, e.f, pool); got != "gpu-export=1 solver=0" {
					t.Errorf("in use: got %s, want gpu-export=1 solver=0", got)
				}
				if err := r.l.Return(ctx); err != nil {
					t.Fatalf("Return the waited lease: %v", err)
				}
			})

			t.Run("TimesOut", func(t *testing.T) {
				e := newEnv(t, testserver.FixtureOptions{})
				createPool(t, e.srv, e.f)
				cfg := e.config(t, "holder", "")
				cfg.Protocol = p
				if _, err := newClient(t, cfg).Checkout(ctx, gpu(2)); err != nil {
					t.Fatalf("Checkout: %v", err)
				}
				cfg = e.config(t, "waiter", "")
				cfg.Protocol = p
				waiter := newClient(t, cfg)
				positions := make(chan int, 8)
				done := make(chan error, 1)
				go func() {
					_, err := waiter.CheckoutWait(ctx, Wait{For: 30 * time.Second, OnPosition: func(n int) { positions <- n }}, gpu(1))
					done <- err
				}()
				<-positions
				e.clock.Advance(31 * time.Second)
				err := <-done
				var to *TimedOutError
				var denied *DeniedError
				if !errors.As(err, &to) || !errors.As(err, &denied) || denied.Shortages[0].Feature != "gpu-export" {
					t.Fatalf("CheckoutWait: got %v, want a *TimedOutError wrapping the gpu-export shortage", err)
				}
			})

			t.Run("Refused", func(t *testing.T) {
				e := newEnv(t, testserver.FixtureOptions{})
				createPool(t, e.srv, e.f)
				cfg := e.config(t, "waiter", "")
				cfg.Protocol = p
				c := newClient(t, cfg)
				for _, tc := range []struct {
					name string
					wait time.Duration
				}{{"TooShort", time.Millisecond}, {"BeyondServerMax", 2 * time.Hour}} {
					t.Run(tc.name, func(t *testing.T) {
						_, err := c.CheckoutWait(ctx, Wait{For: tc.wait}, gpu(1))
						if licensor.ErrorCode(err) != licensor.EINVALID {
							t.Fatalf("got %v, want EINVALID", err)
						}
					})
				}
			})
		})
	}
}

func TestCheckoutOverage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testserver.FixtureOptions{})
	one := int64(1)
	if _, err := e.srv.Admin(testserver.GRPC, e.f.AdminToken).CreatePool(ctx, connect.NewRequest(&v1.CreatePoolRequest{
		CustomerId: e.f.CustomerID, Features: []*v1.PoolFeatureLimit{{Feature: "gpu-export", MaxUnits: 1, Overdraft: &one}},
	})); err != nil {
		t.Fatalf("CreatePool: %v", err)
	}
	c := newClient(t, e.config(t, "node-1", ""))
	l, err := c.Checkout(ctx, licensor.Units{Feature: "gpu-export", Units: 2})
	if err != nil {
		t.Fatalf("Checkout: %v", err)
	}
	if got := l.Overage(); got["gpu-export"] != 1 || len(got) != 1 {
		t.Fatalf("Overage: got %v, want gpu-export=1", got)
	}
}
