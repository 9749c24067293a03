// Package storetest is the conformance suite of licensor.Store: one set of
// tests that every store (store/sqlite always, store/postgres in CI) must
// pass, written against the interface only.
//
// What it pins down beyond the interface's comments, so that the stores
// agree:
//
//   - Times come back in UTC with (at least) microsecond precision; a time
//     the caller left zero comes back zero.
//   - Lists are ordered by id ascending and ListOptions.After is the last id
//     of the previous page, except: ListSigningKeys is newest first
//     (CreatedAt, then id, descending); ListAudit is newest first (At, then
//     id, descending) and pages with After = last id, an unknown cursor
//     giving an empty page; ListInstances without a ContractID is ordered
//     by (contract id, instance id) and its After is the last instance's
//     ContractID + " " + ID. A contract's Features come sorted by name.
//   - A Create with an empty ID assigns one (licensor.NewID) and writes it
//     back; a zero creation time is the store's clock. Create*/Update*
//     write back what they stored (normalised times, the tenant from the
//     scope, Version, SeatsUsed).
//   - Every tenant-scoped method reads the tenant from ctx: none there is
//     EINTERNAL; another tenant's object is ENOTFOUND (or absent from a
//     list) and is left unchanged, and so is a struct whose TenantID names a
//     tenant other than the scope. A scope never widens: ListTenants with a
//     scope lists that tenant only.
//   - Operator tokens belong to no tenant: the ...OperatorToken(s) methods
//     need no scope, and from a tenant's scope operator tokens do not exist
//     (ENOTFOUND, or absent from a list) through any method.
//   - Checkin decides seats against the contract as stored (its MaxSeats);
//     a check-in that does not take a seat keeps one
//     the instance holds; ReleaseSeat of a seatless instance is a no-op.
//   - A check-in that takes no seat by an instance that holds neither a
//     seat nor a non-production slot takes a slot if the contract (its
//     MaxNonProductionURLs as stored) has one free, EEXHAUSTED with nothing
//     changed otherwise; taking a seat gives the slot up; ReleaseSeat frees
//     a slot as it frees a seat.
//   - Checkin with Telemetry makes it the instance's latest and a history
//     point at Now, in the same transaction (a refused check-in stores
//     neither); without it the latest is kept. ListTelemetry is ordered by
//     (At, ID), its After is the last point's Cursor(), its range [Since,
//     Until). PruneTelemetry also clears the latest of instances that last
//     reported before the cutoff.
//   - CreateSigningKey raises (never lowers) the retired key's PublishUntil.
//   - ListAudit's time range is [Since, Until).
//   - This package must not assume any engine: no SQL, no file paths.
package storetest

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// Run runs the suite. open must return a fresh, empty store for each call
// and close it when the test ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) licensor.Store) {
	t.Run("Tenant", func(t *testing.T) { testTenants(t, open) })
	t.Run("Product", func(t *testing.T) { testProducts(t, open) })
	t.Run("Feature", func(t *testing.T) { testFeatures(t, open) })
	t.Run("CatalogChange", func(t *testing.T) { testCatalogChanges(t, open) })
	t.Run("Customer", func(t *testing.T) { testCustomers(t, open) })
	t.Run("Contract", func(t *testing.T) { testContracts(t, open) })
	t.Run("Token", func(t *testing.T) { testTokens(t, open) })
	t.Run("OperatorToken", func(t *testing.T) { testOperatorTokens(t, open) })
	t.Run("SigningKey", func(t *testing.T) { testSigningKeys(t, open) })
	t.Run("Instance", func(t *testing.T) { testInstances(t, open) })
	t.Run("NonProduction", func(t *testing.T) { testNonProduction(t, open) })
	t.Run("Telemetry", func(t *testing.T) { testTelemetry(t, open) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("Alert", func(t *testing.T) { testAlerts(t, open) })
	t.Run("WebhookDisable", func(t *testing.T) { testWebhookDisable(t, open) })
	t.Run("WebhookEvent", func(t *testing.T) { testWebhookEvent(t, open) })
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, open) })
	t.Run("NoTenantScope", func(t *testing.T) { testNoScope(t, open) })
	t.Run("Misc", func(t *testing.T) { testMisc(t, open) })
	t.Run("Console", func(t *testing.T) { testConsole(t, open) })
	t.Run("InstanceHours", func(t *testing.T) { testInstanceHours(t, open) })
	t.Run("PortalLink", func(t *testing.T) { testPortalLinks(t, open) })
	t.Run("Capability", func(t *testing.T) { testCapabilities(t, open) })
	t.Run("Offline", func(t *testing.T) { testOffline(t, open) })
	t.Run("Clone", func(t *testing.T) { testClones(t, open) })
	t.Run("Queue", func(t *testing.T) { testQueue(t, open) })
	t.Run("Overdraft", func(t *testing.T) { testOverdraft(t, open) })
	t.Run("Reservations", func(t *testing.T) { testReservations(t, open) })
}

// opener is what every test group receives.
type opener = func(t *testing.T) licensor.Store

// t0 has nanoseconds and a zone other than UTC on purpose: stores must keep
// microseconds and return UTC.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 678901234, time.FixedZone("UTC+5", 5*3600))

func at(d time.Duration) time.Time { return t0.Add(d) }

// checkTime compares a stored time with what was given.
func checkTime(t *testing.T, field string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Errorf("%s: got %v, want the zero time", field, got)
		}
		return
	}
	w := want.Truncate(time.Microsecond)
	if !got.Equal(w) {
		t.Errorf("%s: got %v, want %v", field, got, w.UTC())
	}
	if got.Location() != time.UTC {
		t.Errorf("%s: got location %v, want UTC", field, got.Location())
	}
}

// wantCode checks the domain code of err.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := licensor.ErrorCode(err); got != code {
		t.Errorf("%s: got error %v (code %q), want code %q", what, err, got, code)
	}
}

// must fails the test now on an error.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: got error %v, want none", what, err)
	}
}

func eq[T comparable](t *testing.T, field string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", field, got, want)
	}
}

func jsonEqual(t *testing.T, field string, got, want json.RawMessage) {
	t.Helper()
	if len(want) == 0 {
		if len(got) != 0 {
			t.Errorf("%s: got %s, want none", field, got)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: got %q, not JSON: %v", field, got, err)
		return
	}
	_ = json.Unmarshal(want, &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: got %s, want %s", field, got, want)
	}
}

// ids returns the ids of items.
func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

// checkPaging walks list page by page (limit items each, After = the
// cursor of the last item) and checks that the pages together are want, in
// order.
func checkPaging[T any](t *testing.T, what string, limit int, want []string,
	list func(opts licensor.ListOptions) ([]T, error), cursor func(T) string, id func(T) string) {
	t.Helper()
	var got []string
	after := ""
	for range len(want) + 2 {
		items, err := list(licensor.ListOptions{Limit: limit, After: after})
		must(t, what, err)
		if len(items) > limit {
			t.Fatalf("%s: got a page of %d, want at most %d", what, len(items), limit)
		}
		got = append(got, ids(items, id)...)
		if len(items) < limit {
			break
		}
		after = cursor(items[len(items)-1])
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// scope creates a tenant and returns a context scoped to it.
func scope(t *testing.T, s licensor.Store, name string) (context.Context, *licensor.Tenant) {
	t.Helper()
	ten := &licensor.Tenant{ID: licensor.NewID(licensor.PrefixTenant), Name: name}
	must(t, "Validate tenant", ten.Validate())
	must(t, "CreateTenant", s.CreateTenant(context.Background(), ten))
	return licensor.WithTenant(context.Background(), ten.ID), ten
}

func newProduct(t *testing.T, s licensor.Store, ctx context.Context, name string) *licensor.Product {
	t.Helper()
	p := &licensor.Product{ID: licensor.NewID(licensor.PrefixProduct), Name: name, CreatedAt: t0}
	must(t, "CreateProduct", s.CreateProduct(ctx, p))
	return p
}

func newCustomer(t *testing.T, s licensor.Store, ctx context.Context, name string) *licensor.Customer {
	t.Helper()
	c := &licensor.Customer{ID: licensor.NewID(licensor.PrefixCustomer), Name: name, Email: "ops@example.com", CreatedAt: t0}
	must(t, "CreateCustomer", s.CreateCustomer(ctx, c))
	return c
}

// newContract creates a customer, a product and a valid contract with
// maxSeats, after edit (if any) has changed it.
func newContract(t *testing.T, s licensor.Store, ctx context.Context, maxSeats int, edit func(*licensor.Contract)) *licensor.Contract {
	t.Helper()
	cu := newCustomer(t, s, ctx, "Customer "+licensor.NewID("x"))
	p := newProduct(t, s, ctx, "Product "+licensor.NewID("x"))
	c := &licensor.Contract{
		ID:         licensor.NewID(licensor.PrefixContract),
		CustomerID: cu.ID,
		ProductID:  p.ID,
		Name:       "Enterprise",
		StartsAt:   at(-24 * time.Hour),
		MaxSeats:   maxSeats,
		Features: []licensor.Entitlement{
			{Feature: "solver", Kind: licensor.FeatureCounted, Count: 50},
			{Feature: "export", Kind: licensor.FeatureBoolean},
		},
		CreatedAt: t0,
	}
	if edit != nil {
		edit(c)
	}
	must(t, "Validate contract", c.Validate())
	must(t, "CreateContract", s.CreateContract(ctx, c))
	return c
}

func newToken(t *testing.T, s licensor.Store, ctx context.Context, role licensor.Role, contractID string) *licensor.Token {
	t.Helper()
	secret, hash := licensor.NewTokenSecret(role)
	tok := &licensor.Token{
		ID: licensor.NewID(licensor.PrefixToken), Role: role, ContractID: contractID,
		Name: string(role) + " token", Hash: hash, Hint: licensor.TokenHint(secret), CreatedAt: t0,
	}
	must(t, "CreateToken", s.CreateToken(ctx, tok))
	return tok
}

func checkin(contractID, instanceID string, now time.Time) licensor.Checkin {
	return licensor.Checkin{
		ContractID: contractID, InstanceID: instanceID, TakesSeat: true,
		Environment: "production", Host: "host-" + instanceID, RemoteAddr: "192.0.2.1:4000",
		Now: now, LicenseID: licensor.NewID(licensor.PrefixLicense), LicenseExpiresAt: now.Add(licensor.DefaultLicenseValidity),
		CloneWindow: licensor.DefaultRefreshInterval,
	}
}
