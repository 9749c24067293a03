package bench

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/rpcerr"
)

// Backoff decides, after a flow's attempt number attempt (1-based) failed
// with err, whether to try again and after how long.
type Backoff func(attempt int, err error) (wait time.Duration, retry bool)

// DefaultBackoff is the client library's retry policy (client/backoff.go)
// with its defaults: a random wait up to min(5 min, 1 s × 2^(attempt-1))
// ("full jitter"), never below 1 s; a retry hint from the server
// (Licensor-Retry-After-Ms, else Retry-After) is a floor, plus up to a
// tenth more so that every client told to wait does not come back at the
// same instant. Only errors a later attempt can cure are retried, up to 20
// attempts.
func DefaultBackoff() Backoff {
	const minWait, maxWait, maxHint, attempts = time.Second, 5 * time.Minute, time.Hour, 20
	return func(attempt int, err error) (time.Duration, bool) {
		if attempt >= attempts || !Retryable(err) {
			return 0, false
		}
		ceil := maxWait
		if attempt <= 32 {
			if d := minWait << (attempt - 1); d > 0 && d < ceil {
				ceil = d
			}
		}
		d := max(time.Duration(rand.Float64()*float64(ceil)), minWait)
		if hint := min(retryHint(err), maxHint); hint > 0 {
			if floor := hint + time.Duration(rand.Float64()*float64(hint/10)); d < floor {
				d = floor
			}
		}
		return d, true
	}
}

// retryHint is the wait the server asked for, as the client library reads
// it.
func retryHint(err error) time.Duration {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return 0
	}
	return rpcerr.RetryHint(ce.Meta())
}

// Retryable reports whether a later attempt may succeed where err failed.
func Retryable(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeResourceExhausted, connect.CodeUnavailable, connect.CodeDeadlineExceeded,
		connect.CodeAborted, connect.CodeUnknown:
		return true
	}
	return false
}

// surge sends SurgeInstances new instances, arriving spread uniformly over
// SurgeWindow, each retrying with cfg.Backoff until it is licensed or the
// deadline (from the start of the surge) passes. At most cfg.Concurrency
// calls are in flight.
func (f *fleet) surge(ctx context.Context, res *Result) error {
	cfg := f.cfg
	n := cfg.SurgeInstances
	rec := newRecorder()
	flows := newHist()
	var flowMu sync.Mutex
	var licensed, failed, attempts atomic.Int64
	var lastOK atomic.Int64 // ns since start of the latest success

	start := time.Now()
	deadline := start.Add(cfg.SurgeDeadline)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	stopProgress := progress(cfg, start, rec)
	inflight := make(chan struct{}, cfg.Concurrency)
	// Arrivals, in order: a flow's goroutine starts when its instance
	// comes back, not before. 100,000 goroutines parked from the start
	// made the generator, whose collector scans every stack, cost as much
	// CPU as the server it measured.
	arrivals := make([]time.Duration, n)
	if cfg.SurgeWindow > 0 {
		for i := range arrivals {
			arrivals[i] = rand.N(cfg.SurgeWindow)
		}
		slices.Sort(arrivals)
	}
	var wg sync.WaitGroup
	for i, at := range arrivals {
		arrival := start.Add(at)
		if !sleepUntil(dctx, arrival) {
			failed.Add(int64(n - i)) // the deadline passed before they came back
			break
		}
		wg.Go(func() {
			id := cfg.InstancePrefix + "surge-" + strconv.Itoa(i)
			lic := f.conn(int64(i))
			for attempt := 1; ; attempt++ {
				// One generator cannot hold 100,000 calls open the way
				// 100,000 machines can: at most Concurrency are in flight,
				// and the wait for a slot counts in the flow's latency.
				select {
				case inflight <- struct{}{}:
				case <-dctx.Done():
					failed.Add(1)
					return
				}
				cctx, ccancel := context.WithTimeout(dctx, cfg.Timeout)
				t0 := time.Now()
				err := lic.GetLicense(cctx, &v1.GetLicenseRequest{ContractId: cfg.ContractID, InstanceId: id})
				ccancel()
				<-inflight
				attempts.Add(1)
				rec.record(time.Since(t0), err)
				if err == nil {
					licensed.Add(1)
					now := time.Since(start)
					for {
						old := lastOK.Load()
						if int64(now) <= old || lastOK.CompareAndSwap(old, int64(now)) {
							break
						}
					}
					flowMu.Lock()
					_ = flows.RecordValue(max(time.Since(arrival).Microseconds(), 1))
					flowMu.Unlock()
					return
				}
				wait, retry := cfg.Backoff(attempt, err)
				if !retry || !sleepUntil(dctx, time.Now().Add(wait)) {
					failed.Add(1)
					return
				}
			}
		})
	}
	wg.Wait()
	stopProgress()
	res.Mode = "surge"
	res.Elapsed = time.Since(start)
	res.Successes, res.Errors, res.Refusals = rec.ok.Load(), rec.failed.Load(), rec.refuse.Load()
	res.Requests = res.Successes + res.Errors
	if len(rec.codes) > 0 {
		res.ErrorsByCode = rec.codes
	}
	res.Latency = summarize(rec.hist)
	res.Throughput = float64(res.Successes) / res.Elapsed.Seconds()
	sr := &SurgeResult{Instances: n, Licensed: licensed.Load(), Failed: failed.Load(),
		Attempts: attempts.Load(), Refused: rec.refuse.Load(), FlowLatency: summarize(flows)}
	if sr.Licensed == int64(n) {
		sr.AllLicensedAfter = time.Duration(lastOK.Load())
	}
	res.Surge = sr
	return nil
}

// sleepUntil waits until t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}
