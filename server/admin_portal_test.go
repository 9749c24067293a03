package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// Portal links through the admin API: made for a customer with a secret
// shown once (and never listed), listed, revoked, audited; the secret
// authenticates to that customer until revoked; another tenant neither
// makes one for the customer nor sees nor revokes one.
func TestPortalLinks(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{})
			other := s.NewFixture(t, testserver.FixtureOptions{})
			adm := s.Admin(p, f.AdminToken)
			intruder := s.Admin(p, other.AdminToken)

			cr, err := adm.CreatePortalLink(ctx, connect.NewRequest(&v1.CreatePortalLinkRequest{CustomerId: f.CustomerID, Name: "ops@acme", Ttl: durationpb.New(48 * time.Hour)}))
			if err != nil {
				t.Fatalf("CreatePortalLink: %v", err)
			}
			l := cr.Msg.Link
			if !strings.HasPrefix(cr.Msg.Secret, "lsr_prt_") || l.CustomerId != f.CustomerID || !l.ExpiresAt.AsTime().Equal(s.Clock.Now().Add(48*time.Hour)) {
				t.Fatalf("CreatePortalLink: got %v", cr.Msg)
			}
			sc, err := s.Service.AuthenticatePortal(ctx, cr.Msg.Secret)
			if err != nil || sc.CustomerID != f.CustomerID || sc.TenantID != f.TenantID {
				t.Fatalf("AuthenticatePortal: got %+v, %v", sc, err)
			}
			_, err = intruder.CreatePortalLink(ctx, connect.NewRequest(&v1.CreatePortalLinkRequest{CustomerId: f.CustomerID}))
			wantConnectCode(t, "CreatePortalLink for another tenant's customer", err, connect.CodeNotFound)
			_, err = adm.CreatePortalLink(ctx, connect.NewRequest(&v1.CreatePortalLinkRequest{CustomerId: f.CustomerID, Ttl: durationpb.New(time.Second)}))
			wantConnectCode(t, "CreatePortalLink for a second", err, connect.CodeInvalidArgument)

			ls, err := adm.ListPortalLinks(ctx, connect.NewRequest(&v1.ListPortalLinksRequest{CustomerId: f.CustomerID}))
			if err != nil || len(ls.Msg.Links) != 1 || ls.Msg.Links[0].Id != l.Id || strings.Contains(ls.Msg.String(), cr.Msg.Secret) {
				t.Fatalf("ListPortalLinks: got %v, %v; want the one link, without its secret", ls, err)
			}
			ils, err := intruder.ListPortalLinks(ctx, connect.NewRequest(&v1.ListPortalLinksRequest{IncludeRevoked: true}))
			if err != nil || len(ils.Msg.Links) != 0 {
				t.Errorf("ListPortalLinks of the other tenant: got %v, %v; want none", ils, err)
			}
			_, err = intruder.RevokePortalLink(ctx, connect.NewRequest(&v1.RevokePortalLinkRequest{PortalLinkId: l.Id}))
			wantConnectCode(t, "RevokePortalLink of another tenant's link", err, connect.CodeNotFound)

			s.Clock.Advance(time.Second) // the audit log lists newest first
			rv, err := adm.RevokePortalLink(ctx, connect.NewRequest(&v1.RevokePortalLinkRequest{PortalLinkId: l.Id}))
			if err != nil || rv.Msg.Link.RevokedAt == nil {
				t.Fatalf("RevokePortalLink: got %v, %v", rv, err)
			}
			if _, err := s.Service.AuthenticatePortal(ctx, cr.Msg.Secret); err == nil {
				t.Error("AuthenticatePortal after revoke: got no error")
			}
			ls, err = adm.ListPortalLinks(ctx, connect.NewRequest(&v1.ListPortalLinksRequest{}))
			if err != nil || len(ls.Msg.Links) != 0 {
				t.Errorf("ListPortalLinks after revoke: got %v, %v; want none live", ls, err)
			}
			au, err := adm.ListAuditEntries(ctx, connect.NewRequest(&v1.ListAuditEntriesRequest{ObjectType: "portal_link", ObjectId: l.Id}))
			if err != nil || len(au.Msg.Entries) != 2 || au.Msg.Entries[0].Action != "portal_link.revoke" || au.Msg.Entries[1].Action != "portal_link.create" {
				t.Fatalf("audit: got %v, %v; want revoke then create", au, err)
			}
			if strings.Contains(au.Msg.String(), cr.Msg.Secret) {
				t.Error("audit: holds the secret")
			}
		})
	}
}
