// Package keycheck decides at start-up which master key a server uses,
// against what its database already holds. Every tenant's signing key is
// sealed with the master key; a server whose master key does not open them
// would say it serves and then fail every license. So a server refuses to
// start instead, saying what to restore, and never makes a new master key
// over a database whose keys were sealed with another one.
package keycheck

import (
	"context"
	"errors"
	"fmt"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/signing"
)

// sampler is a store that reads one sealed key across tenants in one query
// (the PostgreSQL store); other stores are sampled through licensor.Store.
type sampler interface {
	SampleSealedKey(ctx context.Context) (keyID string, sealed []byte, ok bool, err error)
}

// Sample returns one sealed signing key of the store: the newest key of the
// first tenant that has one, the key /readyz checks too. ok is false when
// the store holds no signing key at all.
func Sample(ctx context.Context, st licensor.Store) (keyID string, sealed []byte, ok bool, err error) {
	if s, yes := st.(sampler); yes {
		return s.SampleSealedKey(ctx)
	}
	// Every tenant gets its first key when it is made, so this reads the
	// first tenant and its keys; the loop only goes on past tenants that
	// somehow have none.
	opts := licensor.ListOptions{Limit: licensor.MaxListLimit}
	for {
		ts, err := st.ListTenants(ctx, opts)
		if err != nil {
			return "", nil, false, err
		}
		for _, t := range ts {
			keys, err := st.ListSigningKeys(licensor.WithTenant(ctx, t.ID))
			if err != nil {
				return "", nil, false, err
			}
			if len(keys) > 0 {
				return keys[0].ID, keys[0].Sealed, true, nil
			}
		}
		if len(ts) < opts.Limit {
			return "", nil, false, nil
		}
		opts.After = ts[len(ts)-1].ID
	}
}

// Sealer returns the sealer of the server whose store is st and whose data
// directory is dataDir. The master key comes from LICENSOR_MASTER_KEY or
// <dataDir>/master.key. It is made (master.key) only when there is none and
// the store holds no sealed key yet. It is refused when the store holds
// sealed keys and there is no master key, or the key does not open them:
// the error says what to restore.
func Sealer(ctx context.Context, st licensor.Store, dataDir string) (*signing.Sealer, error) {
	keyID, sealed, has, err := Sample(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("read a signing key to check the master key: %w", err)
	}
	mk, err := signing.LoadMasterKey(dataDir)
	switch {
	case errors.Is(err, signing.ErrNoMasterKey) && has:
		return nil, fmt.Errorf("the database holds signing keys sealed with a master key, and this server has none (no LICENSOR_MASTER_KEY, no %s): "+
			"restore master.key from the backup of this data directory, or set LICENSOR_MASTER_KEY to the key the database was sealed with; "+
			"a new key cannot open the existing ones, so none is made", signing.MasterKeySource(dataDir))
	case errors.Is(err, signing.ErrNoMasterKey):
		mk, err = signing.LoadOrCreateMasterKey(dataDir)
	}
	if err != nil {
		return nil, err
	}
	sealer, err := signing.NewSealer(mk)
	if err != nil {
		return nil, err
	}
	if !has {
		return sealer, nil
	}
	if _, err := sealer.Open(keyID, sealed); err != nil {
		return nil, fmt.Errorf("the master key (%s) does not open the signing keys in this database: "+
			"restore the master.key that belongs to this database from backup, or set LICENSOR_MASTER_KEY to it; "+
			"every server on one shared database needs the same master key", signing.MasterKeySource(dataDir))
	}
	return sealer, nil
}
