package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// op is one measured operation; seq numbers the operations of a run.
type op func(ctx context.Context, seq int64) error

// recorder collects outcomes from every worker.
type recorder struct {
	mu     sync.Mutex
	hist   *hdrhistogram.Histogram
	win    *hdrhistogram.Histogram // since the last progress line
	codes  map[string]int64
	ok     atomic.Int64
	failed atomic.Int64
	refuse atomic.Int64
}

func newRecorder() *recorder {
	// 1 µs .. 10 min at 3 significant digits.
	return &recorder{hist: newHist(), win: newHist(), codes: map[string]int64{}}
}

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(10*time.Minute/time.Microsecond), 3)
}

func (r *recorder) record(d time.Duration, err error) {
	us := max(d.Microseconds(), 1)
	if err == nil {
		r.ok.Add(1)
	} else {
		r.failed.Add(1)
		if connect.CodeOf(err) == connect.CodeResourceExhausted {
			r.refuse.Add(1)
		}
	}
	r.mu.Lock()
	_ = r.hist.RecordValue(us) // beyond 10 min is clamped out; the count below still holds
	_ = r.win.RecordValue(us)
	if err != nil {
		r.codes[errorCode(err)]++
	}
	r.mu.Unlock()
}

// errorCode names an error by its status code ("unavailable",
// "deadline_exceeded", ...), or "client" for one that never reached the
// wire.
func errorCode(err error) string {
	if errors.Is(err, errShortage) {
		return "shortage"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.CodeDeadlineExceeded.String()
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Code().String()
	}
	return "client"
}

func summarize(h *hdrhistogram.Histogram) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{
		Count: h.TotalCount(),
		Mean:  h.Mean() / 1000,
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}

// drive runs o until the duration or request bound is reached, open- or
// closed-loop, and fills res. Operations that start during the warm-up
// run at the same pace but are not counted; the server's usage is taken
// from the end of the warm-up, and returned.
func drive(ctx context.Context, cfg *Config, o op, res *Result) *usage {
	rec := newRecorder()
	var seqs, measured atomic.Int64
	// next hands out sequence numbers; measured ones count toward the
	// request bound.
	next := func(measure bool) (int64, bool) {
		seq := seqs.Add(1) - 1
		if !measure {
			return seq, true
		}
		n := measured.Add(1)
		return seq, cfg.Requests == 0 || n <= cfg.Requests
	}
	runCtx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, cfg.Warmup+cfg.Duration)
		defer cancel()
	}
	call := func(seq int64) error {
		// A call in flight when the run's time is up is allowed to finish
		// (bounded by Timeout): cutting it would count as an error.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Timeout)
		defer cancel()
		return o(cctx, seq)
	}
	warmStart := time.Now()
	start := warmStart.Add(cfg.Warmup)
	var use *usage
	var useOnce sync.Once
	// measuring is called with each operation's start (its intended start
	// in an open loop) and tells whether it counts.
	measuring := func(at time.Time) bool {
		if at.Before(start) {
			return false
		}
		useOnce.Do(func() { use = startUsage(cfg.PID) })
		return true
	}
	stopProgress := progress(cfg, start, rec)
	var wg sync.WaitGroup
	if cfg.Rate > 0 {
		res.Mode = "open"
		res.Rate = cfg.Rate
		type job struct {
			seq      int64
			intended time.Time
			measure  bool
		}
		jobs := make(chan job)
		for range cfg.Concurrency {
			wg.Go(func() {
				for j := range jobs {
					err := call(j.seq)
					// From the intended send time: time spent waiting for
					// a free worker is latency the fleet would see.
					if j.measure {
						rec.record(time.Since(j.intended), err)
					}
				}
			})
		}
		interval := time.Duration(float64(time.Second) / cfg.Rate)
	schedule:
		for i := int64(0); ; i++ {
			intended := warmStart.Add(time.Duration(i) * interval)
			if d := time.Until(intended); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-runCtx.Done():
					t.Stop()
					break schedule
				case <-t.C:
				}
			}
			measure := measuring(intended)
			seq, ok := next(measure)
			if !ok {
				break
			}
			select {
			case <-runCtx.Done():
				break schedule
			case jobs <- job{seq, intended, measure}:
			}
		}
		close(jobs)
	} else {
		res.Mode = "closed"
		for range cfg.Concurrency {
			wg.Go(func() {
				for runCtx.Err() == nil {
					t0 := time.Now()
					measure := measuring(t0)
					seq, ok := next(measure)
					if !ok {
						return
					}
					err := call(seq)
					if measure {
						rec.record(time.Since(t0), err)
					}
				}
			})
		}
	}
	wg.Wait()
	stopProgress()
	res.Elapsed = time.Since(start)
	res.Warmup = cfg.Warmup
	res.Concurrency = cfg.Concurrency
	res.Successes, res.Errors, res.Refusals = rec.ok.Load(), rec.failed.Load(), rec.refuse.Load()
	res.Requests = res.Successes + res.Errors
	if len(rec.codes) > 0 {
		res.ErrorsByCode = rec.codes
	}
	res.Latency = summarize(rec.hist)
	res.Throughput = float64(res.Successes) / res.Elapsed.Seconds()
	return use
}

// progress writes a live line to cfg.Progress every ProgressEvery until the
// returned func is called.
func progress(cfg *Config, start time.Time, rec *recorder) func() {
	if cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(cfg.ProgressEvery)
		defer t.Stop()
		var last int64
		lastAt := start
		for {
			select {
			case <-done:
				fmt.Fprintln(cfg.Progress)
				return
			case now := <-t.C:
				if now.Before(start) {
					fmt.Fprintf(cfg.Progress, "\r%6.1fs  warming up ", now.Sub(start).Seconds())
					lastAt = now
					continue
				}
				n := rec.ok.Load() + rec.failed.Load()
				// The last interval's tail, not the run's: a stall shows in
				// the second it happened.
				rec.mu.Lock()
				p99 := float64(rec.win.ValueAtQuantile(99)) / 1000
				worst := float64(rec.win.Max()) / 1000
				rec.win.Reset()
				rec.mu.Unlock()
				fmt.Fprintf(cfg.Progress, "\r%6.1fs  %9d done  %8.0f/s  %6d errors  p99 %7.2f ms  max %7.2f ms ",
					now.Sub(start).Seconds(), n, float64(n-last)/now.Sub(lastAt).Seconds(), rec.failed.Load(), p99, worst)
				last, lastAt = n, now
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
