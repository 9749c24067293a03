package store

import (
	"context"
	"fmt"
	"time"

	"github.com/licensor/licensor"
)

// CreateToken stores t: in the scoped tenant, or, for an operator token, in
// no tenant at all (no scope needed; t.TenantID must be empty). ECONFLICT
// on a duplicate id or hash; ENOTFOUND for an unknown tenant or contract.
func (db *DB) CreateToken(ctx context.Context, t *licensor.Token) error {
	tid, err := NewToken(ctx, t, db.now)
	if err != nil {
		return err
	}
	tenant, contract := Nullable(tid), Nullable(t.ContractID) // NULL for the operator
	return db.writeOne(ctx, "CreateToken", func(tx Conn) error {
		_, err := tx.Exec(ctx, `INSERT INTO tokens (`+TokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, tenant, string(t.Role), contract, t.Name, t.Hash, t.Hint,
			Micros(t.CreatedAt), Micros(t.ExpiresAt), Micros(t.RevokedAt))
		if db.d.Constraint(err) == ForeignKey && contract != nil {
			// Both references may be missing; name the tenant first.
			ok, err2 := Exists(ctx, tx, `SELECT 1 FROM tenants WHERE id = ?`, tenant)
			if err2 != nil {
				return err2
			}
			if ok {
				return &licensor.Error{Code: licensor.ENOTFOUND, Message: fmt.Sprintf("contract %s not found", t.ContractID), Err: err}
			}
		}
		return db.translate(err, TokenConstraints(t))
	})
}

// TokenByHash finds a token by the hash of its secret, in any tenant: it
// is how a request is authenticated, before a scope exists. ENOTFOUND.
func (db *DB) TokenByHash(ctx context.Context, hash []byte) (*licensor.Token, error) {
	t, err := ScanToken(db.read().QueryRow(ctx, `SELECT `+TokenCols+` FROM tokens WHERE hash = ?`, hash))
	if err != nil {
		return nil, db.Final("TokenByHash", NotFound(err, "token not found"))
	}
	return t, nil
}

// GetToken returns a token of the scoped tenant. ENOTFOUND.
func (db *DB) GetToken(ctx context.Context, id string) (*licensor.Token, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	t, err := ScanToken(db.read().QueryRow(ctx, `SELECT `+TokenCols+` FROM tokens WHERE tenant_id = ? AND id = ?`, tid, id))
	if err != nil {
		return nil, db.Final("GetToken", NotFound(err, fmt.Sprintf("token %s not found", id)))
	}
	return t, nil
}

// ListTokens lists the scoped tenant's tokens by id: live ones only unless
// f.IncludeRevoked, optionally of one contract. An expired token is listed
// (it is not revoked); the caller decides with Token.Live.
func (db *DB) ListTokens(ctx context.Context, f licensor.TokenFilter) ([]*licensor.Token, error) {
	tid, opts, err := TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	return db.listTokens(ctx, "ListTokens", `tenant_id = ?`, []any{tid}, f, opts)
}

// listTokens lists the tokens that match where (with args) and f, a page
// of opts: the one query of ListTokens and ListOperatorTokens.
func (db *DB) listTokens(ctx context.Context, op, where string, args []any, f licensor.TokenFilter, opts licensor.ListOptions) ([]*licensor.Token, error) {
	q := `SELECT ` + TokenCols + ` FROM tokens WHERE ` + where + ` AND id > ?`
	args = append(args, opts.After)
	if f.ContractID != "" {
		q += ` AND contract_id = ?`
		args = append(args, f.ContractID)
	}
	if !f.IncludeRevoked {
		q += ` AND revoked_at = 0`
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.read().Query(ctx, q, args...)
	if err != nil {
		return nil, db.Final(op, err)
	}
	defer rows.Close()
	out, err := All(rows, ScanToken)
	return out, db.Final(op, err)
}

// RevokeToken marks a token of the scoped tenant revoked at at and returns
// it. Revoking twice keeps the first time. ENOTFOUND.
func (db *DB) RevokeToken(ctx context.Context, id string, at time.Time) (*licensor.Token, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	at = db.stamp(at)
	var t *licensor.Token
	err = db.writeOne(ctx, "RevokeToken", func(tx Conn) error {
		// CASE keeps the first revocation: RETURNING gives the row either way.
		var err error
		t, err = ScanToken(tx.QueryRow(ctx, `UPDATE tokens
			SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END
			WHERE tenant_id = ? AND id = ? RETURNING `+TokenCols, Micros(at), tid, id))
		return NotFound(err, fmt.Sprintf("token %s not found", id))
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// HasOperatorToken reports whether any live operator token exists: not
// revoked, and not expired by the store's clock.
func (db *DB) HasOperatorToken(ctx context.Context) (bool, error) {
	ok, err := Exists(ctx, db.read(), `SELECT 1 FROM tokens
		WHERE tenant_id IS NULL AND revoked_at = 0 AND (expires_at = 0 OR expires_at > ?) LIMIT 1`, Micros(db.now()))
	return ok, db.Final("HasOperatorToken", err)
}

// ListOperatorTokens lists operator tokens by id, as ListTokens does a
// tenant's. With a tenant scope it lists none: a scope never widens.
func (db *DB) ListOperatorTokens(ctx context.Context, f licensor.TokenFilter) ([]*licensor.Token, error) {
	opts, err := f.ListOptions.Normalize()
	if err != nil {
		return nil, err
	}
	if !Unscoped(ctx) {
		return nil, nil
	}
	return db.listTokens(ctx, "ListOperatorTokens", `tenant_id IS NULL`, nil, f, opts)
}

// GetOperatorToken returns an operator token. ENOTFOUND, also for a
// tenant's token and within a tenant scope.
func (db *DB) GetOperatorToken(ctx context.Context, id string) (*licensor.Token, error) {
	if !Unscoped(ctx) {
		return nil, OperatorTokenNotFound(id)
	}
	t, err := ScanToken(db.read().QueryRow(ctx, `SELECT `+TokenCols+` FROM tokens WHERE tenant_id IS NULL AND id = ?`, id))
	if NoRows(err) {
		return nil, OperatorTokenNotFound(id)
	}
	if err != nil {
		return nil, db.Final("GetOperatorToken", err)
	}
	return t, nil
}

// RevokeOperatorToken marks an operator token revoked at at and returns
// it, unless it is the last one live at at (EPRECONDITION). Every
// unrevoked operator token is read first, in id order, and locked where
// the engine has row locks (SQLite's single writer serialises the whole
// transaction): a revocation racing this one waits, then sees the token it
// revoked as revoked, so two of them cannot each leave the other as the
// last. Revoking twice keeps the first time. ENOTFOUND.
func (db *DB) RevokeOperatorToken(ctx context.Context, id string, at time.Time) (*licensor.Token, error) {
	if !Unscoped(ctx) {
		return nil, OperatorTokenNotFound(id)
	}
	at = db.stamp(at)
	var t *licensor.Token
	err := db.write(ctx, "RevokeOperatorToken", func(tx Conn) error {
		rows, err := tx.Query(ctx, `SELECT `+TokenCols+` FROM tokens
			WHERE tenant_id IS NULL AND (revoked_at = 0 OR id = ?) ORDER BY id`+db.d.ForUpdate, id)
		if err != nil {
			return err
		}
		locked, err := All(rows, ScanToken)
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
			return OperatorTokenNotFound(id)
		}
		if cur.Live(at) && !others {
			return LastOperatorToken(id)
		}
		t, err = ScanToken(tx.QueryRow(ctx, `UPDATE tokens
			SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END
			WHERE tenant_id IS NULL AND id = ? RETURNING `+TokenCols, Micros(at), id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}
