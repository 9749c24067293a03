package store

import (
	"context"
	"encoding/json"

	"github.com/licensor/licensor"
)

// AppendAudit stores e in e.TenantID's log, or the operator's if it is
// empty. It needs no scope; with one, e must belong to it (ENOTFOUND
// otherwise, as for any other tenant). ENOTFOUND for an unknown tenant.
// The table's triggers refuse any later change.
func (db *DB) AppendAudit(ctx context.Context, e *licensor.AuditEntry) error {
	if err := NewAuditEntry(ctx, e, db.now); err != nil {
		return err
	}
	return db.writeOne(ctx, "AppendAudit", func(tx Conn) error {
		_, err := tx.Exec(ctx, `INSERT INTO audit_log (`+AuditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, Nullable(e.TenantID), Micros(e.At), string(e.ActorRole), e.TokenID, e.Action, e.ObjectType, e.ObjectID,
			jsonArg(e.Before), jsonArg(e.After))
		return db.translate(err, AuditConstraints(e))
	})
}

// jsonArg stores a nil RawMessage as NULL (bytes are raw JSON to pgx's
// JSONB codec too).
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
	tid, opts, err := TenantList(ctx, f.ListOptions)
	if err != nil {
		return nil, err
	}
	return db.listAudit(ctx, "ListAudit", `tenant_id = ?`, []any{tid}, f, opts)
}

// ListOperatorAudit returns the operator's log (entries of no tenant) as
// ListAudit does a tenant's. With a tenant scope it lists none: a scope
// never widens.
func (db *DB) ListOperatorAudit(ctx context.Context, f licensor.AuditFilter) ([]*licensor.AuditEntry, error) {
	opts, err := f.ListOptions.Normalize()
	if err != nil {
		return nil, err
	}
	if !Unscoped(ctx) {
		return nil, nil
	}
	return db.listAudit(ctx, "ListOperatorAudit", `tenant_id IS NULL`, nil, f, opts)
}

// listAudit lists the entries of the log that log (with logArgs) selects,
// filtered by f, a page of opts: the one query of ListAudit and
// ListOperatorAudit.
func (db *DB) listAudit(ctx context.Context, op, log string, logArgs []any, f licensor.AuditFilter, opts licensor.ListOptions) ([]*licensor.AuditEntry, error) {
	q := `SELECT ` + AuditCols + ` FROM audit_log WHERE ` + log
	args := append([]any(nil), logArgs...)
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
	q, args = atWithin(q, args, f.Since, f.Until)
	if opts.After != "" {
		// An unknown cursor (or another log's) matches nothing: an empty page.
		q += ` AND (at, id) < (SELECT at, id FROM audit_log WHERE ` + log + ` AND id = ?)`
		args = append(append(args, logArgs...), opts.After)
	}
	q += ` ORDER BY at DESC, id DESC LIMIT ?`
	args = append(args, opts.Limit)
	rows, err := db.read().Query(ctx, q, args...)
	if err != nil {
		return nil, db.Final(op, err)
	}
	defer rows.Close()
	out, err := All(rows, ScanAuditEntry)
	return out, db.Final(op, err)
}
