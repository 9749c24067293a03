package postgres

import (
	"context"
	"slices"
)

// The queue of grouped requests and the lanes (lease_group.go): who runs
// now, who waits, and who takes the next group.

// enter returns the group op's caller is to run now, op at its head: op
// alone when its key is free here and a lane too, else the queue's ops
// whose keys are free when a lane is handed to op's caller. nil once
// another caller's group has run op, or when ctx ended while op was still
// queued (it then leaves the queue, and writes nothing).
func (e *engine) enter(ctx context.Context, op *groupOp) []*groupOp {
	g := &e.groups
	g.mu.Lock()
	if g.inFlight == nil {
		g.inFlight = make(map[groupKey]struct{})
	}
	if _, busy := g.inFlight[op.key]; !busy && g.lanes[op.key.lane()] < maxGroupLanes {
		// Those that come while op runs queue for the next group.
		g.lanes[op.key.lane()]++
		g.inFlight[op.key] = struct{}{}
		g.mu.Unlock()
		return []*groupOp{op}
	}
	op.wake = make(chan wakeKind, 1)
	g.queue = append(g.queue, op)
	queued := g.queued
	g.mu.Unlock()
	if queued != nil {
		queued()
	}
	var wake wakeKind
	select {
	case wake = <-op.wake:
	case <-ctx.Done():
		// The caller went away: leave the queue unless op is already in
		// a group or leads the next one, which it then waits for.
		g.mu.Lock()
		if i := slices.Index(g.queue, op); i >= 0 && !op.leads {
			g.queue = slices.Delete(g.queue, i, i+1)
			g.mu.Unlock()
			return nil // op.out is outNone: the general path answers ctx's error
		}
		g.mu.Unlock()
		wake = <-op.wake
	}
	if wake == answered {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.take(op)
}

// take removes lead's group from the queue: lead (its lane and key
// reserved by handOff), then in arrival order the queued ops of its kind
// whose keys are free or already in the group, at most maxGroupOps, their
// keys now in flight. g.mu is held.
func (g *opGroups) take(lead *groupOp) []*groupOp {
	ops := []*groupOp{lead}
	keys := map[groupKey]bool{lead.key: true}
	rest := g.queue[:0]
	for _, op := range g.queue {
		if op == lead {
			continue
		}
		_, busy := g.inFlight[op.key]
		if len(ops) < maxGroupOps && !op.leads && op.key.lane() == lead.key.lane() && (keys[op.key] || !busy) {
			keys[op.key] = true
			g.inFlight[op.key] = struct{}{}
			ops = append(ops, op)
			continue
		}
		rest = append(rest, op)
	}
	clear(g.queue[len(rest):])
	g.queue = rest
	return ops
}

// release frees the keys of a group that has committed (or ended) and its
// lane, and hands the free lanes on.
func (e *engine) release(ops []*groupOp) {
	g := &e.groups
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, op := range ops {
		delete(g.inFlight, op.key)
	}
	g.lanes[ops[0].key.lane()]--
	g.handOff()
}

// handOff hands each free lane to the first queued op of its kind whose
// key is free, reserving its key; that op's caller takes the next group.
// g.mu is held.
func (g *opGroups) handOff() {
	for lane := range g.lanes {
		for g.lanes[lane] < maxGroupLanes {
			var lead *groupOp
			for _, op := range g.queue {
				if _, busy := g.inFlight[op.key]; !busy && !op.leads && op.key.lane() == lane {
					lead = op
					break
				}
			}
			if lead == nil {
				break
			}
			lead.leads = true
			g.lanes[lane]++
			g.inFlight[lead.key] = struct{}{}
			lead.wake <- runLead
		}
	}
}

// answer records what a group that ran wrote in the index and wakes its
// ops' callers (all but self's, which ran it).
func (e *engine) answer(ops []*groupOp, self *groupOp) {
	g := &e.groups
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, op := range ops {
		if op.out == outDone && op.err == nil {
			g.index.record(op)
		}
		if op != self {
			op.wake <- answered
		}
	}
}
