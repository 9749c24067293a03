package store

import (
	"context"
	"fmt"
	"time"

	"github.com/licensor/licensor"
)

// PortalLinkCols are the columns scanPortalLink reads.
const PortalLinkCols = `tenant_id, id, customer_id, name, hash, hint, created_at, expires_at, revoked_at`

func scanPortalLink(s Scanner) (*licensor.PortalLink, error) {
	var l licensor.PortalLink
	var created, expires, revoked int64
	if err := s.Scan(&l.TenantID, &l.ID, &l.CustomerID, &l.Name, &l.Hash, &l.Hint, &created, &expires, &revoked); err != nil {
		return nil, err
	}
	l.CreatedAt, l.ExpiresAt, l.RevokedAt = FromMicros(created), FromMicros(expires), FromMicros(revoked)
	return &l, nil
}

// CreatePortalLink stores l in the scoped tenant. ENOTFOUND for an
// unknown customer; ECONFLICT on a duplicate id or hash.
func (db *DB) CreatePortalLink(ctx context.Context, l *licensor.PortalLink) error {
	tid, err := scoped(ctx, &l.TenantID, &l.ID, licensor.PrefixPortalLink, &l.CreatedAt, db.now)
	if err != nil {
		return err
	}
	return db.writeOne(ctx, "CreatePortalLink", func(tx Conn) error {
		_, err := tx.Exec(ctx, `INSERT INTO portal_links (`+PortalLinkCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			tid, l.ID, l.CustomerID, l.Name, l.Hash, l.Hint, Micros(l.CreatedAt), Micros(Norm(l.ExpiresAt)), Micros(l.RevokedAt))
		return db.translate(err, Messages{
			PrimaryKey: fmt.Sprintf("portal link %s already exists", l.ID),
			Unique:     "portal link secret already in use",
			ForeignKey: fmt.Sprintf("customer %s not found", l.CustomerID),
		})
	})
}

// PortalLinkByHash finds a link by the hash of its secret, in any tenant.
// ENOTFOUND.
func (db *DB) PortalLinkByHash(ctx context.Context, hash []byte) (*licensor.PortalLink, error) {
	l, err := scanPortalLink(db.read().QueryRow(ctx, `SELECT `+PortalLinkCols+` FROM portal_links WHERE hash = ?`, hash))
	if err != nil {
		return nil, db.Final("PortalLinkByHash", NotFound(err, "portal link not found"))
	}
	return l, nil
}

// ListPortalLinks lists the scoped tenant's links by id, optionally of one
// customer; live ones at f.Now only unless f.IncludeRevoked.
func (db *DB) ListPortalLinks(ctx context.Context, f licensor.PortalLinkFilter) ([]*licensor.PortalLink, error) {
	tid, opts, err := TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + PortalLinkCols + ` FROM portal_links WHERE tenant_id = ? AND id > ?`
	args := []any{tid, opts.After}
	if f.CustomerID != "" {
		q += ` AND customer_id = ?`
		args = append(args, f.CustomerID)
	}
	if !f.IncludeRevoked {
		now := f.Now
		if now.IsZero() {
			now = db.now()
		}
		q += ` AND revoked_at = 0 AND expires_at > ?`
		args = append(args, Micros(now))
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.eng.ReadUnprepared().Query(ctx, q, args...)
	if err != nil {
		return nil, db.Final("ListPortalLinks", err)
	}
	defer rows.Close()
	out, err := All(rows, scanPortalLink)
	return out, db.Final("ListPortalLinks", err)
}

// RevokePortalLink marks a link of the scoped tenant revoked at at; a
// revoked link keeps its first time. ENOTFOUND.
func (db *DB) RevokePortalLink(ctx context.Context, id string, at time.Time) (*licensor.PortalLink, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	var l *licensor.PortalLink
	err = db.writeOne(ctx, "RevokePortalLink", func(tx Conn) error {
		var err error
		l, err = scanPortalLink(tx.QueryRow(ctx, `UPDATE portal_links SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END
			WHERE tenant_id = ? AND id = ? RETURNING `+PortalLinkCols, Micros(db.stamp(at)), tid, id))
		return NotFound(err, fmt.Sprintf("portal link %s not found", id))
	})
	return l, err
}
