package service

import (
	"context"
	"time"

	"github.com/licensor/licensor"
)

// Queue defaults.
const (
	// DefaultQueuePoll is how often a waiting request looks at its queue
	// when nothing wakes it: a safety net for a wakeup missed while a
	// server's change feed reconnected, and for units freed by the reaper
	// (which announces nothing).
	DefaultQueuePoll = 5 * time.Second
	// waiterRenewEvery is how often a waiting request renews its place
	// (licensor.WaiterTTL is how long one lasts unrenewed).
	waiterRenewEvery = licensor.WaiterTTL / 3
)

// QueueEvent is what happened to a waiting request, for metrics.
type QueueEvent string

// Queue events.
const (
	QueueJoined   QueueEvent = "joined"    // a request joined a pool's queue
	QueueGranted  QueueEvent = "granted"   // a waiting request was granted
	QueueTimedOut QueueEvent = "timed_out" // its wait ran out
	QueueLeft     QueueEvent = "left"      // the caller went away or the wait failed
)

// queueKey is the change-feed key that wakes the requests waiting in the
// queues of a customer's pools: units came back, or a waiter left.
func queueKey(customerID string) string { return "queue/" + customerID }

// wakeQueue announces to every server that the customer's queues may move.
// A failure only delays the waiters until their next poll.
func (s *Service) wakeQueue(ctx context.Context, tenantID, customerID string) {
	if err := s.feed.Publish(context.WithoutCancel(ctx), tenantID, queueKey(customerID)); err != nil {
		s.log.WarnContext(ctx, "announcing a queue change failed; waiters will poll", "err", err)
	}
}

func (s *Service) queueEvent(e QueueEvent) {
	if s.onQueue != nil {
		s.onQueue(e)
	}
}

// AllQueueLengths lists the pools of every tenant that have requests
// waiting (for the metrics scrape; operator-level, no scope).
func (s *Service) AllQueueLengths(ctx context.Context) ([]licensor.QueueLength, error) {
	return s.store.QueueLengths(ctx, s.now())
}

// QueueLengths returns the pools of a tenant with requests waiting, by
// pool id. Codes: EFORBIDDEN, ENOTFOUND.
func (s *Service) QueueLengths(ctx context.Context, tenantID string) (map[string]int, error) {
	ctx, _, err := s.AdminScope(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	qs, err := s.store.QueueLengths(ctx, s.now())
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(qs))
	for _, q := range qs {
		out[q.PoolID] = q.Waiting
	}
	return out, nil
}

// MaxWait returns the longest wait the service allows a request.
func (s *Service) MaxWait() time.Duration { return s.maxWait }

// WaitCapabilities is RequestCapabilities that waits, up to req.Wait, for
// units the pool does not have free now. The request is granted at once
// if it can be; otherwise it joins the pool's queue and is granted when it
// reaches the head and its units are free (first come, first served across
// every server sharing the store; on an express pool a request that fits
// passes the queue). position is called with its place in the queue (1:
// next) each time it changes; an error from it ends the wait. The answer
// is a grant, or when the wait runs out a denial with TimedOut set. When
// ctx ends first (the caller cancelled or went away) the request leaves
// the queue and ctx's error is returned.
// Codes: those of RequestCapabilities; EINVALID for a wait beyond the
// server's maximum, a preview or a request id (a wait is not retried: it
// ends with its stream).
func (s *Service) WaitCapabilities(ctx context.Context, req CapabilityRequest, position func(int) error) (*CapabilityAnswer, error) {
	if err := licensor.ValidateWait(req.Wait, s.maxWait); err != nil {
		return nil, err
	}
	switch {
	case req.Preview:
		return nil, licensor.Errorf(licensor.EINVALID, "a preview does not wait; send it with RequestCapabilities")
	case req.RequestID != "":
		return nil, licensor.Errorf(licensor.EINVALID, "request_id is not used with a wait: a wait ends with its stream, and a new stream waits anew")
	}
	ctx, pr, err := s.prepareTake(ctx, req)
	if err != nil {
		return nil, err
	}
	c := pr.contract
	// Subscribe before the first attempt, so that units freed between it
	// and joining the queue still wake this request.
	wake, unsubscribe := s.feed.Subscribe(c.TenantID, queueKey(c.CustomerID))
	defer unsubscribe()
	ans, err := s.take(ctx, pr.take)
	if err != nil || ans.Granted {
		return ans, err
	}
	now := s.now().UTC()
	w := &licensor.Waiter{
		ID: licensor.NewID("wtr"), PoolID: pr.pool.ID, ContractID: c.ID, InstanceID: req.InstanceID, Units: pr.take.Units,
		CreatedAt: now, Deadline: now.Add(req.Wait),
	}
	w.ExpiresAt = earliest(w.Deadline, now.Add(licensor.WaiterTTL))
	pos, err := s.store.EnqueueWaiter(ctx, w)
	if err != nil {
		return nil, err
	}
	s.queueEvent(QueueJoined)
	q := &queuedTake{s: s, pr: pr, w: w, wake: wake, position: position}
	ans, err = q.wait(ctx, pos, ans)
	if ans == nil || !ans.Granted {
		// Leave the queue whatever ended the wait (the grant removed the
		// waiter already), and let the ones behind move up.
		bg := context.WithoutCancel(ctx)
		if lerr := s.store.LeaveQueue(bg, w.PoolID, w.ID); lerr != nil {
			s.log.WarnContext(ctx, "leaving the queue failed; the waiter lapses by itself", "waiter", w.ID, "err", lerr)
		}
		s.wakeQueue(bg, c.TenantID, c.CustomerID)
	}
	return ans, err
}

// queuedTake is one request waiting in its pool's queue.
type queuedTake struct {
	s        *Service
	pr       *preparedTake
	w        *licensor.Waiter
	wake     <-chan struct{}
	position func(int) error
}

// wait tries the take each time the request may have reached the head of
// the queue, until it is granted, its deadline passes or ctx ends. last is
// the answer of the attempt before it joined.
func (q *queuedTake) wait(ctx context.Context, pos int, last *CapabilityAnswer) (*CapabilityAnswer, error) {
	s, w := q.s, q.w
	renewAt := w.CreatedAt.Add(waiterRenewEvery)
	reported := 0
	for {
		if pos != reported {
			if err := q.position(pos); err != nil {
				s.queueEvent(QueueLeft)
				return nil, err
			}
			reported = pos
		}
		if pos == 1 || q.pr.pool.Express {
			q.pr.at(s.now())
			t := q.pr.take
			t.WaiterID, t.WaiterSeq = w.ID, w.Seq
			ans, err := s.take(ctx, t)
			if err != nil {
				s.queueEvent(QueueLeft)
				return nil, err
			}
			if ans.Granted {
				s.queueEvent(QueueGranted)
				s.wakeQueue(ctx, q.pr.contract.TenantID, q.pr.contract.CustomerID)
				return ans, nil
			}
			last = ans
		}
		now := s.now()
		next := earliest(w.Deadline, earliest(renewAt, now.Add(s.queuePoll)))
		for _, sh := range last.Shortages {
			if r := sh.NextRelease; !r.IsZero() && r.After(now) && r.Before(next) {
				next = r // a lease runs out: its units may come to this request
			}
		}
		select {
		case <-ctx.Done():
			s.queueEvent(QueueLeft)
			return nil, ctx.Err()
		case <-q.wake:
		case <-s.after(next.Sub(now)):
		}
		now = s.now().UTC()
		if !now.Before(w.Deadline) {
			s.queueEvent(QueueTimedOut)
			last.TimedOut = true
			return last, nil
		}
		if !now.Before(renewAt) {
			if err := s.store.RenewWaiter(ctx, w.PoolID, w.ID, now, now.Add(licensor.WaiterTTL)); err != nil {
				s.queueEvent(QueueLeft)
				return nil, err
			}
			renewAt = now.Add(waiterRenewEvery)
		}
		var err error
		if pos, err = s.store.WaiterPosition(ctx, w.PoolID, w.ID, now); err != nil {
			s.queueEvent(QueueLeft)
			return nil, err
		}
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
