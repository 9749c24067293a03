package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store"
)

// CreateToken stores t: in the scoped tenant, or, for an operator token, in
// no tenant at all (no scope needed; t.TenantID must be empty). ECONFLICT
// on a duplicate id or hash; ENOTFOUND for an unknown tenant or contract.
func (db *DB) CreateToken(ctx context.Context, t *licensor.Token) error {
	tid, err := store.NewToken(ctx, t, db.now)
	if err != nil {
		return err
	}
	tenant := store.Nullable(tid) // NULL for the operator
	_, err = db.pool.Exec(ctx, `INSERT INTO tokens (`+store.TokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		t.ID, tenant, string(t.Role), store.Nullable(t.ContractID), t.Name, t.Hash, t.Hint,
		micros(t.CreatedAt), micros(t.ExpiresAt), micros(t.RevokedAt))
	if isForeignKey(err) && t.ContractID != "" {
		// Both references may be missing; name the tenant first, as
		// SQLite (which does not say which failed) does.
		ok, err2 := exists(ctx, db.pool, `SELECT 1 FROM tenants WHERE id = $1`, tenant)
		if err2 != nil {
			return driverErr("CreateToken", err2)
		}
		if ok {
			return &licensor.Error{Code: licensor.ENOTFOUND, Message: fmt.Sprintf("contract %s not found", t.ContractID), Err: err}
		}
	}
	return driverErr("CreateToken", translateErr(err, store.TokenConstraints(t)))
}

// TokenByHash finds a token by the hash of its secret, in any tenant: it
// is how a request is authenticated, before a scope exists. ENOTFOUND.
func (db *DB) TokenByHash(ctx context.Context, hash []byte) (*licensor.Token, error) {
	t, err := store.ScanToken(db.pool.QueryRow(ctx, `SELECT `+store.TokenCols+` FROM tokens WHERE hash = $1`, hash))
	if err != nil {
		return nil, driverErr("TokenByHash", notFound(err, "token not found"))
	}
	return t, nil
}

// GetToken returns a token of the scoped tenant. ENOTFOUND.
func (db *DB) GetToken(ctx context.Context, id string) (*licensor.Token, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	t, err := store.ScanToken(db.pool.QueryRow(ctx, `SELECT `+store.TokenCols+` FROM tokens WHERE tenant_id = $1 AND id = $2`, tid, id))
	if err != nil {
		return nil, driverErr("GetToken", notFound(err, fmt.Sprintf("token %s not found", id)))
	}
	return t, nil
}

// ListTokens lists the scoped tenant's tokens by id: live ones only unless
// f.IncludeRevoked, optionally of one contract. An expired token is listed
// (it is not revoked); the caller decides with Token.Live.
func (db *DB) ListTokens(ctx context.Context, f licensor.TokenFilter) ([]*licensor.Token, error) {
	tid, opts, err := store.TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	return db.listTokens(ctx, "ListTokens", `tenant_id = $1`, []any{tid}, f, opts)
}

// listTokens lists the tokens that match where (with args) and f, a page
// of opts: the one query of ListTokens and ListOperatorTokens.
func (db *DB) listTokens(ctx context.Context, op, where string, args []any, f licensor.TokenFilter, opts licensor.ListOptions) ([]*licensor.Token, error) {
	args = append(args, opts.After)
	q := `SELECT ` + store.TokenCols + ` FROM tokens WHERE ` + where + fmt.Sprintf(` AND id > $%d`, len(args))
	if f.ContractID != "" {
		args = append(args, f.ContractID)
		q += fmt.Sprintf(` AND contract_id = $%d`, len(args))
	}
	if !f.IncludeRevoked {
		q += ` AND revoked_at = 0`
	}
	args = append(args, opts.Limit)
	q += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, driverErr(op, err)
	}
	defer rows.Close()
	out, err := store.All(rows, store.ScanToken)
	return out, driverErr(op, err)
}

// RevokeToken marks a token of the scoped tenant revoked at at and returns
// it. Revoking twice keeps the first time. ENOTFOUND.
func (db *DB) RevokeToken(ctx context.Context, id string, at time.Time) (*licensor.Token, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	at = db.stamp(at)
	// CASE keeps the first revocation: RETURNING gives the row either way.
	t, err := store.ScanToken(db.pool.QueryRow(ctx, `UPDATE tokens
		SET revoked_at = CASE WHEN revoked_at = 0 THEN $1 ELSE revoked_at END
		WHERE tenant_id = $2 AND id = $3 RETURNING `+store.TokenCols, micros(at), tid, id))
	if err != nil {
		return nil, driverErr("RevokeToken", notFound(err, fmt.Sprintf("token %s not found", id)))
	}
	return t, nil
}

// HasOperatorToken reports whether any live operator token exists: not
// revoked, and not expired by the store's clock.
func (db *DB) HasOperatorToken(ctx context.Context) (bool, error) {
	ok, err := exists(ctx, db.pool, `SELECT 1 FROM tokens
		WHERE tenant_id IS NULL AND revoked_at = 0 AND (expires_at = 0 OR expires_at > $1) LIMIT 1`, micros(db.now()))
	return ok, driverErr("HasOperatorToken", err)
}

// ListOperatorTokens lists operator tokens by id, as ListTokens does a
// tenant's. With a tenant scope it lists none: a scope never widens.
func (db *DB) ListOperatorTokens(ctx context.Context, f licensor.TokenFilter) ([]*licensor.Token, error) {
	opts, err := page(f.ListOptions)
	if err != nil {
		return nil, err
	}
	if !store.Unscoped(ctx) {
		return nil, nil
	}
	return db.listTokens(ctx, "ListOperatorTokens", `tenant_id IS NULL`, nil, f, opts)
}

// GetOperatorToken returns an operator token. ENOTFOUND, also for a
// tenant's token and within a tenant scope.
func (db *DB) GetOperatorToken(ctx context.Context, id string) (*licensor.Token, error) {
	if !store.Unscoped(ctx) {
		return nil, store.OperatorTokenNotFound(id)
	}
	t, err := store.ScanToken(db.pool.QueryRow(ctx, `SELECT `+store.TokenCols+` FROM tokens WHERE tenant_id IS NULL AND id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.OperatorTokenNotFound(id)
	}
	if err != nil {
		return nil, driverErr("GetOperatorToken", err)
	}
	return t, nil
}

// RevokeOperatorToken marks an operator token revoked at at and returns
// it, unless it is the last one live at at (EPRECONDITION). Every
// unrevoked operator token is locked first, in id order: a revocation
// racing this one waits, then sees the token it revoked as revoked, so two
// of them cannot each leave the other as the last. Revoking twice keeps
// the first time. ENOTFOUND.
func (db *DB) RevokeOperatorToken(ctx context.Context, id string, at time.Time) (*licensor.Token, error) {
	if !store.Unscoped(ctx) {
		return nil, store.OperatorTokenNotFound(id)
	}
	at = db.stamp(at)
	var t *licensor.Token
	err := db.tx(ctx, "RevokeOperatorToken", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+store.TokenCols+` FROM tokens
			WHERE tenant_id IS NULL AND (revoked_at = 0 OR id = $1) ORDER BY id FOR UPDATE`, id)
		if err != nil {
			return err
		}
		locked, err := store.All(rows, store.ScanToken)
		rows.Close()
		if err != nil {
			return err
		}
		var cur *licensor.Token
		others := false
		for _, o := range locked {
			switch {
			case o.ID == id:
				cur = o
			case o.Live(at):
				others = true
			}
		}
		if cur == nil {
			return store.OperatorTokenNotFound(id)
		}
		if cur.Live(at) && !others {
			return store.LastOperatorToken(id)
		}
		t, err = store.ScanToken(tx.QueryRow(ctx, `UPDATE tokens
			SET revoked_at = CASE WHEN revoked_at = 0 THEN $1 ELSE revoked_at END
			WHERE tenant_id IS NULL AND id = $2 RETURNING `+store.TokenCols, micros(at), id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}
