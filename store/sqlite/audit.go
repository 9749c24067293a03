package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/licensor/licensor"
)

const auditCols = `id, tenant_id, at, actor_role, token_id, action, object_type, object_id, before_json, after_json`

// AppendAudit stores e in e.TenantID's log, or the operator's if it is
// empty. It needs no scope; with one, e must belong to it (ENOTFOUND
// otherwise, as for any other tenant). ENOTFOUND for an unknown tenant.
// The table's triggers refuse any later change.
func (db *DB) AppendAudit(ctx context.Context, e *licensor.AuditEntry) error {
	if scope, ok := licensor.TenantFrom(ctx); ok && e.TenantID != "" && e.TenantID != scope {
		return licensor.Errorf(licensor.ENOTFOUND, "tenant %s not found", e.TenantID)
	}
	if e.ID == "" {
		e.ID = licensor.NewID(licensor.PrefixAudit)
	}
	e.At = db.stamp(e.At)
	var tenant any
	if e.TenantID != "" {
		tenant = e.TenantID
	}
	return db.write(ctx, "AppendAudit", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, tenant, micros(e.At), string(e.ActorRole), e.TokenID, e.Action, e.ObjectType, e.ObjectID,
			jsonArg(e.Before), jsonArg(e.After))
		return constraints{
			primaryKey: fmt.Sprintf("audit entry %s already exists", e.ID),
			foreignKey: fmt.Sprintf("tenant %s not found", e.TenantID),
		}.translate(err)
	})
}

// jsonArg stores a nil RawMessage as NULL.
func jsonArg(m json.RawMessage) any {
	if m == nil {
		return nil
	}
	return []byte(m)
}

// ListAudit returns entries of the scoped tenant, newest first (At, then
// id, descending), filtered by token, object type, object id and the
// half-open time range [Since, Until). f.After is the last id of the
// previous page.
func (db *DB) ListAudit(ctx context.Context, f licensor.AuditFilter) ([]*licensor.AuditEntry, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, err
	}
	opts, err := page(f.ListOptions)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + auditCols + ` FROM audit_log WHERE tenant_id = ?`
	args := []any{tid}
	if f.TokenID != "" {
		q += ` AND token_id = ?`
		args = append(args, f.TokenID)
	}
	if f.ObjectType != "" {
		q += ` AND object_type = ?`
		args = append(args, f.ObjectType)
	}
	if f.ObjectID != "" {
		q += ` AND object_id = ?`
		args = append(args, f.ObjectID)
	}
	if !f.Since.IsZero() {
		q += ` AND at >= ?`
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND at < ?`
		args = append(args, micros(f.Until))
	}
	if opts.After != "" {
		// An unknown cursor (or another tenant's) matches nothing: an empty page.
		q += ` AND (at, id) < (SELECT at, id FROM audit_log WHERE tenant_id = ? AND id = ?)`
		args = append(args, tid, opts.After)
	}
	q += ` ORDER BY at DESC, id DESC LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.rd.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, driverErr("ListAudit", err)
	}
	defer rows.Close()
	var out []*licensor.AuditEntry
	for rows.Next() {
		var e licensor.AuditEntry
		var tenant sql.NullString
		var role string
		var at int64
		var before, after []byte
		if err := rows.Scan(&e.ID, &tenant, &at, &role, &e.TokenID, &e.Action, &e.ObjectType, &e.ObjectID, &before, &after); err != nil {
			return nil, driverErr("ListAudit", err)
		}
		e.TenantID, e.ActorRole, e.At = tenant.String, licensor.Role(role), fromMicros(at)
		if before != nil {
			e.Before = json.RawMessage(before)
		}
		if after != nil {
			e.After = json.RawMessage(after)
		}
		out = append(out, &e)
	}
	return out, driverErr("ListAudit", rows.Err())
}
