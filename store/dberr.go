// The translation of what a driver reports into the domain's errors, the
// same for both engines: a constraint failure into the words its statement
// gave for it, a transient failure into EUNAVAILABLE, anything else into
// EINTERNAL with the cause kept for the log. Each engine only classifies
// its driver's errors (Dialect.Constraint, Dialect.Transient); driver text
// (which names tables and columns) never reaches a Message.

package store

import (
	"errors"
	"time"

	"github.com/licensor/licensor"
)

// Constraint is the kind of constraint a failed statement violated, as a
// store reads it from its driver's error.
type Constraint uint8

// The kinds of constraint failure a store translates.
const (
	NoConstraint Constraint = iota // not a constraint failure, or one with no words
	PrimaryKey                     // the id is taken
	Unique                         // a unique name or hash is taken
	ForeignKey                     // a referenced object does not exist
)

// Messages says what a constraint failure of one statement means, in words
// for the person who sent the request. An empty one leaves that failure
// untranslated.
type Messages struct {
	PrimaryKey string // ECONFLICT
	Unique     string // ECONFLICT
	ForeignKey string // ENOTFOUND
}

// Translate turns err, a failure of kind c, into a domain error carrying
// m's words for it and err as its cause; an error m has no words for is
// returned unchanged.
func (m Messages) Translate(err error, c Constraint) error {
	code, msg := licensor.ECONFLICT, ""
	switch c {
	case PrimaryKey:
		msg = m.PrimaryKey
	case Unique:
		msg = m.Unique
	case ForeignKey:
		code, msg = licensor.ENOTFOUND, m.ForeignKey
	}
	if msg == "" {
		return err
	}
	return &licensor.Error{Code: code, Message: msg, Err: err}
}

// Final is the last translation of an error leaving a store's method op:
// nil stays nil; a domain error passes; one that transient reports (a
// retry a little later can clear it) is EUNAVAILABLE with message
// unavailable and a retry hint; anything else is EINTERNAL with the cause
// kept for the log.
func Final(op string, err error, transient func(error) bool, unavailable string) error {
	if err == nil {
		return nil
	}
	var de *licensor.Error
	if errors.As(err, &de) {
		return err
	}
	if transient(err) {
		return &licensor.Error{
			Code:       licensor.EUNAVAILABLE,
			Message:    unavailable,
			RetryAfter: time.Second,
			Err:        err,
		}
	}
	return licensor.Internal(op, err)
}
