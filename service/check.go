package service

import (
	"context"

	"github.com/licensor/licensor"
)

// check is what a license request records, decided before anything is
// issued or stored.
type check struct {
	instanceID string
	env        string
	remoteAddr string
	telemetry  *licensor.Telemetry // as the tenant keeps it; nil: none sent
}

// prepareCheck validates what an instance sent and decides what is kept:
// the instance id (the normalized origin under the production-URL seat
// rule), the environment, and the telemetry after the tenant's field
// opt-outs, IP truncation and token redaction. An invalid request is
// refused here, before a license is signed or a row is written.
// Nothing of the request's headers (the bearer token among them) is ever
// part of what is kept: telemetry comes from the message body only.
func (s *Service) prepareCheck(ctx context.Context, c *licensor.Contract, req LicenseRequest) (check, error) {
	id, err := c.InstanceKey(req.InstanceID)
	if err != nil {
		return check{}, err
	}
	ch := check{instanceID: id, env: req.Environment, remoteAddr: req.RemoteAddr}
	if req.Telemetry != nil {
		if err := req.Telemetry.Validate(); err != nil {
			return check{}, err
		}
		if ch.env == "" {
			ch.env = req.Telemetry.Environment
		}
	}
	if err := licensor.ValidateEnvironment(ch.env); err != nil {
		return check{}, err
	}
	t, err := s.tenant(ctx)
	if err != nil {
		return check{}, err
	}
	if req.Telemetry != nil {
		ch.telemetry = t.KeepTelemetry(*req.Telemetry)
	}
	if t.TruncateIPs {
		ch.remoteAddr = licensor.TruncateAddr(ch.remoteAddr)
	}
	return ch, nil
}
