package agentapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/client"
)

// Error codes of the API: stable, part of the contract (openapi/agent.json
// lists them). A program acts on the code; the message is for a person.
const (
	CodeInvalidArgument  = "invalid_argument"       // 400: the request is wrong; sending it again cannot succeed
	CodeNotFound         = "not_found"              // 404: no such route or lease
	CodeMethodNotAllowed = "method_not_allowed"     // 405
	CodeDenied           = "denied"                 // 409: the pool is short; error.shortages says of what
	CodePrecondition     = "failed_precondition"    // 409: the lease or contract is not in a state that allows it
	CodeTooLarge         = "payload_too_large"      // 413
	CodeMediaType        = "unsupported_media_type" // 415: a body that is not application/json
	CodeUnavailable      = "unavailable"            // 503: the server is unreachable or over its threshold; retry later
	CodeUnauthenticated  = "unauthenticated"        // 502: the server refused the agent's token
	CodePermissionDenied = "permission_denied"      // 502: the server refused the agent's contract
	CodeVerify           = "verification_failed"    // 502: what the server sent does not verify
	CodeInternal         = "internal"               // 500
)

// errorBody is every error answer.
type errorBody struct {
	Error apiError `json:"error"`
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Stage is where a call to the server failed (dns, tcp, tls, ...).
	Stage string `json:"stage,omitempty"`
	// RetryAfterSeconds is the server's hint, when it gave one.
	RetryAfterSeconds int64      `json:"retry_after_seconds,omitempty"`
	Shortages         []shortage `json:"shortages,omitempty"`
}

type shortage struct {
	Feature     string     `json:"feature"`
	Requested   int64      `json:"requested"`
	Available   int64      `json:"available"`
	Short       int64      `json:"short"`
	NextRelease *time.Time `json:"next_release,omitempty"`
}

func shortages(d *client.DeniedError) []shortage {
	out := make([]shortage, 0, len(d.Shortages))
	for _, s := range d.Shortages {
		sh := shortage{Feature: s.Feature, Requested: s.Requested, Available: s.Available, Short: s.Short}
		if !s.NextRelease.IsZero() {
			t := s.NextRelease.UTC()
			sh.NextRelease = &t
		}
		out = append(out, sh)
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: apiError{Code: code, Message: msg}})
}

// writeErr answers an error of the client library with its code, its
// stage and the server's retry hint.
func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var denied *client.DeniedError
	if errors.As(err, &denied) {
		writeJSON(w, http.StatusConflict, errorBody{Error: apiError{Code: CodeDenied, Message: denied.Error(), Shortages: shortages(denied)}})
		return
	}
	e := apiError{Message: licensor.ErrorMessage(err), Stage: string(client.StageOf(err))}
	if d := licensor.RetryAfter(err); d > 0 {
		e.RetryAfterSeconds = int64((d + time.Second - 1) / time.Second)
	}
	status := http.StatusBadGateway
	switch {
	case client.StageOf(err) == client.StageVerify:
		e.Code = CodeVerify
	default:
		switch licensor.ErrorCode(err) {
		case licensor.EINVALID:
			status, e.Code = http.StatusBadRequest, CodeInvalidArgument
		case licensor.ENOTFOUND:
			status, e.Code = http.StatusNotFound, CodeNotFound
		case licensor.EPRECONDITION, licensor.ECONFLICT:
			status, e.Code = http.StatusConflict, CodePrecondition
		case licensor.EUNAUTHORIZED:
			e.Code = CodeUnauthenticated
		case licensor.EFORBIDDEN:
			e.Code = CodePermissionDenied
		case licensor.EUNAVAILABLE, licensor.EEXHAUSTED:
			status, e.Code = http.StatusServiceUnavailable, CodeUnavailable
		default:
			if errors.Is(err, r.Context().Err()) && r.Context().Err() != nil {
				status, e.Code = http.StatusServiceUnavailable, CodeUnavailable
				break
			}
			s.log.Error("agent request failed", "path", r.URL.Path, "err", err)
			status, e.Code, e.Message = http.StatusInternalServerError, CodeInternal, "internal error; see the agent's log"
		}
	}
	if e.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", itoa(e.RetryAfterSeconds))
	}
	writeJSON(w, status, errorBody{Error: e})
}

func asDenied(err error, d **client.DeniedError) bool { return errors.As(err, d) }
