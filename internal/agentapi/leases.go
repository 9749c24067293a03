package agentapi

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/client"
)

// unitsRequest is the body of a preview and a checkout.
type unitsRequest struct {
	Capabilities []capabilityUnits `json:"capabilities"`
	// BorrowSeconds > 0 borrows: a lease for going offline that needs no
	// renewal, bounded by the contract's maximum borrow. Checkout only.
	BorrowSeconds int64 `json:"borrow_seconds,omitempty"`
}

type capabilityUnits struct {
	Feature string `json:"feature"`
	Units   int64  `json:"units"`
}

// leaseJSON is a lease as the API shows it.
type leaseJSON struct {
	ID        string           `json:"id"`
	Units     map[string]int64 `json:"units"`
	ExpiresAt time.Time        `json:"expires_at"`
	Borrowed  bool             `json:"borrowed"`
	// Token is the signed capability document (typ capability+jwt), which
	// the agent has verified against the vendor's keys.
	Token string `json:"token"`
	// Lost: the lease can no longer be renewed (it expired or was
	// released); Error says why. Return it to forget it.
	Lost  bool   `json:"lost"`
	Error string `json:"error,omitempty"`
}

func leaseOf(l *client.Lease) leaseJSON {
	out := leaseJSON{ID: l.ID(), Units: l.Units(), ExpiresAt: l.ExpiresAt().UTC(), Borrowed: l.Borrowed(), Token: l.Token()}
	select {
	case <-l.Lost():
		out.Lost = true
		if err := l.Err(); err != nil {
			out.Error = licensor.ErrorMessage(err)
		}
	default:
	}
	return out
}

// units validates a request body's capabilities as the server does.
func (u unitsRequest) units(w http.ResponseWriter, allowBorrow bool) ([]licensor.Units, time.Duration, bool) {
	us := make([]licensor.Units, len(u.Capabilities))
	for i, c := range u.Capabilities {
		us[i] = licensor.Units{Feature: c.Feature, Units: c.Units}
	}
	us, err := licensor.NormalizeUnits(us, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeInvalidArgument, "capabilities: "+licensor.ErrorMessage(err))
		return nil, 0, false
	}
	if u.BorrowSeconds != 0 && !allowBorrow {
		writeError(w, http.StatusBadRequest, CodeInvalidArgument, "borrow_seconds applies to a checkout, not a preview")
		return nil, 0, false
	}
	maxSeconds := int64(licensor.MaxDuration / time.Second)
	if u.BorrowSeconds < 0 || u.BorrowSeconds > maxSeconds {
		writeError(w, http.StatusBadRequest, CodeInvalidArgument, fmt.Sprintf("borrow_seconds must be between 0 and %d", maxSeconds))
		return nil, 0, false
	}
	return us, time.Duration(u.BorrowSeconds) * time.Second, true
}

func callContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), CallTimeout)
}

// preview answers 200 either way: {"available": true} or false with the
// shortages. Nothing is taken.
func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	var req unitsRequest
	if !decode(w, r, &req) {
		return
	}
	us, _, ok := req.units(w, false)
	if !ok {
		return
	}
	ctx, cancel := callContext(r)
	defer cancel()
	err := s.c.Preview(ctx, us...)
	var denied *client.DeniedError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]any{"available": true})
	case asDenied(err, &denied):
		writeJSON(w, http.StatusOK, map[string]any{"available": false, "shortages": shortages(denied)})
	default:
		s.writeErr(w, r, err)
	}
}

// checkout takes units as a lease the agent holds and renews until it is
// returned (or the agent stops); 201 with the lease, 409 denied with the
// shortages.
func (s *Server) checkout(w http.ResponseWriter, r *http.Request) {
	var req unitsRequest
	if !decode(w, r, &req) {
		return
	}
	us, borrow, ok := req.units(w, true)
	if !ok {
		return
	}
	s.mu.Lock()
	n := len(s.leases)
	s.mu.Unlock()
	if n >= MaxLeases {
		writeError(w, http.StatusConflict, CodePrecondition, fmt.Sprintf("the agent holds %d leases, its limit; return some first", MaxLeases))
		return
	}
	ctx, cancel := callContext(r)
	defer cancel()
	var l *client.Lease
	var err error
	if borrow > 0 {
		l, err = s.c.Borrow(ctx, borrow, us...)
	} else {
		l, err = s.c.Checkout(ctx, us...)
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.mu.Lock()
	s.leases[l.ID()] = l
	s.mu.Unlock()
	w.Header().Set("Location", "/v1/leases/"+l.ID())
	writeJSON(w, http.StatusCreated, leaseOf(l))
}

func (s *Server) listLeases(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := make([]leaseJSON, 0, len(s.leases))
	for _, l := range s.leases {
		out = append(out, leaseOf(l))
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, http.StatusOK, map[string]any{"leases": out})
}

// lease finds the lease named in the path, answering 400 or 404 itself.
func (s *Server) lease(w http.ResponseWriter, r *http.Request) (*client.Lease, bool) {
	id := r.PathValue("id")
	if err := licensor.ValidateID("lease id", id); err != nil {
		writeError(w, http.StatusBadRequest, CodeInvalidArgument, licensor.ErrorMessage(err))
		return nil, false
	}
	s.mu.Lock()
	l := s.leases[id]
	s.mu.Unlock()
	if l == nil {
		writeError(w, http.StatusNotFound, CodeNotFound, "this agent holds no lease "+id)
		return nil, false
	}
	return l, true
}

func (s *Server) getLease(w http.ResponseWriter, r *http.Request) {
	if l, ok := s.lease(w, r); ok {
		writeJSON(w, http.StatusOK, leaseOf(l))
	}
}

// renew extends the lease now; the agent renews on its own anyway, so this
// is for a caller that wants to know the lease is alive at the server.
func (s *Server) renew(w http.ResponseWriter, r *http.Request) {
	l, ok := s.lease(w, r)
	if !ok || !s.noBody(w, r) {
		return
	}
	ctx, cancel := callContext(r)
	defer cancel()
	if err := l.Renew(ctx); err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, leaseOf(l))
}

// returnLease gives the lease back and forgets it: 204. A lease the server
// no longer knows (expired, released) counts as returned.
func (s *Server) returnLease(w http.ResponseWriter, r *http.Request) {
	l, ok := s.lease(w, r)
	if !ok {
		return
	}
	ctx, cancel := callContext(r)
	defer cancel()
	if err := l.Return(ctx); err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.mu.Lock()
	delete(s.leases, l.ID())
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// features lists the contract's pools as the server sees them now.
func (s *Server) features(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := callContext(r)
	defer cancel()
	fs, err := s.c.Features(ctx)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	type featureJSON struct {
		Pool           string `json:"pool"`
		Feature        string `json:"feature"`
		MaxUnits       int64  `json:"max_units"`
		InUse          int64  `json:"in_use"`
		Free           int64  `json:"free"`
		HeldByInstance int64  `json:"held_by_instance"`
	}
	out := make([]featureJSON, 0, len(fs))
	for _, f := range fs {
		out = append(out, featureJSON(f))
	}
	writeJSON(w, http.StatusOK, map[string]any{"features": out})
}
