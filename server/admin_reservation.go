package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
)

func (h *adminHandler) SetReservation(ctx context.Context, req *connect.Request[v1.SetReservationRequest]) (*connect.Response[v1.SetReservationResponse], error) {
	m := req.Msg
	p, err := h.svc.SetReservation(ctx, m.GetTenantId(), licensor.Reservation{
		PoolID: m.GetPoolId(), Feature: m.GetFeature(), InstanceID: m.GetInstanceId(), Units: m.GetUnits(),
	})
	if err != nil {
		return nil, err
	}
	out := &v1.SetReservationResponse{Pool: poolPB(p)}
	if out.Reservations, err = h.reservations(ctx, m.GetTenantId(), p.ID); err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// reservations lists a pool's reservations for a response.
func (h *adminHandler) reservations(ctx context.Context, tenantID, poolID string) ([]*v1.Reservation, error) {
	rs, err := h.svc.ListReservations(ctx, tenantID, poolID)
	if err != nil {
		return nil, err
	}
	out := make([]*v1.Reservation, len(rs))
	for i, r := range rs {
		out[i] = &v1.Reservation{PoolId: r.PoolID, Feature: r.Feature, InstanceId: r.InstanceID, Units: r.Units, Held: r.Held, Unused: r.Unused()}
	}
	return out, nil
}
