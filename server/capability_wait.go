package server

import (
	"context"
	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/service"
)

// waitRetryAfter is the retry hint of a refused WaitCapabilities stream.
const waitRetryAfter = 5 * time.Second

// WaitCapabilities streams a waiting request's place in its pool's queue
// and then its answer. It holds no slot of the tenant's concurrency
// threshold while it waits (streams are not counted: limiter.go); the
// contract's open waits are bounded by Limits.WaitStreams instead.
func (h *capabilityHandler) WaitCapabilities(ctx context.Context, req *connect.Request[v1.WaitCapabilitiesRequest], stream *connect.ServerStream[v1.WaitCapabilitiesResponse]) error {
	m := req.Msg.GetRequest()
	if m == nil {
		return licensor.Errorf(licensor.EINVALID, "request is required: the capabilities to wait for")
	}
	if req.Msg.GetWait() == nil {
		return licensor.Errorf(licensor.EINVALID, "wait is required, e.g. 60s; without one, use RequestCapabilities")
	}
	wait, err := fromDur("wait", req.Msg.GetWait())
	if err != nil {
		return err
	}
	borrow, err := fromDur("borrow", m.GetBorrow())
	if err != nil {
		return err
	}
	a, ok := licensor.ActorFrom(ctx)
	if !ok {
		return licensor.Errorf(licensor.EUNAUTHORIZED, "no credentials: send Authorization: Bearer <token>")
	}
	release, err := h.waits.acquire(a.TenantID, a.ContractID)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := untilStopping(ctx, h.stopping)
	defer cancel()
	ans, err := h.svc.WaitCapabilities(ctx, service.CapabilityRequest{
		ContractID: m.GetContractId(), InstanceID: m.GetInstanceId(), Units: unitsFrom(m.GetCapabilities()),
		Preview: m.GetPreview(), AllowPartial: m.GetAllowPartial(), Borrow: borrow,
		RequestID: m.GetRequestId(), PoolID: m.GetPoolId(), Wait: wait,
	}, func(pos int) error {
		return stream.Send(&v1.WaitCapabilitiesResponse{Position: int32(min(pos, 1<<31-1))})
	})
	if err != nil {
		return err
	}
	return stream.Send(&v1.WaitCapabilitiesResponse{Answer: answerPB(ans), TimedOut: ans.TimedOut})
}

// waitBound counts the open WaitCapabilities streams of each contract: a
// waiting stream costs a goroutine and a queue row for as long as it
// waits, and one contract token could otherwise open thousands.
type waitBound struct {
	limit int // 0: no bound
	slots contractSlots
}

func newWaitBound(limit int) *waitBound { return &waitBound{limit: limit} }

func (b *waitBound) acquire(tenantID, contractID string) (func(), error) {
	if b.limit == 0 {
		return func() {}, nil
	}
	release, ok := b.slots.take(tenantID, contractID, b.limit)
	if !ok {
		err := licensor.Errorf(licensor.EEXHAUSTED, "contract %s already has %d requests waiting for capabilities, its limit; "+
			"wait for some to be answered, or ask the operator to raise --wait-streams", contractID, b.limit)
		err.RetryAfter = waitRetryAfter
		return nil, err
	}
	return release, nil
}
