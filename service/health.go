package service

import (
	"context"

	"github.com/licensor/licensor"
)

// Ready reports whether this server can serve: the store answers, and the
// signing keys load — the newest key of the first tenant opens with this
// server's master key (a wrong or missing master key makes every license
// fail, so the server must not take traffic). Used by /readyz and gRPC
// health.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return err
	}
	ts, err := s.store.ListTenants(ctx, licensor.ListOptions{Limit: 1})
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		return nil // nothing to sign for yet
	}
	keys, err := s.store.ListSigningKeys(licensor.WithTenant(ctx, ts[0].ID))
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	if _, err := s.sealer.Open(keys[0].ID, keys[0].Sealed); err != nil {
		return &licensor.Error{Code: licensor.EUNAVAILABLE, Message: "signing keys do not load: the master key does not match the database", Err: err}
	}
	return nil
}
