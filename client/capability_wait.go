package client

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
)

// Wait says how CheckoutWait waits for units the pool does not have free.
type Wait struct {
	// For is how long to wait in the pool's queue (at least a second, at
	// most the server's maximum: 10 minutes unless its operator set
	// another).
	For time.Duration
	// OnPosition, if set, is called with the request's place in the queue
	// (1: next) each time it changes, on the calling goroutine.
	OnPosition func(position int)
}

// TimedOutError is a checkout that waited in the queue for Wait.For and
// was not granted. The DeniedError says what was still short.
type TimedOutError struct {
	*DeniedError
}

func (e *TimedOutError) Error() string {
	return "licensor: waited in the queue until the wait ran out; " + e.DeniedError.Error()
}

// Unwrap returns the denial.
func (e *TimedOutError) Unwrap() error { return e.DeniedError }

// CheckoutWait is Checkout that waits, up to w.For, for units the pool
// does not have free now: the request joins the pool's first-come,
// first-served queue (shared by every server) and is granted when its turn
// comes and its units are free. w.OnPosition hears its place meanwhile. A
// wait that runs out is a *TimedOutError; cancelling ctx leaves the queue
// and returns ctx's error. Opening the wait is retried like Checkout's
// request (a surge, a server unreachable); a connection lost while
// waiting ends the wait with that error, and a new call queues anew.
func (c *Client) CheckoutWait(ctx context.Context, w Wait, units ...licensor.Units) (*Lease, error) {
	if w.For < time.Second {
		return nil, &Error{Stage: StageServer, Err: licensor.Errorf(licensor.EINVALID, "wait must be at least 1s, e.g. Wait{For: time.Minute}")}
	}
	rpc, err := c.capabilityClient()
	if err != nil {
		return nil, err
	}
	req := &v1.WaitCapabilitiesRequest{Request: c.capabilityRequest(units), Wait: durationpb.New(w.For)}
	for n := 1; ; n++ {
		sctx, ri := withRespInfo(ctx)
		res, timedOut, opened, err := c.waitOnce(sctx, rpc, req, w.OnPosition)
		if err == nil {
			if timedOut {
				return nil, &TimedOutError{DeniedError: denied(res)}
			}
			return c.leaseOf(ctx, rpc, res)
		}
		wcfg := c.cfg
		wcfg.Timeout = w.For // a wait that ends is the wait running out, not a slow server
		cerr := classify(sctx, err, wcfg, ri)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		switch licensor.ErrorCode(cerr) {
		case licensor.EEXHAUSTED, licensor.EUNAVAILABLE:
		default:
			return nil, cerr
		}
		if opened || n >= capabilityAttempts {
			return nil, cerr
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.cfg.After(c.backoff(n, licensor.RetryAfter(cerr))):
		}
	}
}

// waitOnce runs one WaitCapabilities stream to its answer. opened reports
// whether the server had placed the request in the queue (a failure after
// that is not retried: the place is lost).
func (c *Client) waitOnce(ctx context.Context, rpc interface {
	WaitCapabilities(context.Context, *connect.Request[v1.WaitCapabilitiesRequest]) (*connect.ServerStreamForClient[v1.WaitCapabilitiesResponse], error)
}, req *v1.WaitCapabilitiesRequest, onPosition func(int)) (res *v1.RequestCapabilitiesResponse, timedOut, opened bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // closing the stream leaves the queue
	st, err := rpc.WaitCapabilities(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, false, false, err
	}
	defer st.Close()
	for st.Receive() {
		m := st.Msg()
		if a := m.GetAnswer(); a != nil {
			return a, m.GetTimedOut(), true, nil
		}
		opened = true
		if onPosition != nil {
			onPosition(int(m.GetPosition()))
		}
	}
	if err = st.Err(); err == nil {
		err = licensor.Errorf(licensor.EUNAVAILABLE, "the server closed the wait without an answer")
	}
	return nil, false, opened, err
}
