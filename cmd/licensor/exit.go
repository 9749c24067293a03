package main

import (
	"errors"

	"connectrpc.com/connect"
)

// Exit codes of every command, listed in `licensor --help` and docs/cli.md:
// a script tells "try again later" from "fix the command" from "the license
// is forged" without parsing messages. No other code is ever used.
const (
	ExitOK       = 0 // done
	ExitError    = 1 // could not run: server unreachable or failing, I/O, interrupted
	ExitInvalid  = 2 // usage error, a request the server refused as invalid, or an invalid license file
	ExitExpired  = 3 // a genuine license that is not valid now (expired or not yet valid)
	ExitAuth     = 4 // the server refused the token (unknown, revoked, or not allowed to do this)
	ExitNotFound = 5 // no such object (in this tenant)
	ExitConflict = 6 // already exists, changed meanwhile (--version), or not in a state that allows it
	ExitBusy     = 7 // seats or the tenant's concurrency limit exhausted; retry later
)

// exitCodes is the help text listing the codes.
const exitCodes = `Exit codes: 0 ok; 1 could not run (server unreachable, I/O); 2 usage error or invalid request/license; 3 genuine license not valid now; 4 token refused; 5 not found; 6 conflict; 7 exhausted, retry later.`

type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// exitCode is the code a command's error exits with.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		switch ce.Code() {
		case connect.CodeInvalidArgument:
			return ExitInvalid
		case connect.CodeUnauthenticated, connect.CodePermissionDenied:
			return ExitAuth
		case connect.CodeNotFound:
			return ExitNotFound
		case connect.CodeAlreadyExists, connect.CodeAborted, connect.CodeFailedPrecondition:
			return ExitConflict
		case connect.CodeResourceExhausted:
			return ExitBusy
		}
	}
	return ExitError
}

// usageError marks an error in what the command was given (exit 2).
func usageError(err error) error { return exitError{ExitInvalid, err} }
