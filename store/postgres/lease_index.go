package postgres

// leaseIndex maps leases granted by this server to their pools, bounded:
// two generations of at most indexGeneration entries, the older dropped
// whole when the newer fills (the return of a lease that outlives two
// generations reads its pool). A lease's pool never changes; a stale entry
// can only make a grouped return find nothing and go to the general path.
type leaseIndex struct {
	cur, old map[leaseKey]string
}

type leaseKey struct{ tenant, lease string }

const indexGeneration = 1 << 15

func (x *leaseIndex) add(k leaseKey, pool string) {
	if x.cur == nil || len(x.cur) >= indexGeneration {
		x.old, x.cur = x.cur, make(map[leaseKey]string, 1024)
	}
	x.cur[k] = pool
}

func (x *leaseIndex) pool(k leaseKey) (string, bool) {
	if p, ok := x.cur[k]; ok {
		return p, true
	}
	p, ok := x.old[k]
	return p, ok
}

func (x *leaseIndex) remove(k leaseKey) {
	delete(x.cur, k)
	delete(x.old, k)
}

// record notes what op wrote: a granted lease's pool, or a return.
func (x *leaseIndex) record(op *groupOp) {
	switch {
	case op.checkin != nil:
	case op.ret == nil:
		x.add(leaseKey{op.grant.Tenant, op.grant.Lease}, op.key.id)
	default:
		x.remove(leaseKey{op.key.tenant, op.ret.LeaseID})
	}
}
