package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/signing"
)

// Dispatcher defaults.
const (
	DefaultPollInterval   = time.Second
	DefaultConcurrency    = 8
	DefaultRequestTimeout = 10 * time.Second
)

// Attempt is one delivery attempt, for metrics.
type Attempt struct {
	TenantID  string
	EventType licensor.AlertType
	OK        bool
	GaveUp    bool // this failure ended the delivery
	// Refused: the webhook policy refused the destination; nothing was sent.
	Refused bool
	Latency time.Duration
}

// DispatcherConfig wires a Dispatcher.
type DispatcherConfig struct {
	Store  licensor.Store
	Sealer *signing.Sealer
	Now    func() time.Time // default time.Now
	// Egress sends the requests; default: NewEgress with Policy, which
	// refuses private destinations and follows no redirects.
	Egress *Egress
	// Policy is what destinations the operator allows (used when Egress is
	// nil, and to check each URL as written before it is sent).
	Policy licensor.WebhookPolicy
	// PollInterval is how often the queue is polled when idle.
	PollInterval time.Duration
	// Concurrency bounds deliveries in flight from this server.
	Concurrency int
	// RequestTimeout bounds each attempt.
	RequestTimeout time.Duration
	Logger         *slog.Logger
	// Attempted, if set, is called after each attempt.
	Attempted func(Attempt)
}

// Dispatcher delivers queued webhook events in the background.
type Dispatcher struct {
	cfg    DispatcherConfig
	log    *slog.Logger
	claim  string
	wake   chan struct{}
	jitter func() float64
}

// NewDispatcher returns a Dispatcher.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Egress == nil {
		cfg.Egress = NewEgress(EgressConfig{Policy: cfg.Policy})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Dispatcher{
		cfg: cfg, log: cfg.Logger.With("component", "notify/dispatcher"),
		claim: "dispatcher-" + hex.EncodeToString(b[:]), wake: make(chan struct{}, 1), jitter: licensor.Jitter,
	}
}

// Wake makes a running dispatcher poll at once (after an event was queued).
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends; attempts in flight finish first.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	for {
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.ErrorContext(ctx, "claiming deliveries failed; retrying", "err", err)
		}
		if n == d.cfg.Concurrency && ctx.Err() == nil {
			continue // a full batch: more may be due
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// RunOnce claims the deliveries due now (at most Concurrency), attempts
// them concurrently and records each outcome. It returns how many it
// attempted.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	now := d.cfg.Now()
	// The claim outlives the attempt: another server takes a delivery over
	// only if this one died holding it.
	until := now.Add(2*d.cfg.RequestTimeout + 30*time.Second)
	ds, err := d.cfg.Store.ClaimDeliveries(ctx, d.claim, now, until, d.cfg.Concurrency)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, dl := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				// A bug met in one delivery ends that attempt, not the
				// server; its claim lapses and the delivery is tried again.
				if p := recover(); p != nil {
					d.log.ErrorContext(ctx, "a webhook delivery attempt panicked", "tenant", dl.TenantID, "delivery", dl.ID,
						"panic", p, "stack", string(debug.Stack()))
				}
			}()
			d.attempt(context.WithoutCancel(ctx), dl)
		}()
	}
	wg.Wait()
	return len(ds), nil
}

func (d *Dispatcher) attempt(ctx context.Context, dl *licensor.Delivery) {
	started := time.Now() // latency is measured, not decided: the real clock
	code, sendErr := d.send(ctx, dl)
	latency := time.Since(started)
	now := d.cfg.Now()
	a := licensor.DeliveryAttempt{DeliveryID: dl.ID, Claim: d.claim, At: now, StatusCode: code, Latency: latency}
	if sendErr == nil {
		a.Status = licensor.DeliverySucceeded
	} else {
		// The tenant sees the category; the detail (addresses, the dial
		// error) is for the operator's log only.
		a.Error = Category(sendErr)
		a.Status, a.NextAttemptAt = licensor.NextDelivery(dl.Attempts+1, now, dl.GiveUpAt, d.jitter())
		d.log.WarnContext(ctx, "webhook delivery failed", "tenant", dl.TenantID, "delivery", dl.ID, "webhook", dl.WebhookID,
			"attempt", dl.Attempts+1, "status", code, "category", a.Error, "err", sendErr, "next_attempt_at", a.NextAttemptAt,
			"gave_up", a.Status == licensor.DeliveryFailed)
	}
	if err := d.cfg.Store.CompleteDelivery(licensor.WithTenant(ctx, dl.TenantID), a); err != nil {
		d.log.ErrorContext(ctx, "recording a delivery attempt failed", "delivery", dl.ID, "err", err)
	}
	if d.cfg.Attempted != nil {
		d.cfg.Attempted(Attempt{TenantID: dl.TenantID, EventType: dl.EventType, OK: sendErr == nil, GaveUp: a.Status == licensor.DeliveryFailed,
			Latency: latency, Refused: refused(sendErr)})
	}
}

// send makes one attempt; a 2xx answer is success, anything else a failure.
func (d *Dispatcher) send(ctx context.Context, dl *licensor.Delivery) (int, error) {
	secret, err := d.cfg.Sealer.OpenSecret(dl.WebhookID, dl.SecretSealed)
	if err != nil {
		return 0, &serverError{errors.New("cannot open the webhook's secret (master key changed?)")}
	}
	ts := d.cfg.Now()
	sig, err := Sign(string(secret), dl.EventID, ts, dl.Body)
	if err != nil {
		return 0, &serverError{err}
	}
	if err := d.cfg.Policy.CheckURL(dl.URL); err != nil {
		return 0, &policyError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.URL, bytes.NewReader(dl.Body))
	if err != nil {
		return 0, fmt.Errorf("bad webhook url: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "licensor-webhooks/1")
	req.Header.Set(HeaderID, dl.EventID)
	req.Header.Set(HeaderTimestamp, fmt.Sprint(ts.Unix()))
	req.Header.Set(HeaderSignature, sig)
	res, err := d.cfg.Egress.Client().Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, &statusError{code: res.StatusCode, status: res.Status}
	}
	return res.StatusCode, nil
}

// refused reports whether err is a destination the policy refused.
func refused(err error) bool {
	var r *RefusedError
	var p *policyError
	return errors.As(err, &r) || errors.As(err, &p)
}
