package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/licensor/licensor"
)

// recordTelemetry makes c.Telemetry the instance's latest and a point of its
// history, inside the check-in's transaction.
func recordTelemetry(ctx context.Context, tx *sql.Tx, tid string, c licensor.Checkin, inst *licensor.Instance) error {
	if c.Telemetry == nil {
		return nil
	}
	b, err := json.Marshal(c.Telemetry)
	if err != nil {
		return err
	}
	now := micros(norm(c.Now))
	if _, err := tx.ExecContext(ctx, `UPDATE instances SET telemetry_json = ?, telemetry_at = ?
		WHERE tenant_id = ? AND contract_id = ? AND instance_id = ?`, string(b), now, tid, c.ContractID, c.InstanceID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO telemetry_history (tenant_id, contract_id, instance_id, at, id, telemetry_json)
		VALUES (?, ?, ?, ?, ?, ?)`, tid, c.ContractID, c.InstanceID, now, licensor.NewID(licensor.PrefixTelemetry), string(b)); err != nil {
		return err
	}
	t := *c.Telemetry
	inst.Telemetry, inst.TelemetryAt = &t, fromMicros(now)
	return nil
}
