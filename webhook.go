package licensor

import (
	"context"
	"math/rand/v2"
	"time"
)

// PrefixDelivery prefixes delivery ids.
const PrefixDelivery = "dlv"

// Webhook delivery policy.
const (
	// DefaultDeliveryRetryFor is how long a delivery is retried before it is
	// given up: at least a day, so an endpoint down over a night or a
	// weekend day still gets every event.
	DefaultDeliveryRetryFor = 25 * time.Hour
	// DeliveryBaseDelay is the wait after the first failed attempt; each
	// further failure doubles it, up to DeliveryMaxDelay.
	DeliveryBaseDelay = 30 * time.Second
	DeliveryMaxDelay  = time.Hour
	MaxWebhooks       = 20 // per tenant
	MaxWebhookURLLen  = 2048
)

// Webhook is an endpoint of a tenant that receives events. Its signing
// secret is stored sealed and never shown again after creation.
type Webhook struct {
	ID       string
	TenantID string
	URL      string
	// EventTypes are the event types delivered (alert types, raised, and
	// their Cleared forms); empty means all.
	EventTypes []AlertType
	// SecretSealed is the signing secret (whsec_...) sealed with the master
	// key; only the dispatcher opens it.
	SecretSealed []byte
	CreatedAt    time.Time
	// DisabledAt is when the webhook was disabled; zero while enabled. A
	// disabled webhook's events are still queued, but the dispatcher does
	// not claim them until it is enabled again.
	DisabledAt time.Time
}

// Disabled reports whether deliveries to the webhook are paused.
func (w *Webhook) Disabled() bool { return !w.DisabledAt.IsZero() }

// Wants reports whether the webhook takes events of type t.
func (w *Webhook) Wants(t AlertType) bool {
	if len(w.EventTypes) == 0 {
		return true
	}
	for _, e := range w.EventTypes {
		if e == t {
			return true
		}
	}
	return false
}

// Validate checks a webhook before it is stored: an absolute https URL (or
// http when p allows it) whose host is not refused by p as far as can be
// told without resolving it (see WebhookPolicy); names are checked on each
// address they resolve to when a delivery is sent.
func (w *Webhook) Validate(p WebhookPolicy) error {
	if w.URL == "" {
		return Errorf(EINVALID, "url is required")
	}
	if len(w.URL) > MaxWebhookURLLen {
		return Errorf(EINVALID, "url is %d bytes; the limit is %d", len(w.URL), MaxWebhookURLLen)
	}
	if err := p.CheckURL(w.URL); err != nil {
		return err
	}
	seen := map[AlertType]bool{}
	for _, t := range w.EventTypes {
		if !ValidEventType(string(t)) {
			return Errorf(EINVALID, "event type %q: use one of license.expiring, contract.ending, instance.silent, pool.exhausted, each optionally with %s (or none for all)", t, ClearedSuffix)
		}
		if seen[t] {
			return Errorf(EINVALID, "event type %q is listed twice", t)
		}
		seen[t] = true
	}
	return nil
}

// DeliveryStatus is where a delivery is in its life.
type DeliveryStatus string

const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliverySucceeded DeliveryStatus = "succeeded"
	DeliveryFailed    DeliveryStatus = "failed" // given up
)

// Delivery is one event queued for one webhook, with its delivery log.
type Delivery struct {
	ID            string
	TenantID      string
	WebhookID     string
	EventID       string // the alert's id: webhook-id header, same on every attempt
	EventType     AlertType
	Status        DeliveryStatus
	Body          []byte // the exact payload, signed anew on each attempt
	Attempts      int
	LastStatus    int // HTTP status of the last attempt, 0 if none came back
	LastLatency   time.Duration
	LastError     string
	NextAttemptAt time.Time
	GiveUpAt      time.Time // no attempt is scheduled after this
	CreatedAt     time.Time
	DeliveredAt   time.Time

	// Set by ClaimDeliveries: where to send and with what secret.
	URL          string
	SecretSealed []byte
}

// DeliveryAttempt is the outcome of one attempt, recorded by CompleteDelivery.
type DeliveryAttempt struct {
	DeliveryID string
	Claim      string // the claim token ClaimDeliveries gave
	At         time.Time
	StatusCode int
	Latency    time.Duration
	Error      string
	// Status is the delivery's next state; NextAttemptAt is set when pending.
	Status        DeliveryStatus
	NextAttemptAt time.Time
}

// NextDelivery decides what follows an attempt number attempts (1 for the
// first) that failed at now: another attempt after an exponentially
// growing, jittered delay, or giving up once past giveUpAt. jitter is in
// [0,1); the delay is base·2^(attempts-1), capped, and then scaled by
// 0.75–1.25 so that many deliveries failing together do not retry together.
func NextDelivery(attempts int, now, giveUpAt time.Time, jitter float64) (DeliveryStatus, time.Time) {
	if !now.Before(giveUpAt) {
		return DeliveryFailed, time.Time{}
	}
	d := DeliveryBaseDelay
	for i := 1; i < attempts && d < DeliveryMaxDelay; i++ {
		d *= 2
	}
	d = min(d, DeliveryMaxDelay)
	d = time.Duration(float64(d) * (0.75 + jitter/2))
	next := now.Add(d)
	if next.After(giveUpAt) {
		next = giveUpAt // one last attempt at the deadline
	}
	return DeliveryPending, next
}

// Jitter returns a random factor for NextDelivery.
func Jitter() float64 { return rand.Float64() }

// EventWebhookTest is the type of the event SendWebhookTestEvent sends to
// one webhook, whatever its filter: no alert is behind it.
const EventWebhookTest AlertType = "webhook.test"

// DeliveryFilter selects deliveries of a tenant, newest first.
type DeliveryFilter struct {
	WebhookID string
	Status    DeliveryStatus
	ListOptions
}

// WebhookStore keeps webhooks and their delivery queue (tenant-scoped
// unless said otherwise).
type WebhookStore interface {
	// CreateWebhook stores w. EEXHAUSTED past MaxWebhooks for the tenant.
	CreateWebhook(ctx context.Context, w *Webhook) error
	// GetWebhook returns one webhook. ENOTFOUND.
	GetWebhook(ctx context.Context, id string) (*Webhook, error)
	// ListWebhooks lists the tenant's webhooks by id.
	ListWebhooks(ctx context.Context) ([]*Webhook, error)
	// DeleteWebhook deletes a webhook and its deliveries. ENOTFOUND.
	DeleteWebhook(ctx context.Context, id string) error
	// SetWebhookDisabled disables a webhook as of at, or enables it when at
	// is zero, and returns it. Its pending deliveries are held back from
	// ClaimDeliveries while it is disabled and released when it is enabled,
	// to go out in their usual order. Disabling a disabled webhook keeps its
	// first DisabledAt. ENOTFOUND.
	SetWebhookDisabled(ctx context.Context, id string, at time.Time) (*Webhook, error)

	// ClaimDeliveries claims up to limit pending deliveries due at now, of
	// any tenant (the worker serves all of them: an operator-level call, like
	// TokenByHash), for claim until until. A delivery claimed by another
	// worker whose claim has not expired is skipped; each row is claimed by a
	// conditional update, so several servers never send the same attempt.
	// The deliveries come back with URL and SecretSealed filled in.
	ClaimDeliveries(ctx context.Context, claim string, now, until time.Time, limit int) ([]*Delivery, error)
	// CompleteDelivery records an attempt if the claim still holds (a
	// worker whose claim expired and was taken over records nothing:
	// ECONFLICT). Scoped to the delivery's tenant. ENOTFOUND.
	CompleteDelivery(ctx context.Context, a DeliveryAttempt) error
	// GetDelivery returns one delivery (without URL and secret). ENOTFOUND.
	GetDelivery(ctx context.Context, id string) (*Delivery, error)
	// ListDeliveries lists deliveries newest first (CreatedAt, then id); After
	// is the last id.
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error)
	// Redeliver makes a delivery pending again, due at now, to be retried
	// until giveUpAt, whatever its state; any claim on it is dropped.
	// Attempts keep counting. ENOTFOUND.
	Redeliver(ctx context.Context, id string, now, giveUpAt time.Time) (*Delivery, error)
	// QueueWebhookEvent queues one event to the one webhook webhookID,
	// whatever its filter (a test event), due at now and retried until
	// giveUpAt; held back while the webhook is disabled. ENOTFOUND.
	QueueWebhookEvent(ctx context.Context, webhookID, eventID string, typ AlertType, body []byte, now, giveUpAt time.Time) (*Delivery, error)
}
