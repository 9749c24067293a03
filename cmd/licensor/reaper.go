package main

import (
	"context"
	"time"

	"github.com/licensor/licensor/service"
)

// ReaperInterval is how often serve frees expired leases. Grants also free
// their pool's expired leases first, so this only bounds how long an
// expired lease shows as held in listings and usage.
const ReaperInterval = 5 * time.Second

// reaperJob runs the lease reaper until stopped.
type reaperJob struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func startReaper(svc *service.Service, every time.Duration) *reaperJob {
	ctx, cancel := context.WithCancel(context.Background())
	j := &reaperJob{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(j.done)
		svc.RunReaper(ctx, every)
	}()
	return j
}

// stop ends the reaper and waits for a sweep in progress to finish, so the
// store is not closed under it.
func (j *reaperJob) stop() {
	if j == nil {
		return
	}
	j.cancel()
	<-j.done
}
