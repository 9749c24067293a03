package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/store/internal/newrecord"
	"github.com/licensor/licensor/store/internal/sqlconv"
	"github.com/licensor/licensor/store/internal/tenantscope"
)

// CreateToken stores t: in the scoped tenant, or, for an operator token, in
// no tenant at all (no scope needed; t.TenantID must be empty). ECONFLICT
// on a duplicate id or hash; ENOTFOUND for an unknown tenant or contract.
func (db *DB) CreateToken(ctx context.Context, t *licensor.Token) error {
	tid, err := newrecord.Token(ctx, t, db.now)
	if err != nil {
		return err
	}
	tenant := sqlconv.Nullable(tid) // NULL for the operator
	_, err = db.pool.Exec(ctx, `INSERT INTO tokens (`+sqlconv.TokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		t.ID, tenant, string(t.Role), sqlconv.Nullable(t.ContractID), t.Name, t.Hash, t.Hint,
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
	return driverErr("CreateToken", translateErr(err, newrecord.TokenConstraints(t)))
}

// TokenByHash finds a token by the hash of its secret, in any tenant: it
// is how a request is authenticated, before a scope exists. ENOTFOUND.
func (db *DB) TokenByHash(ctx context.Context, hash []byte) (*licensor.Token, error) {
	t, err := sqlconv.ScanToken(db.pool.QueryRow(ctx, `SELECT `+sqlconv.TokenCols+` FROM tokens WHERE hash = $1`, hash))
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
	t, err := sqlconv.ScanToken(db.pool.QueryRow(ctx, `SELECT `+sqlconv.TokenCols+` FROM tokens WHERE tenant_id = $1 AND id = $2`, tid, id))
	if err != nil {
		return nil, driverErr("GetToken", notFound(err, fmt.Sprintf("token %s not found", id)))
	}
	return t, nil
}

// ListTokens lists the scoped tenant's tokens by id: live ones only unless
// f.IncludeRevoked, optionally of one contract. An expired token is listed
// (it is not revoked); the caller decides with Token.Live.
func (db *DB) ListTokens(ctx context.Context, f licensor.TokenFilter) ([]*licensor.Token, error) {
	tid, opts, err := tenantscope.List(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + sqlconv.TokenCols + ` FROM tokens WHERE tenant_id = $1 AND id > $2`
	args := []any{tid, opts.After}
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
		return nil, driverErr("ListTokens", err)
	}
	defer rows.Close()
	out, err := sqlconv.All(rows, sqlconv.ScanToken)
	return out, driverErr("ListTokens", err)
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
	t, err := sqlconv.ScanToken(db.pool.QueryRow(ctx, `UPDATE tokens
		SET revoked_at = CASE WHEN revoked_at = 0 THEN $1 ELSE revoked_at END
		WHERE tenant_id = $2 AND id = $3 RETURNING `+sqlconv.TokenCols, micros(at), tid, id))
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
