package store

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/licensor/licensor"
)

// SearchInstances returns a page of the scoped tenant's instances, newest
// hour of last check-in first, and the cursor of the next page. The order
// is the instances_seen index's, read backwards: (hour of last check-in,
// contract id, instance id), descending. Within an hour it is by ids, not
// by the exact time (the index holds hours, instance_hour.go), so that a
// page costs its own rows (plus those a filter passes over) however many
// instances checked in within the hour. The cursor is the last row's
// (last_seen_at, contract_id, instance_id) and the next page starts
// strictly below its hour and ids.
func (db *DB) SearchInstances(ctx context.Context, s licensor.InstanceSearch) ([]*licensor.Instance, string, error) {
	tid, err := licensor.MustTenant(ctx)
	if err != nil {
		return nil, "", err
	}
	q, args, err := SearchInstancesQuery(db.d, tid, s)
	if err != nil {
		return nil, "", err
	}
	if err := db.eng.Sync(ctx); err != nil {
		return nil, "", db.Final("SearchInstances", err)
	}
	rows, err := db.eng.ReadUnprepared().Query(ctx, q, args...)
	if err != nil {
		return nil, "", db.Final("SearchInstances", err)
	}
	defer rows.Close()
	out, err := All(rows, ScanInstance)
	if err != nil {
		return nil, "", db.Final("SearchInstances", err)
	}
	next := ""
	if len(out) > s.Limit {
		out = out[:s.Limit]
		last := out[len(out)-1]
		next = instanceCursor(Micros(last.LastSeenAt), last.ContractID, last.ID)
	}
	return out, next, nil
}

// SearchInstancesQuery is the statement SearchInstances runs for s in
// tenant tid, and its arguments (exported so that an engine's tests can
// check its plan). EINVALID for a cursor it did not make.
func SearchInstancesQuery(d *Dialect, tid string, s licensor.InstanceSearch) (string, []any, error) {
	var q strings.Builder
	args := []any{tid}
	q.WriteString(`SELECT ` + InstanceCols + ` FROM instances WHERE tenant_id = ?`)
	if s.Cursor != "" {
		seen, contract, instance, err := parseInstanceCursor(s.Cursor)
		if err != nil {
			return "", nil, err
		}
		q.WriteString(` AND (last_seen_hour, contract_id, instance_id) < (?, ?, ?)`)
		args = append(args, HourOf(seen), contract, instance)
	}
	if s.ContractID != "" {
		q.WriteString(` AND contract_id = ?`)
		args = append(args, s.ContractID)
	}
	if s.CustomerID != "" {
		q.WriteString(` AND contract_id IN (SELECT id FROM contracts WHERE tenant_id = ? AND customer_id = ?)`)
		args = append(args, tid, s.CustomerID)
	}
	if !s.SeenSince.IsZero() {
		q.WriteString(` AND last_seen_hour >= ? AND last_seen_at >= ?`)
		args = append(args, HourOf(Micros(s.SeenSince)), Micros(s.SeenSince))
	}
	if !s.SeenBefore.IsZero() {
		q.WriteString(` AND last_seen_hour <= ? AND last_seen_at < ?`)
		args = append(args, HourOf(Micros(s.SeenBefore)), Micros(s.SeenBefore))
	}
	if s.IDPrefix != "" {
		// A range, not LIKE: it needs no escaping and both engines compare
		// these columns bytewise.
		q.WriteString(` AND instance_id >= ? AND instance_id < ?`)
		args = append(args, s.IDPrefix, s.IDPrefix+"\U0010FFFF")
	}
	if s.ProductVersion != "" {
		q.WriteString(` AND ` + d.JSONText("telemetry_json", "product_version") + ` = ?`)
		args = append(args, s.ProductVersion)
	}
	if s.IDPrefix != "" {
		// The unary + keeps the planner from walking instances_seen in
		// order and filtering the whole tenant: a prefix range of
		// instances_id, then a sort of only what matched.
		q.WriteString(` ORDER BY +last_seen_hour DESC, contract_id DESC, instance_id DESC LIMIT ?`)
	} else {
		q.WriteString(` ORDER BY last_seen_hour DESC, contract_id DESC, instance_id DESC LIMIT ?`)
	}
	args = append(args, s.Limit+1) // one more: is there a next page?
	return q.String(), args, nil
}

// SearchInstancesCursor is the cursor after an instance last seen at
// seen (Unix microseconds), for the engines' plan tests.
func SearchInstancesCursor(seen int64, contract, instance string) string {
	return instanceCursor(seen, contract, instance)
}

// instanceCursor is the opaque cursor after an instance: its last check-in
// and ids, base64 so that nobody builds one by hand.
func instanceCursor(seen int64, contract, instance string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(seen, 10) + " " + contract + " " + instance))
}

func parseInstanceCursor(c string) (int64, string, string, error) {
	bad := licensor.Errorf(licensor.EINVALID, "page token is not one this search returned; start again without it")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", "", bad
	}
	parts := strings.SplitN(string(raw), " ", 3)
	if len(parts) != 3 {
		return 0, "", "", bad
	}
	seen, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return 0, "", "", bad
	}
	return seen, parts[1], parts[2], nil
}
