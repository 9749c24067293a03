package service

import (
	"context"
	"strings"

	"github.com/licensor/licensor"
)

// maxNamedSeats bounds how many seat holders an EEXHAUSTED message names.
const maxNamedSeats = 10

// seatsTaken turns a store's EEXHAUSTED for a production-URL contract into
// an error naming the URLs that hold the seats, so the customer can see
// which site to release. Other errors pass through, and so does the
// refusal of a check-in that took no seat (env is not production): that
// EEXHAUSTED is the non-production cap's, whose message says so itself.
func (s *Service) seatsTaken(ctx context.Context, c *licensor.Contract, env string, err error) error {
	if c.SeatRule != licensor.SeatProductionURL || licensor.ErrorCode(err) != licensor.EEXHAUSTED || !takesSeat(c, env) {
		return err
	}
	holders, lerr := s.store.ListInstances(ctx, licensor.InstanceFilter{
		ContractID: c.ID, SeatHolders: true, ListOptions: licensor.ListOptions{Limit: maxNamedSeats + 1},
	})
	if lerr != nil || len(holders) == 0 {
		return err
	}
	var urls []string
	for i, h := range holders {
		if i == maxNamedSeats {
			urls = append(urls, "and more")
			break
		}
		urls = append(urls, h.ID)
	}
	return licensor.Errorf(licensor.EEXHAUSTED,
		"all %d production URL seats of contract %s are taken by %s; release one (admin instance release-seat) or raise the contract's seats",
		c.MaxSeats, c.ID, strings.Join(urls, ", "))
}
