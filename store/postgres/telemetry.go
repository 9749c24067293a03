package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor"
)

// recordTelemetry makes c.Telemetry the instance's latest and a point of its
// history, inside the check-in's transaction.
func recordTelemetry(ctx context.Context, tx pgx.Tx, tid string, c licensor.Checkin, inst *licensor.Instance) error {
	if c.Telemetry == nil {
		return nil
	}
	b, err := json.Marshal(c.Telemetry)
	if err != nil {
		return err
	}
	now := micros(norm(c.Now))
	batch := &pgx.Batch{}
	batch.Queue(`UPDATE instances SET telemetry_json = $1, telemetry_at = $2
		WHERE tenant_id = $3 AND contract_id = $4 AND instance_id = $5`, string(b), now, tid, c.ContractID, c.InstanceID)
	batch.Queue(`INSERT INTO telemetry_history (tenant_id, contract_id, instance_id, at, id, telemetry_json)
		VALUES ($1, $2, $3, $4, $5, $6)`, tid, c.ContractID, c.InstanceID, now, licensor.NewID(licensor.PrefixTelemetry), string(b))
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return err
	}
	t := *c.Telemetry
	inst.Telemetry, inst.TelemetryAt = &t, fromMicros(now)
	return nil
}
