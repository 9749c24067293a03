package service

import "context"

// ContractSeats returns the seat count (0: unlimited) of the caller's
// contract, from the contract cache, after the same checks as WatchLicense:
// the server bounds a contract's open license streams by it.
// Codes: EUNAUTHORIZED, EFORBIDDEN (not a contract token, or another
// contract's), EINVALID, ENOTFOUND.
func (s *Service) ContractSeats(ctx context.Context, contractID, instanceID string) (int, error) {
	_, c, err := s.contractForInstance(ctx, contractID, &instanceID)
	if err != nil {
		return 0, err
	}
	return c.MaxSeats, nil
}
