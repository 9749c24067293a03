package licensor

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// AlertType names a condition the scanner watches. The same names are the
// event types of webhook payloads when an episode is raised (and, with
// ClearedSuffix, when it is cleared) and the type label of metrics.
type AlertType string

const (
	// AlertLicenseExpiring: an instance's current license expires within the
	// tenant's ExpiryWarning (the instance stopped refreshing, or its
	// contract caps the license). Cleared when the instance refreshes.
	AlertLicenseExpiring AlertType = "license.expiring"
	// AlertContractEnding: a contract ends within 30, 7 or 1 days (Level
	// "30d", "7d", "1d": one episode each). Cleared by an extension or when
	// the contract is ended explicitly.
	AlertContractEnding AlertType = "contract.ending"
	// AlertInstanceSilent: an instance has not been seen for longer than N
	// refresh intervals of its contract. Cleared when it checks in again.
	AlertInstanceSilent AlertType = "instance.silent"
	// AlertPoolExhausted: a pool feature is at its limit. Raised by the
	// PoolSource extension of the scanner (pools live in another store).
	AlertPoolExhausted AlertType = "pool.exhausted"
	// AlertInstanceCloned: one instance id checked in from two hosts or
	// two machines (fingerprints) within one refresh interval. Cleared
	// when no such check-in has been seen for the scanner's CloneAlertFor
	// (24 hours by default).
	AlertInstanceCloned AlertType = "instance.cloned"
)

// AlertTypes lists every type, for validating webhook event filters.
var AlertTypes = []AlertType{AlertLicenseExpiring, AlertContractEnding, AlertInstanceSilent, AlertPoolExhausted, AlertInstanceCloned}

// ValidAlertType reports whether t is a known alert type.
func ValidAlertType(t string) bool {
	for _, a := range AlertTypes {
		if string(a) == t {
			return true
		}
	}
	return false
}

// ClearedSuffix ends the event type sent when an alert's episode is
// cleared: license.expiring.cleared, contract.ending.cleared, ...
const ClearedSuffix = ".cleared"

// Cleared returns the event type of the end of an episode of type t. It is
// a type of its own, not a flag in the payload, so that a receiver that
// only knows the raised event never mistakes a recovery for a new problem,
// and a webhook's filter takes raises, clears or both.
func (t AlertType) Cleared() AlertType { return t + ClearedSuffix }

// ValidEventType reports whether t is a webhook event type: an alert type
// (raised) or its Cleared form.
func ValidEventType(t string) bool {
	if a, ok := strings.CutSuffix(t, ClearedSuffix); ok {
		return ValidAlertType(a)
	}
	return ValidAlertType(t)
}

// ContractEndingLevels are the windows before a contract's end at which a
// contract.ending alert is raised, each its own episode.
var ContractEndingLevels = []struct {
	Level  string
	Within time.Duration
}{
	{"30d", 30 * 24 * time.Hour},
	{"7d", 7 * 24 * time.Hour},
	{"1d", 24 * time.Hour},
}

// Alert is one episode of a condition on one object: raised once when the
// condition starts to hold, cleared once when it stops. While an episode is
// open, no second one of the same (type, object, level) exists; after it is
// cleared, the condition holding again opens a new one. Raising an alert is
// the event that webhooks deliver; its ID is the event id. Clearing it is
// another event (type Type.Cleared()) with an id of its own.
type Alert struct {
	ID       string // evt_...: the event id, also webhook-id of its deliveries
	TenantID string
	Type     AlertType
	// ObjectID names the object: a contract id, "contract/instance" for an
	// instance, a pool id (or "pool/feature").
	ObjectID string
	// Level distinguishes episodes of one type on one object that may be
	// open at once (contract.ending: "30d", "7d", "1d"); empty otherwise.
	Level     string
	RaisedAt  time.Time
	ClearedAt time.Time // zero while open
	// Data is the event's payload data (JSON object): what a receiver needs
	// to act without calling back.
	Data json.RawMessage
}

// Open reports whether the alert's episode is still open.
func (a *Alert) Open() bool { return a.ClearedAt.IsZero() }

// Key identifies an episode's subject: at most one open alert per key.
func (a *Alert) Key() AlertKey { return AlertKey{Type: a.Type, ObjectID: a.ObjectID, Level: a.Level} }

// AlertKey is what makes two alerts the same episode while open.
type AlertKey struct {
	Type     AlertType
	ObjectID string
	Level    string
}

// AlertFilter selects alerts of a tenant, newest first.
type AlertFilter struct {
	IncludeCleared bool
	Type           AlertType
	ListOptions
}

// AlertStore keeps alert episodes (tenant-scoped) and the scanner's facts.
type AlertStore interface {
	// RaiseAlert opens an episode for a.Key() unless one is open, in one
	// statement (insert-if-absent), and in the same transaction queues a
	// delivery of the event to every webhook of the tenant whose filter
	// takes a.Type, with payload body and retry deadline giveUpAt. It
	// reports whether a new episode was opened (false: one was open already,
	// nothing changed).
	RaiseAlert(ctx context.Context, a *Alert, body []byte, giveUpAt time.Time) (bool, error)
	// ClearAlert closes the open episode id at at, and in the same
	// transaction queues a delivery of the cleared event (id eventID, type
	// the alert's Type.Cleared(), payload body, retried until giveUpAt) to
	// every webhook of the tenant whose filter takes that type. It reports
	// false if the episode was not open (already cleared: nothing changed,
	// nothing queued). ENOTFOUND.
	ClearAlert(ctx context.Context, id string, at time.Time, eventID string, body []byte, giveUpAt time.Time) (bool, error)
	// ListAlerts lists alerts, newest first (RaisedAt then id, descending);
	// open ones only unless f.IncludeCleared. After is the last id.
	ListAlerts(ctx context.Context, f AlertFilter) ([]*Alert, error)

	// ExpiringInstances returns instances of contracts live at now (not
	// ended, end not passed) whose current license expires before t, at most
	// limit, ordered by (contract id, instance id).
	ExpiringInstances(ctx context.Context, now, before time.Time, limit int) ([]*Instance, error)
	// SilentInstances returns instances of contracts live at now last seen more
	// than intervals refresh intervals (of their contract) before now, at
	// most limit; an instance holding an offline license (not released) is
	// never silent.
	SilentInstances(ctx context.Context, now time.Time, intervals int, limit int) ([]*Instance, error)
	// ClonedInstances returns instances of contracts live at now suspected
	// of being cloned (CloneSuspectedAt) at or after since, at most limit.
	ClonedInstances(ctx context.Context, now, since time.Time, limit int) ([]*Instance, error)
	// EndingContracts returns contracts live at now (not ended, end not
	// passed: ends_at > now) whose end is set and before t, at most limit.
	// An ended contract is not ending: its ending alerts clear.
	EndingContracts(ctx context.Context, now, before time.Time, limit int) ([]*Contract, error)
	// LicenseExpiryHistogram counts the tenant's instances of contracts live
	// at now by their license's expiry: counts[i] is the number expiring before
	// bounds[i] and not before bounds[i-1]; the last element counts those at
	// or after the last bound. len(counts) == len(bounds)+1.
	LicenseExpiryHistogram(ctx context.Context, now time.Time, bounds []time.Time) ([]int64, error)
	// ScanGauges counts the tenant's seats held on contracts live at now
	// and its webhook deliveries still pending (see ScanGauges), for the
	// scanner's metrics. Errors: internal.
	ScanGauges(ctx context.Context, now time.Time) (ScanGauges, error)

	// AcquireJobLock takes or renews the named lock for holder until until,
	// if it is free, expired at now, or already held by holder, in one
	// conditional statement. Operator-level: no tenant scope. It reports
	// whether holder has the lock.
	AcquireJobLock(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
	// ReleaseJobLock frees the lock if holder has it.
	ReleaseJobLock(ctx context.Context, name, holder string) error
}

// ScanGauges is what the alert scanner reports of a tenant besides alerts.
type ScanGauges struct {
	// SeatsUsed is the seats held on the tenant's live contracts; of them,
	// SeatsUsedCapped on contracts with a seat cap, whose caps add up to
	// SeatsMax.
	SeatsUsed, SeatsUsedCapped, SeatsMax int64
	// DeliveriesPending is the webhook deliveries not yet delivered nor
	// given up: the backlog the dispatcher works through.
	DeliveriesPending int64
}
