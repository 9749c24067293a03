package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/service"
)

// licenseHandler serves licensor.v1.LicenseService.
type licenseHandler struct {
	svc *service.Service
	// stopping is closed when the server shuts down: open watch streams
	// then end cleanly instead of holding the shutdown until its deadline.
	stopping <-chan struct{}
	watches  *watchBound
}

var _ licensorv1connect.LicenseServiceHandler = (*licenseHandler)(nil)

func licenseRequest(ctx context.Context, peer connect.Peer, contractID, instanceID, host string, t *v1.Telemetry) service.LicenseRequest {
	return service.LicenseRequest{
		ContractID:       contractID,
		InstanceID:       instanceID,
		Host:             host,
		RemoteAddr:       peer.Addr,
		Environment:      t.GetEnvironment(),
		Telemetry:        telemetryFromPB(t),
		PeerCertificates: peerCerts(ctx),
	}
}

func (h *licenseHandler) GetLicense(ctx context.Context, req *connect.Request[v1.GetLicenseRequest]) (*connect.Response[v1.GetLicenseResponse], error) {
	m := req.Msg
	lr := licenseRequest(ctx, req.Peer(), m.GetContractId(), m.GetInstanceId(), m.GetHost(), m.GetTelemetry())
	lr.Fingerprint = m.GetFingerprint()
	is, err := h.svc.GetLicense(ctx, lr)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetLicenseResponse{License: issuedPB(is)}), nil
}

func (h *licenseHandler) WatchLicense(ctx context.Context, req *connect.Request[v1.WatchLicenseRequest], stream *connect.ServerStream[v1.WatchLicenseResponse]) error {
	m := req.Msg
	lr := licenseRequest(ctx, req.Peer(), m.GetContractId(), m.GetInstanceId(), m.GetHost(), m.GetTelemetry())
	lr.Fingerprint = m.GetFingerprint()
	seats, err := h.svc.ContractSeats(ctx, lr.ContractID, lr.InstanceID)
	if err != nil {
		return err
	}
	a, _ := licensor.ActorFrom(ctx) // set: ContractSeats checked it
	release, err := h.watches.acquire(ctx, a.TenantID, a.ContractID, seats)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := untilStopping(ctx, h.stopping)
	defer cancel()
	return h.svc.WatchLicense(ctx, lr, func(is *service.Issued) error {
		return stream.Send(&v1.WatchLicenseResponse{License: issuedPB(is)})
	})
}

// untilStopping is ctx, also cancelled once stopping is closed: a stream
// the server holds (WatchLicense, WaitCapabilities) ends when the server
// starts to stop, so a graceful shutdown does not wait on it.
func untilStopping(ctx context.Context, stopping <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
