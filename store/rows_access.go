package store

import (
	"crypto/ed25519"
	"database/sql"
	"encoding/json"

	"github.com/licensor/licensor"
)

// TokenCols are the columns ScanToken reads.
const TokenCols = `id, tenant_id, role, contract_id, name, hash, hint, created_at, expires_at, revoked_at`

// ScanToken decodes a row of TokenCols. An operator token's NULL tenant and
// contract come back as "".
func ScanToken(s Scanner) (*licensor.Token, error) {
	var t licensor.Token
	var tenant, contract sql.NullString
	var role string
	var created, expires, revoked int64
	if err := s.Scan(&t.ID, &tenant, &role, &contract, &t.Name, &t.Hash, &t.Hint, &created, &expires, &revoked); err != nil {
		return nil, err
	}
	t.TenantID, t.ContractID, t.Role = tenant.String, contract.String, licensor.Role(role)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = FromMicros(created), FromMicros(expires), FromMicros(revoked)
	return &t, nil
}

// SigningKeyCols are the columns ScanSigningKey reads.
const SigningKeyCols = `tenant_id, id, public, sealed, created_at, retired_at, publish_until, activate_at`

// ScanSigningKey decodes a row of SigningKeyCols.
func ScanSigningKey(s Scanner) (*licensor.SigningKey, error) {
	var k licensor.SigningKey
	var public []byte
	var created, retired, until, activate int64
	if err := s.Scan(&k.TenantID, &k.ID, &public, &k.Sealed, &created, &retired, &until, &activate); err != nil {
		return nil, err
	}
	k.Public = ed25519.PublicKey(public)
	k.CreatedAt, k.RetiredAt, k.PublishUntil, k.ActivateAt = FromMicros(created), FromMicros(retired), FromMicros(until), FromMicros(activate)
	return &k, nil
}

// AuditCols are the columns ScanAuditEntry reads.
const AuditCols = `id, tenant_id, at, actor_role, token_id, action, object_type, object_id, before_json, after_json`

// ScanAuditEntry decodes a row of AuditCols. The operator's NULL tenant
// comes back as "", a NULL before or after as nil.
func ScanAuditEntry(s Scanner) (*licensor.AuditEntry, error) {
	var e licensor.AuditEntry
	var tenant sql.NullString
	var role string
	var at int64
	var before, after []byte
	if err := s.Scan(&e.ID, &tenant, &at, &role, &e.TokenID, &e.Action, &e.ObjectType, &e.ObjectID, &before, &after); err != nil {
		return nil, err
	}
	e.TenantID, e.ActorRole, e.At = tenant.String, licensor.Role(role), FromMicros(at)
	if before != nil {
		e.Before = json.RawMessage(before)
	}
	if after != nil {
		e.After = json.RawMessage(after)
	}
	return &e, nil
}
