package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor"
)

// A portal link reaches its customer's contracts, seats and license files,
// and nothing of another customer of the same tenant or of another tenant;
// it stops at once when revoked and when it expires.
func TestPortal(t *testing.T) {
	f := newFixture(t)
	mine, mineCtx := f.contract(licensor.Contract{MaxSeats: 2, Metadata: licensor.Metadata{"po": "vendor-only"}})
	for _, id := range []string{"host-1", "host-2"} {
		if _, err := f.license(mineCtx, mine, id, ""); err != nil {
			t.Fatalf("GetLicense %s: %v", id, err)
		}
	}
	// Another customer of the same tenant, and another tenant altogether.
	globex := f.customer
	acme, err := f.svc.CreateCustomer(f.admin, "", licensor.Customer{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	f.customer = acme.ID
	theirs, theirsCtx := f.contract(licensor.Contract{})
	if _, err := f.license(theirsCtx, theirs, "acme-1", ""); err != nil {
		t.Fatal(err)
	}
	f.customer = globex
	g := newFixture(t)
	foreign, _ := g.contract(licensor.Contract{})

	link, secret, err := f.svc.CreatePortalLink(f.admin, "", globex, "ops@globex", 24*time.Hour)
	if err != nil {
		t.Fatalf("CreatePortalLink: %v", err)
	}
	if !strings.HasPrefix(secret, licensor.TokenPrefixPortal) || link.CustomerID != globex {
		t.Fatalf("CreatePortalLink: got %q for %s, want a %s secret for %s", secret, link.CustomerID, licensor.TokenPrefixPortal, globex)
	}
	if _, _, err := g.svc.CreatePortalLink(g.admin, "", globex, "x", 0); licensor.ErrorCode(err) != licensor.ENOTFOUND {
		t.Errorf("CreatePortalLink for another tenant's customer: got %v, want not_found", err)
	}
	ctx := context.Background()
	sc, err := f.svc.AuthenticatePortal(ctx, secret)
	if err != nil {
		t.Fatalf("AuthenticatePortal: %v", err)
	}
	if sc.TenantID != f.tenantID || sc.CustomerID != globex || sc.LinkID != link.ID {
		t.Fatalf("AuthenticatePortal: got %+v, want tenant %s customer %s", sc, f.tenantID, globex)
	}
	for _, bad := range []string{"", "lsr_prt_nope", "lsr_adm_" + strings.Repeat("a", 52), strings.Repeat("x", 300)} {
		if _, err := f.svc.AuthenticatePortal(ctx, bad); licensor.ErrorCode(err) != licensor.EUNAUTHORIZED {
			t.Errorf("AuthenticatePortal(%.20q): got %v, want unauthenticated", bad, err)
		}
	}

	pcs, err := f.svc.PortalContracts(ctx, sc)
	if err != nil {
		t.Fatalf("PortalContracts: %v", err)
	}
	if len(pcs) != 1 || pcs[0].Contract.ID != mine.ID {
		t.Fatalf("PortalContracts: got %d contracts, want only %s", len(pcs), mine.ID)
	}
	pc := pcs[0]
	if pc.Contract.SeatsUsed != 2 || len(pc.SeatHolders) != 2 || pc.SeatHoldersTruncated || len(pc.Contract.Features) != 2 {
		t.Errorf("PortalContracts: got %d seats used, %d holders, %d features; want 2, 2, 2", pc.Contract.SeatsUsed, len(pc.SeatHolders), len(pc.Contract.Features))
	}
	if pc.Contract.Metadata != nil {
		t.Errorf("PortalContracts: shows the vendor's metadata %v", pc.Contract.Metadata)
	}
	if c, err := f.svc.PortalCustomer(ctx, sc); err != nil || c.ID != globex {
		t.Errorf("PortalCustomer: got %v, %v; want %s", c, err, globex)
	}

	// What the link cannot reach is not found, exactly like what does not
	// exist.
	for _, c := range []struct {
		name     string
		contract string
		instance string
	}{
		{"AnotherCustomersContract", theirs.ID, "acme-1"},
		{"AnotherTenantsContract", foreign.ID, "x"},
		{"NoSuchContract", licensor.NewID(licensor.PrefixContract), "x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := f.svc.PortalReleaseSeat(ctx, sc, c.contract, c.instance); licensor.ErrorCode(err) != licensor.ENOTFOUND {
				t.Errorf("PortalReleaseSeat: got %v, want not_found", err)
			}
			if _, _, err := f.svc.PortalIssueLicenseFile(ctx, sc, c.contract, "offline-1", "", 0); licensor.ErrorCode(err) != licensor.ENOTFOUND {
				t.Errorf("PortalIssueLicenseFile: got %v, want not_found", err)
			}
		})
	}
	// A scope naming another customer does not reach this customer's
	// contracts, nor touch the other's instances.
	forged := *sc
	forged.CustomerID = acme.ID
	if _, err := f.svc.PortalReleaseSeat(ctx, &forged, mine.ID, "host-1"); licensor.ErrorCode(err) != licensor.ENOTFOUND {
		t.Errorf("PortalReleaseSeat of mine under another customer's scope: got %v, want not_found", err)
	}
	acmeInst, err := f.svc.GetInstance(f.admin, "", theirs.ID, "acme-1")
	if err != nil || !acmeInst.Seat {
		t.Fatalf("the other customer's instance: got %v, %v; want it still seated", acmeInst, err)
	}

	in, err := f.svc.PortalReleaseSeat(ctx, sc, mine.ID, "host-1")
	if err != nil || in.Seat {
		t.Fatalf("PortalReleaseSeat: got %v, %v; want the seat released", in, err)
	}
	f.clock.Advance(time.Second) // the audit log lists newest first
	file, issued, err := f.svc.PortalIssueLicenseFile(ctx, sc, mine.ID, "offline-1", "", 30*24*time.Hour)
	if err != nil || !strings.Contains(file, "BEGIN LICENSOR LICENSE") || issued.Claims.Subject != "offline-1" {
		t.Fatalf("PortalIssueLicenseFile: got %.40q, %v", file, err)
	}
	entries, err := f.store.ListAudit(f.tenantCtx(), licensor.AuditFilter{TokenID: link.ID, ListOptions: licensor.ListOptions{Limit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, string(e.ActorRole)+" "+e.Action)
	}
	if got := strings.Join(actions, ", "); got != "portal license_file.issue, portal instance.release_seat" {
		t.Errorf("audit under the link: got %q", got)
	}

	// Revoked: refused at once. Expired: refused too.
	if _, err := f.svc.RevokePortalLink(f.admin, "", link.ID); err != nil {
		t.Fatalf("RevokePortalLink: %v", err)
	}
	if _, err := f.svc.AuthenticatePortal(ctx, secret); licensor.ErrorCode(err) != licensor.EUNAUTHORIZED {
		t.Errorf("AuthenticatePortal after revoke: got %v, want unauthenticated", err)
	}
	_, secret2, err := f.svc.CreatePortalLink(f.admin, "", globex, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sc2, err := f.svc.AuthenticatePortal(ctx, secret2)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	if _, err := f.svc.AuthenticatePortal(ctx, secret2); licensor.ErrorCode(err) != licensor.EUNAUTHORIZED {
		t.Errorf("AuthenticatePortal after expiry: got %v, want unauthenticated", err)
	}
	if _, err := f.svc.PortalContracts(ctx, sc2); licensor.ErrorCode(err) != licensor.EUNAUTHORIZED {
		t.Errorf("PortalContracts with an expired scope: got %v, want unauthenticated", err)
	}
	links, err := f.svc.ListPortalLinks(f.admin, "", licensor.PortalLinkFilter{CustomerID: globex, IncludeRevoked: true})
	if err != nil || len(links) != 2 {
		t.Errorf("ListPortalLinks: got %d, %v; want 2", len(links), err)
	}
	if _, _, err := f.svc.CreatePortalLink(f.admin, "", globex, "", 365*24*time.Hour); licensor.ErrorCode(err) != licensor.EINVALID {
		t.Errorf("CreatePortalLink for a year: got %v, want invalid", err)
	}
}
