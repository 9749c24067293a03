package store

import (
	"database/sql"
	"encoding/json"
	"time"

	"github.com/licensor/licensor"
)

// ContractCols are the columns of a contract c that ScanContracts reads,
// followed there by f.feature, f.kind, f.count of its features f LEFT
// JOINed (NULL for a contract with none).
const ContractCols = `c.tenant_id, c.id, c.customer_id, c.product_id, c.name, c.status, c.starts_at, c.ends_at,
	c.license_validity_ns, c.refresh_interval_ns, c.seat_rule, c.max_seats, c.seats_used,
	c.max_nonprod_urls, c.nonprod_used, c.fallback, c.max_borrow_ns, c.client_ca_pem, c.version, c.created_at, c.updated_at,
	c.refuse_clones, c.metadata`

// ScanContracts decodes rows of ContractCols and a feature, ordered by
// contract: one contract per run of rows, with its features.
func ScanContracts(rows Iter) ([]*licensor.Contract, error) {
	// One row's worth of destinations, reused: a Scan through an interface
	// makes its arguments escape, and GetLicense reads a contract per call.
	var (
		c                                                         licensor.Contract
		status, seatRule, fallback, meta                          string
		starts, ends, validity, refresh, borrow, created, updated int64
		feature, kind                                             sql.NullString
		count                                                     sql.NullInt64
	)
	dest := []any{&c.TenantID, &c.ID, &c.CustomerID, &c.ProductID, &c.Name, &status, &starts, &ends,
		&validity, &refresh, &seatRule, &c.MaxSeats, &c.SeatsUsed,
		&c.MaxNonProductionURLs, &c.NonProductionURLsUsed, &fallback, &borrow, &c.ClientCAPEM,
		&c.Version, &created, &updated, &c.RefuseClones, &meta, &feature, &kind, &count}
	var out []*licensor.Contract
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].ID != c.ID {
			next := c
			next.Status, next.SeatRule, next.Fallback = licensor.ContractStatus(status), licensor.SeatRule(seatRule), licensor.FallbackRule(fallback)
			next.StartsAt, next.EndsAt = FromMicros(starts), FromMicros(ends)
			next.LicenseValidity, next.RefreshInterval, next.MaxBorrow = time.Duration(validity), time.Duration(refresh), time.Duration(borrow)
			next.CreatedAt, next.UpdatedAt = FromMicros(created), FromMicros(updated)
			if err := ParseMetadata(meta, &next.Metadata); err != nil {
				return nil, err
			}
			out = append(out, &next)
		}
		if feature.Valid {
			last := out[len(out)-1]
			last.Features = append(last.Features, licensor.Entitlement{
				Feature: feature.String, Kind: licensor.FeatureKind(kind.String), Count: count.Int64,
			})
		}
	}
	return out, rows.Err()
}

// InstanceCols are the columns ScanInstance reads.
const InstanceCols = `tenant_id, contract_id, instance_id, seat, nonprod, environment, host, remote_addr,
	first_seen_at, last_seen_at, license_id, license_expires_at, clone_suspected_at, telemetry_json, telemetry_at, fingerprint`

// ScanInstance decodes a row of InstanceCols.
func ScanInstance(s Scanner) (*licensor.Instance, error) {
	var i licensor.Instance
	var first, last, expires, clone, telemetryAt int64
	var telemetry string
	if err := s.Scan(&i.TenantID, &i.ContractID, &i.ID, &i.Seat, &i.NonProductionSlot, &i.Environment, &i.Host, &i.RemoteAddr,
		&first, &last, &i.LicenseID, &expires, &clone, &telemetry, &telemetryAt, &i.Fingerprint); err != nil {
		return nil, err
	}
	if err := Telemetry(telemetry, &i.Telemetry); err != nil {
		return nil, err
	}
	i.TelemetryAt = FromMicros(telemetryAt)
	i.FirstSeenAt, i.LastSeenAt = FromMicros(first), FromMicros(last)
	i.LicenseExpiresAt, i.CloneSuspectedAt = FromMicros(expires), FromMicros(clone)
	return &i, nil
}

// TelemetryPointCols are the columns ScanTelemetryPoint reads.
const TelemetryPointCols = `contract_id, instance_id, at, id, telemetry_json`

// ScanTelemetryPoint decodes a row of TelemetryPointCols.
func ScanTelemetryPoint(s Scanner) (*licensor.TelemetryPoint, error) {
	var p licensor.TelemetryPoint
	var at int64
	var raw string
	if err := s.Scan(&p.ContractID, &p.InstanceID, &at, &p.ID, &raw); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(raw), &p.Telemetry); err != nil {
		return nil, err
	}
	p.At = FromMicros(at)
	return &p, nil
}

// ContractStatusCond is the WHERE condition on a contract row (columns
// status, starts_at, ends_at, unqualified) that holds when the contract's
// licensor.Contract.StatusAt(now) is st, so that a status filter agrees
// with the status shown. arg adds a bound value and returns its
// placeholder ("?" or "$n"); it is called in the order the placeholders
// appear. EINVALID for a status that is not one of licensor.ContractStatuses.
func ContractStatusCond(st licensor.ContractStatus, now time.Time, arg func(any) string) (string, error) {
	// notEnded mirrors Contract.Ended: ended explicitly, or ends_at <= now.
	notEnded := func() string {
		return `status <> 'ended' AND (ends_at = 0 OR ends_at > ` + arg(Micros(now)) + `)`
	}
	switch st {
	case licensor.ContractEnded:
		return `(status = 'ended' OR (ends_at > 0 AND ends_at <= ` + arg(Micros(now)) + `))`, nil
	case licensor.ContractSuspended:
		return `status = 'suspended' AND ` + notEnded(), nil
	case licensor.ContractScheduled:
		return `status = 'active' AND ` + notEnded() + ` AND starts_at > ` + arg(Micros(now)), nil
	case licensor.ContractActive:
		return `status = 'active' AND ` + notEnded() + ` AND starts_at <= ` + arg(Micros(now)), nil
	}
	_, err := licensor.ParseContractStatus(string(st))
	if err == nil {
		err = licensor.Errorf(licensor.EINVALID, "contract status %q cannot be filtered on", st)
	}
	return "", err
}
