package storetest

import (
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// testPortalLinks: links are found by hash in any tenant, listed live or
// all, revoked once, scoped to their tenant, and go with their customer.
func testPortalLinks(t *testing.T, open opener) {
	s := open(t)
	ctx, ten := scope(t, s, "Acme")
	ctxB, _ := scope(t, s, "Other")
	cu := newCustomer(t, s, ctx, "Acme Corp")
	other := newCustomer(t, s, ctx, "Globex")
	create := func(customerID string, expires time.Time) *licensor.PortalLink {
		t.Helper()
		secret, hash := licensor.NewPortalSecret()
		l := &licensor.PortalLink{ID: licensor.NewID(licensor.PrefixPortalLink), CustomerID: customerID, Name: "ops",
			Hash: hash, Hint: licensor.TokenHint(secret), CreatedAt: t0, ExpiresAt: expires}
		must(t, "CreatePortalLink", s.CreatePortalLink(ctx, l))
		return l
	}
	live := create(cu.ID, at(time.Hour))
	create(cu.ID, at(-time.Minute)) // expired
	revoked := create(cu.ID, at(time.Hour))
	globex := create(other.ID, at(time.Hour))
	eq(t, "TenantID written back", live.TenantID, ten.ID)

	got, err := s.PortalLinkByHash(t.Context(), live.Hash)
	must(t, "PortalLinkByHash", err)
	eq(t, "ID", got.ID, live.ID)
	eq(t, "TenantID", got.TenantID, ten.ID)
	eq(t, "CustomerID", got.CustomerID, cu.ID)
	checkTime(t, "ExpiresAt", got.ExpiresAt, at(time.Hour))
	_, err = s.PortalLinkByHash(t.Context(), []byte("nothing"))
	wantCode(t, "PortalLinkByHash of an unknown hash", err, licensor.ENOTFOUND)

	r, err := s.RevokePortalLink(ctx, revoked.ID, at(time.Second))
	must(t, "RevokePortalLink", err)
	checkTime(t, "RevokedAt", r.RevokedAt, at(time.Second))
	r, err = s.RevokePortalLink(ctx, revoked.ID, at(time.Minute))
	must(t, "RevokePortalLink again", err)
	checkTime(t, "RevokedAt after revoking again", r.RevokedAt, at(time.Second))

	list := func(f licensor.PortalLinkFilter) []string {
		t.Helper()
		f.Now, f.Limit = t0, 100
		ls, err := s.ListPortalLinks(ctx, f)
		must(t, "ListPortalLinks", err)
		return ids(ls, func(l *licensor.PortalLink) string { return l.ID })
	}
	eq(t, "live links of the customer", len(list(licensor.PortalLinkFilter{CustomerID: cu.ID})), 1)
	eq(t, "live link", list(licensor.PortalLinkFilter{CustomerID: cu.ID})[0], live.ID)
	eq(t, "all links of the customer", len(list(licensor.PortalLinkFilter{CustomerID: cu.ID, IncludeRevoked: true})), 3)
	eq(t, "live links of the tenant", len(list(licensor.PortalLinkFilter{})), 2)

	// Another tenant sees none and revokes none.
	ls, err := s.ListPortalLinks(ctxB, licensor.PortalLinkFilter{IncludeRevoked: true, ListOptions: licensor.ListOptions{Limit: 100}})
	must(t, "ListPortalLinks of the other tenant", err)
	eq(t, "links seen by the other tenant", len(ls), 0)
	_, err = s.RevokePortalLink(ctxB, live.ID, t0)
	wantCode(t, "RevokePortalLink of another tenant's link", err, licensor.ENOTFOUND)
	wrong := &licensor.PortalLink{ID: licensor.NewID(licensor.PrefixPortalLink), CustomerID: cu.ID, Hash: []byte("h2"), ExpiresAt: at(time.Hour)}
	wantCode(t, "CreatePortalLink for another tenant's customer", s.CreatePortalLink(ctxB, wrong), licensor.ENOTFOUND)

	// A customer's links go with it.
	must(t, "DeleteCustomer", s.DeleteCustomer(ctx, other.ID))
	_, err = s.PortalLinkByHash(t.Context(), globex.Hash)
	wantCode(t, "PortalLinkByHash after the customer was deleted", err, licensor.ENOTFOUND)
}
