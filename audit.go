package licensor

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// AuditObjectTypes are the kinds of object the audit log records, the
// values an audit listing may be filtered by.
var AuditObjectTypes = []string{
	"contract", "customer", "delivery", "feature", "instance", "lease", "pool",
	"portal_link", "product", "signing_key", "tenant", "token", "webhook",
}

// ValidateAuditObjectType checks an audit object-type filter: empty (any)
// or one of AuditObjectTypes.
func ValidateAuditObjectType(s string) error {
	if s == "" || slices.Contains(AuditObjectTypes, s) {
		return nil
	}
	return Errorf(EINVALID, "audit object type %q: use one of %s", truncate(s, MaxFeatureNameLen), strings.Join(AuditObjectTypes, ", "))
}

// AuditEntry records one admin mutation: who did what to which object, with
// the object before and after. The audit log is append-only.
type AuditEntry struct {
	ID         string
	TenantID   string // empty for operator actions outside a tenant
	At         time.Time
	ActorRole  Role
	TokenID    string
	Action     string // e.g. "contract.extend"
	ObjectType string // e.g. "contract"
	ObjectID   string
	Before     json.RawMessage // null for creations
	After      json.RawMessage // null for deletions
}

// AuditFilter selects audit entries. TenantID is taken from the context
// scope; operators may list entries of any tenant by scoping to it.
type AuditFilter struct {
	TokenID    string
	ObjectType string
	ObjectID   string
	Since      time.Time
	Until      time.Time
	ListOptions
}
