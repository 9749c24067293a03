package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/licensor/licensor"
)

const auditCols = `id, tenant_id, at, actor_role, token_id, action, object_type, object_id, before_json, after_json`

// AppendAudit stores e in e.TenantID's log, or the operator's if it is
// empty. It needs no scope; with one, e must belong to it (ENOTFOUND
// otherwise, as for any other tenant). ENOTFOUND for an unknown tenant.
// The table's trigger refuses any later change.
func (db *DB) AppendAudit(ctx context.Context, e *licensor.AuditEntry) error {
	if scope, ok := licensor.TenantFrom(ctx); ok && e.TenantID != "" && e.TenantID != scope {
		return licensor.Errorf(licensor.ENOTFOUND, "tenant %s not found", e.TenantID)
	}
	if e.ID == "" {
		e.ID = licensor.NewID(licensor.PrefixAudit)
	}
	e.At = db.stamp(e.At)
	_, err := db.pool.Exec(ctx, `INSERT INTO audit_log (`+auditCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.ID, nullable(e.TenantID), micros(e.At), string(e.ActorRole), e.TokenID, e.Action, e.ObjectType, e.ObjectID,
		jsonArg(e.Before), jsonArg(e.After))
	return driverErr("AppendAudit", constraints{
		primaryKey: fmt.Sprintf("audit entry %s already exists", e.ID),
		foreignKey: fmt.Sprintf("tenant %s not found", e.TenantID),
	}.translate(err))
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
	q := `SELECT ` + auditCols + ` FROM audit_log WHERE tenant_id = $1`
	args := []any{tid}
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(cond, len(args))
	}
	if f.TokenID != "" {
		add(` AND token_id = $%d`, f.TokenID)
	}
	if f.ObjectType != "" {
		add(` AND object_type = $%d`, f.ObjectType)
	}
	if f.ObjectID != "" {
		add(` AND object_id = $%d`, f.ObjectID)
	}
	if !f.Since.IsZero() {
		add(` AND at >= $%d`, micros(f.Since))
	}
	if !f.Until.IsZero() {
		add(` AND at < $%d`, micros(f.Until))
	}
	if opts.After != "" {
		// An unknown cursor (or another tenant's) matches nothing: an empty page.
		add(` AND (at, id) < (SELECT at, id FROM audit_log WHERE tenant_id = $1 AND id = $%d)`, opts.After)
	}
	add(` ORDER BY at DESC, id DESC LIMIT $%d`, opts.Limit)
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, driverErr("ListAudit", err)
	}
	defer rows.Close()
	var out []*licensor.AuditEntry
	for rows.Next() {
		var e licensor.AuditEntry
		var tenant *string
		var role string
		var at int64
		var before, after []byte
		if err := rows.Scan(&e.ID, &tenant, &at, &role, &e.TokenID, &e.Action, &e.ObjectType, &e.ObjectID, &before, &after); err != nil {
			return nil, driverErr("ListAudit", err)
		}
		if tenant != nil {
			e.TenantID = *tenant
		}
		e.ActorRole, e.At = licensor.Role(role), fromMicros(at)
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
