package agentapi

import (
	"context"
	"net/http"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/client"
)

// Document is what GET /v1/license answers and what the agent writes to
// its file. The token is the truth: a reader that can verify a JWS should;
// the claims are a convenience.
type Document struct {
	Token      string           `json:"token,omitempty"`
	Claims     *licensor.Claims `json:"claims,omitempty"`
	Status     Status           `json:"status"`
	InstanceID string           `json:"instance_id"`
}

// Status is the license's state, as GET /v1/status answers it.
type Status struct {
	State    client.State `json:"state"`
	Licensed bool         `json:"licensed"`
	// ExpiringSoon is set when less than ExpiringSoonSeconds of validity
	// is left: time to warn the product's user.
	ExpiringSoon        bool       `json:"expiring_soon"`
	ExpiringSoonSeconds int64      `json:"expiring_soon_seconds"`
	Reason              string     `json:"reason,omitempty"`
	RemainingSeconds    int64      `json:"remaining_seconds"`
	ExpiresAt           *time.Time `json:"expires_at,omitempty"`
	LicenseID           string     `json:"license_id,omitempty"`
	Source              string     `json:"source,omitempty"`
	Fallback            bool       `json:"fallback"`
	FallbackCutoff      *time.Time `json:"fallback_cutoff,omitempty"`
	LastError           string     `json:"last_error,omitempty"`
	LastErrorStage      string     `json:"last_error_stage,omitempty"`
	LastSuccess         *time.Time `json:"last_success,omitempty"`
	NextAttempt         *time.Time `json:"next_attempt,omitempty"`
	// UnpinnedKeys are keys in the vendor's JWKS that the agent's --keys
	// do not hold: update the pinned keys before they sign.
	UnpinnedKeys []string `json:"unpinned_keys,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// StatusOf reads the status of c; soon is its ExpiringSoon threshold.
func StatusOf(c *client.Client, soon time.Duration) Status {
	st := c.Status()
	out := Status{
		State: st.State, Licensed: st.Licensed(), ExpiringSoon: st.State == client.ExpiringSoon, ExpiringSoonSeconds: int64(soon / time.Second),
		Reason: st.Reason, RemainingSeconds: int64(st.Remaining / time.Second), ExpiresAt: optTime(st.ExpiresAt), LicenseID: st.LicenseID,
		Source: string(st.Source), Fallback: st.Fallback, LastSuccess: optTime(st.LastSuccess), NextAttempt: optTime(st.NextAttempt),
		UnpinnedKeys: c.UnpinnedKeys(),
	}
	if st.Fallback {
		out.FallbackCutoff = optTime(st.FallbackCutoff)
	}
	if st.LastError != nil {
		out.LastError, out.LastErrorStage = licensor.ErrorMessage(st.LastError), string(client.StageOf(st.LastError))
	}
	return out
}

// DocumentOf reads the license c holds; the token and claims only while it
// is licensed.
func DocumentOf(c *client.Client, soon time.Duration) Document {
	d := Document{InstanceID: c.InstanceID(), Status: StatusOf(c, soon)}
	if l := c.License(); l != nil && d.Status.Licensed {
		d.Token, d.Claims = l.Token, l.Claims
	}
	return d
}

// license answers 200 with the document when licensed and 503 with it
// (saying why) when not, so that a script can act on the status alone.
func (s *Server) license(w http.ResponseWriter, _ *http.Request) {
	d := DocumentOf(s.c, s.soon)
	status := http.StatusOK
	if !d.Status.Licensed {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, d)
}

// status always answers 200: the state is the answer.
func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, StatusOf(s.c, s.soon))
}

// refresh fetches a license now. A failure is answered with its error; the
// license held (if any) stays, as does the client's own schedule.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	if !s.noBody(w, r) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), CallTimeout)
	defer cancel()
	if err := s.c.Refresh(ctx); err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, DocumentOf(s.c, s.soon))
}
