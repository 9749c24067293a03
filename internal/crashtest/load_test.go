package crashtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"testing"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/bearer"
)

// clients talk to one server process: instances with the contract token,
// the vendor's admin with the admin token.
type clients struct {
	d     *demoFile
	lic   licensorv1connect.LicenseServiceClient
	cap   licensorv1connect.CapabilityServiceClient
	admin licensorv1connect.AdminServiceClient
}

func newClients(hc *http.Client, addr string, d *demoFile) *clients {
	url := "https://" + addr
	inst := connect.WithInterceptors(bearer.Token(d.Token))
	return &clients{
		d:     d,
		lic:   licensorv1connect.NewLicenseServiceClient(hc, url, inst),
		cap:   licensorv1connect.NewCapabilityServiceClient(hc, url, inst),
		admin: licensorv1connect.NewAdminServiceClient(hc, url, connect.WithInterceptors(bearer.Token(d.AdminToken))),
	}
}

// answered reports whether err is the server's answer to the request, as
// opposed to a call that may or may not have reached the server or
// committed (the process was killed under it). Only answered errors tell
// the client what state it is in.
func answered(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeResourceExhausted, connect.CodeInvalidArgument, connect.CodeNotFound,
		connect.CodeFailedPrecondition, connect.CodePermissionDenied, connect.CodeAlreadyExists:
		return true
	}
	return false
}

// Seat states an instance was last acknowledged in.
type seatState int

const (
	seatFree seatState = iota // never granted, denied, or released by the admin
	seatHeld                  // GetLicense answered with a license
)

// Operations sent whose answer the client never saw.
const (
	opNone = iota
	opGetLicense
	opReleaseSeat
	opRequest
	opReturn
	opRelease
)

// instance is one licensed installation, driven by one goroutine at a
// time: what it was last told, and the call it sent without an answer.
type instance struct {
	id      string
	seat    seatState
	pending int // opNone, opGetLicense or opReleaseSeat
}

// lease is a grant of pool units as the client saw it acknowledged.
type lease struct {
	id    string
	units map[string]int64
}

// leaseHolder is one instance taking and giving back pool units.
type leaseHolder struct {
	instance string
	held     []*lease        // acknowledged granted, not yet given back
	returned map[string]bool // acknowledged returned or force-released

	pending   int    // opNone, opRequest, opReturn or opRelease
	requestID string // of the pending opRequest
	units     map[string]int64
	unsettled *lease // of the pending opReturn or opRelease
}

// stats counts what the clients saw acknowledged and what was checked.
type stats struct {
	mu                                     sync.Mutex
	licenses, seatDenials, seatReleases    int
	grants, leaseDenials, returns, revokes int
	seatsChecked, leasesChecked, goneCheck int
	unanswered                             int // calls a kill left without an answer, sent again

	// ops counts the updates; kill, when set, is closed once ops reaches
	// killAt: the test kills the server then.
	ops, killAt int
	kill        chan struct{}
}

func (s *stats) add(f func(*stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
	s.ops++
	if s.kill != nil && s.ops >= s.killAt {
		close(s.kill)
		s.kill = nil
	}
}

// killAfter returns a channel closed after n more acknowledged answers.
func (s *stats) killAfter(n int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killAt, s.kill = s.ops+n, make(chan struct{})
	return s.kill
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "crash-" + hex.EncodeToString(b)
}

// seatWorker checks instances in and has the admin release their seats,
// until ctx ends or a call goes unanswered (the server is gone).
func seatWorker(ctx context.Context, t *testing.T, c *clients, insts []*instance, st *stats) {
	for ctx.Err() == nil {
		in := insts[mrand.IntN(len(insts))]
		if in.seat == seatHeld && mrand.IntN(6) == 0 {
			in.pending = opReleaseSeat
			_, err := c.admin.ReleaseSeat(ctx, connect.NewRequest(&v1.ReleaseSeatRequest{TenantId: c.d.TenantID, ContractId: c.d.ContractID, InstanceId: in.id}))
			if err != nil {
				if answered(err) {
					t.Errorf("ReleaseSeat %s: %v", in.id, err)
				}
				return
			}
			in.seat, in.pending = seatFree, opNone
			st.add(func(s *stats) { s.seatReleases++ })
			continue
		}
		in.pending = opGetLicense
		if !getLicense(ctx, t, c, in, st) {
			return
		}
	}
}

// getLicense checks in and records the answer; false when there was none.
func getLicense(ctx context.Context, t *testing.T, c *clients, in *instance, st *stats) bool {
	_, err := c.lic.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: c.d.ContractID, InstanceId: in.id, Host: "crash-host"}))
	switch {
	case err == nil:
		in.seat, in.pending = seatHeld, opNone
		st.add(func(s *stats) { s.licenses++ })
	case connect.CodeOf(err) == connect.CodeResourceExhausted:
		// Every seat is taken (or the concurrency threshold refused the
		// call): a refusal neither takes a seat nor gives one back.
		in.pending = opNone
		st.add(func(s *stats) { s.seatDenials++ })
	case answered(err):
		t.Errorf("GetLicense %s: %v", in.id, err)
		return false
	default:
		return false
	}
	return true
}

// maxHeld bounds the leases one holder keeps, so that units keep moving.
const maxHeld = 3

// leaseWorker takes units from the pool with request ids and gives them
// back (or has the admin force-release them), until ctx ends or a call
// goes unanswered.
func leaseWorker(ctx context.Context, t *testing.T, c *clients, h *leaseHolder, st *stats) {
	for ctx.Err() == nil {
		if len(h.held) > 0 && (len(h.held) >= maxHeld || mrand.IntN(5) < 2) {
			i := mrand.IntN(len(h.held))
			l := h.held[i]
			h.held = append(h.held[:i], h.held[i+1:]...)
			h.unsettled, h.pending = l, opReturn
			if mrand.IntN(4) == 0 {
				h.pending = opRelease
			}
			if !settle(ctx, t, c, h, st) {
				return
			}
			continue
		}
		h.pending, h.requestID = opRequest, newRequestID()
		if mrand.IntN(3) == 0 {
			h.units = map[string]int64{"gpu-export": 1 + mrand.Int64N(2)}
		} else {
			h.units = map[string]int64{"solver": 1 + mrand.Int64N(6)}
		}
		if !request(ctx, t, c, h, st) {
			return
		}
	}
}

// request sends the pending request (again, after a restart: the same
// request id must not grant twice); false when there was no answer.
func request(ctx context.Context, t *testing.T, c *clients, h *leaseHolder, st *stats) bool {
	var caps []*v1.CapabilityUnits
	for f, n := range h.units {
		caps = append(caps, &v1.CapabilityUnits{Feature: f, Units: n})
	}
	res, err := c.cap.RequestCapabilities(ctx, connect.NewRequest(&v1.RequestCapabilitiesRequest{
		ContractId: c.d.ContractID, InstanceId: h.instance, Capabilities: caps, RequestId: h.requestID, PoolId: c.d.PoolID}))
	switch {
	case err == nil && res.Msg.GetGranted():
		l := res.Msg.GetLease()
		got := map[string]int64{}
		for _, u := range l.GetUnits() {
			got[u.GetFeature()] += u.GetUnits()
		}
		if fmt.Sprint(got) != fmt.Sprint(h.units) {
			t.Errorf("lease %s: granted %v, want %v as asked", l.GetId(), got, h.units)
		}
		h.held = append(h.held, &lease{id: l.GetId(), units: got})
		st.add(func(s *stats) { s.grants++ })
	case err == nil, connect.CodeOf(err) == connect.CodeResourceExhausted:
		st.add(func(s *stats) { s.leaseDenials++ })
	case answered(err):
		t.Errorf("RequestCapabilities for %s: %v", h.instance, err)
		return false
	default:
		return false
	}
	h.pending, h.requestID, h.units = opNone, "", nil
	return true
}

// settle sends the pending return or force-release; false when there was
// no answer. Sent again after a restart, NOT_FOUND means the first one
// took effect.
func settle(ctx context.Context, t *testing.T, c *clients, h *leaseHolder, st *stats) bool {
	l := h.unsettled
	var err error
	if h.pending == opRelease {
		_, err = c.admin.ReleaseLease(ctx, connect.NewRequest(&v1.ReleaseLeaseRequest{TenantId: c.d.TenantID, LeaseId: l.id}))
	} else {
		_, err = c.cap.ReturnCapabilities(ctx, connect.NewRequest(&v1.ReturnCapabilitiesRequest{ContractId: c.d.ContractID, InstanceId: h.instance, LeaseId: l.id}))
	}
	switch {
	case err == nil, connect.CodeOf(err) == connect.CodeNotFound:
		op := h.pending
		st.add(func(s *stats) {
			if op == opRelease {
				s.revokes++
			} else {
				s.returns++
			}
		})
	case answered(err):
		t.Errorf("give back lease %s: %v", l.id, err)
		return false
	default:
		return false
	}
	h.returned[l.id] = true
	h.pending, h.unsettled = opNone, nil
	return true
}

// resolve sends again, one by one, every call the kill left unanswered, so
// that the clients know their state before it is checked.
func resolve(ctx context.Context, t *testing.T, c *clients, insts []*instance, holders []*leaseHolder, st *stats) {
	t.Helper()
	for _, in := range insts {
		if in.pending != opNone {
			st.add(func(s *stats) { s.unanswered++ })
		}
		switch in.pending {
		case opGetLicense:
			if !getLicense(ctx, t, c, in, st) {
				t.Fatalf("GetLicense %s after restart: no answer", in.id)
			}
		case opReleaseSeat:
			_, err := c.admin.ReleaseSeat(ctx, connect.NewRequest(&v1.ReleaseSeatRequest{TenantId: c.d.TenantID, ContractId: c.d.ContractID, InstanceId: in.id}))
			if err != nil && connect.CodeOf(err) != connect.CodeNotFound && connect.CodeOf(err) != connect.CodeFailedPrecondition {
				t.Fatalf("ReleaseSeat %s after restart: %v", in.id, err)
			}
			in.seat, in.pending = seatFree, opNone
		}
	}
	for _, h := range holders {
		if h.pending != opNone {
			st.add(func(s *stats) { s.unanswered++ })
		}
		switch h.pending {
		case opRequest:
			if !request(ctx, t, c, h, st) {
				t.Fatalf("RequestCapabilities %s after restart: no answer", h.requestID)
			}
		case opReturn, opRelease:
			if !settle(ctx, t, c, h, st) {
				t.Fatalf("give back lease %s after restart: no answer", h.unsettled.id)
			}
		}
	}
}
