package server

import (
	"encoding/json"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/license"
	"github.com/licensor/licensor/service"
)

// ts converts a time; the zero time becomes nil (absent).
func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func dur(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

// fromTS converts a request timestamp, refusing an invalid one.
func fromTS(field string, t *timestamppb.Timestamp) (time.Time, error) {
	if t == nil {
		return time.Time{}, nil
	}
	if err := t.CheckValid(); err != nil {
		return time.Time{}, licensor.Errorf(licensor.EINVALID, "%s is not a valid timestamp", field)
	}
	return t.AsTime().UTC(), nil
}

// fromDur converts a request duration, refusing an invalid or negative one.
func fromDur(field string, d *durationpb.Duration) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if err := d.CheckValid(); err != nil {
		return 0, licensor.Errorf(licensor.EINVALID, "%s is not a valid duration", field)
	}
	if d.AsDuration() < 0 {
		return 0, licensor.Errorf(licensor.EINVALID, "%s must not be negative", field)
	}
	// AsDuration clamps what does not fit in a time.Duration; a clamped
	// value would be validated (and printed) as if the caller had sent it.
	if d.GetSeconds() >= int64(licensor.MaxDuration/time.Second) {
		return 0, licensor.Errorf(licensor.EINVALID, "%s is longer than %s, the longest duration accepted", field, licensor.FormatDuration(licensor.MaxDuration.Truncate(24*time.Hour)))
	}
	return d.AsDuration(), nil
}

func optDur(field string, d *durationpb.Duration) (*time.Duration, error) {
	if d == nil {
		return nil, nil
	}
	v, err := fromDur(field, d)
	return &v, err
}

// page converts paging fields. The page token is the last id of the
// previous page.
func page(size int32, token string) licensor.ListOptions {
	return licensor.ListOptions{Limit: int(size), After: token}
}

// nextPage returns the token for the page after items, or "" if this page
// was not full (so the last).
func nextPage(n, limit int, lastID func() string) string {
	if limit <= 0 {
		limit = licensor.DefaultListLimit
	}
	if limit > licensor.MaxListLimit {
		limit = licensor.MaxListLimit
	}
	if n < limit || n == 0 {
		return ""
	}
	return lastID()
}

func tenantPB(t *licensor.Tenant) *v1.Tenant {
	return &v1.Tenant{
		Id: t.ID, Name: t.Name, ConcurrencyLimit: int32(t.ConcurrencyLimit),
		QueueWait: dur(t.QueueWait), ExpiryWarning: dur(t.ExpiryWarning), CreatedAt: ts(t.CreatedAt),
		TelemetryRetention: dur(t.TelemetryRetention), TelemetryFieldsDropped: t.TelemetryFieldsDropped, TruncateIps: t.TruncateIPs,
		ConcurrencyCeiling: int32(t.ConcurrencyCeiling), QueueWaitCeiling: dur(t.QueueWaitCeiling),
	}
}

func productPB(p *licensor.Product) *v1.Product {
	return &v1.Product{Id: p.ID, TenantId: p.TenantID, Name: p.Name, CreatedAt: ts(p.CreatedAt)}
}

func featurePB(f *licensor.Feature) *v1.Feature {
	return &v1.Feature{Id: f.ID, ProductId: f.ProductID, Name: f.Name, Kind: string(f.Kind), Description: f.Description}
}

func customerPB(c *licensor.Customer) *v1.Customer {
	return &v1.Customer{Id: c.ID, TenantId: c.TenantID, Name: c.Name, Email: c.Email, CreatedAt: ts(c.CreatedAt), Metadata: c.Metadata}
}

func entitlementsPB(es []licensor.Entitlement) []*v1.Entitlement {
	out := make([]*v1.Entitlement, len(es))
	for i, e := range es {
		out[i] = &v1.Entitlement{Feature: e.Feature, Count: e.Count}
	}
	return out
}

func entitlements(es []*v1.Entitlement) []licensor.Entitlement {
	out := make([]licensor.Entitlement, len(es))
	for i, e := range es {
		out[i] = licensor.Entitlement{Feature: e.GetFeature(), Count: e.GetCount()}
	}
	return out
}

func contractPB(c *licensor.Contract) *v1.Contract {
	return &v1.Contract{
		Id: c.ID, TenantId: c.TenantID, CustomerId: c.CustomerID, ProductId: c.ProductID, Name: c.Name,
		Status: string(c.Status), StartsAt: ts(c.StartsAt), EndsAt: ts(c.EndsAt), Features: entitlementsPB(c.Features),
		LicenseValidity: dur(c.LicenseValidity), RefreshInterval: dur(c.RefreshInterval),
		SeatRule: string(c.SeatRule), MaxSeats: int32(c.MaxSeats), SeatsUsed: int32(c.SeatsUsed),
		Fallback: string(c.Fallback), MaxBorrow: dur(c.MaxBorrow), RequiresClientCert: c.ClientCAPEM != "",
		Version: c.Version, CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt),
		MaxNonProductionUrls: int32(c.MaxNonProductionURLs), NonProductionUrlsUsed: int32(c.NonProductionURLsUsed),
		Metadata:     c.Metadata,
		RefuseClones: c.RefuseClones,
	}
}

func tokenPB(t *licensor.Token) *v1.Token {
	return &v1.Token{
		Id: t.ID, TenantId: t.TenantID, Role: string(t.Role), ContractId: t.ContractID, Name: t.Name, Hint: t.Hint,
		CreatedAt: ts(t.CreatedAt), ExpiresAt: ts(t.ExpiresAt), RevokedAt: ts(t.RevokedAt),
	}
}

func keyPB(k *licensor.SigningKey, now time.Time) *v1.SigningKey {
	jwk, _ := license.PublicJWK(k)
	return &v1.SigningKey{
		Id: k.ID, TenantId: k.TenantID, PublicJwk: jwk, CreatedAt: ts(k.CreatedAt),
		RetiredAt: ts(k.RetiredAt), PublishUntil: ts(k.PublishUntil), Active: k.SignsAt(now), ActivateAt: ts(k.ActivateAt),
	}
}

func instancePB(i *licensor.Instance) *v1.Instance {
	return &v1.Instance{
		TenantId: i.TenantID, ContractId: i.ContractID, InstanceId: i.ID, Seat: i.Seat, Environment: i.Environment,
		Host: i.Host, RemoteAddr: i.RemoteAddr, FirstSeenAt: ts(i.FirstSeenAt), LastSeenAt: ts(i.LastSeenAt),
		LicenseId: i.LicenseID, LicenseExpiresAt: ts(i.LicenseExpiresAt), CloneSuspectedAt: ts(i.CloneSuspectedAt),
		Telemetry: telemetryPB(i.Telemetry), NonProductionSlot: i.NonProductionSlot,
	}
}

// issuedBlock holds a license message with its timestamps and refresh
// interval: issuedPB builds one for every license served, in one
// allocation instead of seven.
type issuedBlock struct {
	lic     v1.IssuedLicense
	times   [5]timestamppb.Timestamp
	refresh durationpb.Duration
}

// at is ts on the block's i-th timestamp.
func (b *issuedBlock) at(i int, t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	b.times[i].Seconds, b.times[i].Nanos = t.Unix(), int32(t.Nanosecond())
	return &b.times[i]
}

func issuedPB(is *service.Issued) *v1.IssuedLicense {
	c := is.Claims
	b := new(issuedBlock)
	out := &b.lic
	out.Token, out.LicenseId, out.KeyId = is.Token, c.ID, is.KeyID
	out.IssuedAt, out.NotBefore, out.ExpiresAt = b.at(0, c.IssuedAtTime()), b.at(1, c.NotBeforeTime()), b.at(2, c.ExpiresAt())
	refresh := time.Duration(c.RefreshAfter) * time.Second
	b.refresh.Seconds, b.refresh.Nanos = int64(refresh/time.Second), int32(refresh%time.Second)
	out.RefreshAfter, out.ServerTime = &b.refresh, b.at(3, is.ServerTime)
	out.ContractVersion, out.Fallback = c.ContractVersion, c.IsFallback()
	if c.IsFallback() {
		b.times[4].Seconds = c.FallbackCutoff
		out.FallbackCutoff = &b.times[4]
	}
	return out
}

func auditPB(e *licensor.AuditEntry) *v1.AuditEntry {
	return &v1.AuditEntry{
		Id: e.ID, TenantId: e.TenantID, At: ts(e.At), ActorRole: string(e.ActorRole), TokenId: e.TokenID,
		Action: e.Action, ObjectType: e.ObjectType, ObjectId: e.ObjectID, Before: jsonStruct(e.Before), After: jsonStruct(e.After),
	}
}

// jsonStruct renders a JSON object as a protobuf Struct; anything else
// (null, or a value that is not an object) as nil.
func jsonStruct(raw json.RawMessage) *structpb.Struct {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil
	}
	s, err := structpb.NewStruct(m)
	if err != nil {
		return nil
	}
	return s
}
