package licensor

import "context"

// ChangeFeed tells open WatchLicense streams that a contract changed. The
// in-process feed (service.Hub) serves one server; the PostgreSQL store
// implements it with LISTEN/NOTIFY so that a change made through any server
// reaches streams held on every server.
type ChangeFeed interface {
	// Publish announces that a contract of a tenant changed.
	Publish(ctx context.Context, tenantID, contractID string) error
	// Subscribe returns a channel that receives a value (coalesced: at most
	// one pending) after each change of the contract, and a cancel func that
	// must be called to release it.
	Subscribe(tenantID, contractID string) (<-chan struct{}, func())
}
