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
	codes  map[string]int64
	ok     atomic.Int64
	failed atomic.Int64
	refuse atomic.Int64
}

func newRecorder() *recorder {
	// 1 µs .. 10 min at 3 significant digits.
	return &recorder{hist: newHist(), codes: map[string]int64{}}
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
// closed-loop, and fills res.
func drive(ctx context.Context, cfg *Config, o op, res *Result) {
	rec := newRecorder()
	var issued atomic.Int64
	// next hands out sequence numbers until the request bound.
	next := func() (int64, bool) {
		n := issued.Add(1)
		return n - 1, cfg.Requests == 0 || n <= cfg.Requests
	}
	runCtx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	call := func(seq int64) error {
		// A call in flight when the run's time is up is allowed to finish
		// (bounded by Timeout): cutting it would count as an error.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Timeout)
		defer cancel()
		return o(cctx, seq)
	}
	start := time.Now()
	stopProgress := progress(cfg, start, rec)
	var wg sync.WaitGroup
	if cfg.Rate > 0 {
		res.Mode = "open"
		res.Rate = cfg.Rate
		type job struct {
			seq      int64
			intended time.Time
		}
		jobs := make(chan job)
		for range cfg.Concurrency {
			wg.Go(func() {
				for j := range jobs {
					err := call(j.seq)
					// From the intended send time: time spent waiting for
					// a free worker is latency the fleet would see.
					rec.record(time.Since(j.intended), err)
				}
			})
		}
		interval := time.Duration(float64(time.Second) / cfg.Rate)
	schedule:
		for i := int64(0); ; i++ {
			intended := start.Add(time.Duration(i) * interval)
			if d := time.Until(intended); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-runCtx.Done():
					t.Stop()
					break schedule
				case <-t.C:
				}
			}
			seq, ok := next()
			if !ok {
				break
			}
			select {
			case <-runCtx.Done():
				break schedule
			case jobs <- job{seq, intended}:
			}
		}
		close(jobs)
	} else {
		res.Mode = "closed"
		for range cfg.Concurrency {
			wg.Go(func() {
				for runCtx.Err() == nil {
					seq, ok := next()
					if !ok {
						return
					}
					t0 := time.Now()
					err := call(seq)
					rec.record(time.Since(t0), err)
				}
			})
		}
	}
	wg.Wait()
	stopProgress()
	res.Elapsed = time.Since(start)
	res.Concurrency = cfg.Concurrency
	res.Successes, res.Errors, res.Refusals = rec.ok.Load(), rec.failed.Load(), rec.refuse.Load()
	res.Requests = res.Successes + res.Errors
	if len(rec.codes) > 0 {
		res.ErrorsByCode = rec.codes
	}
	res.Latency = summarize(rec.hist)
	res.Throughput = float64(res.Successes) / res.Elapsed.Seconds()
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
				n := rec.ok.Load() + rec.failed.Load()
				rec.mu.Lock()
				p99 := float64(rec.hist.ValueAtQuantile(99)) / 1000
				rec.mu.Unlock()
				fmt.Fprintf(cfg.Progress, "\r%6.1fs  %9d done  %8.0f/s  %6d errors  p99 %7.2f ms ",
					now.Sub(start).Seconds(), n, float64(n-last)/now.Sub(lastAt).Seconds(), rec.failed.Load(), p99)
				last, lastAt = n, now
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
