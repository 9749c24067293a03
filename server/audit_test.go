package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/testserver"
)

// zeroJSONTime is how a zero time.Time reads in an entry's JSON.
const zeroJSONTime = "0001-01-01T00:00:00Z"

func auditEntries(t *testing.T, adm licensorv1connect.AdminServiceClient, tenantID string) []*v1.AuditEntry {
	t.Helper()
	res, err := adm.ListAuditEntries(context.Background(), connect.NewRequest(&v1.ListAuditEntriesRequest{TenantId: tenantID, PageSize: 1000}))
	if err != nil {
		t.Fatalf("ListAuditEntries: %v", err)
	}
	return res.Msg.Entries
}

func adminTokenID(t *testing.T, adm licensorv1connect.AdminServiceClient) string {
	t.Helper()
	res, err := adm.ListTokens(context.Background(), connect.NewRequest(&v1.ListTokensRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range res.Msg.Tokens {
		if tk.Role == "admin" {
			return tk.Id
		}
	}
	t.Fatal("no admin token")
	return ""
}

// Every admin mutation writes exactly one audit entry (who, which token,
// what, before and after, when); a refused call writes none.
func TestAuditEveryMutationOnce(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 20 * 24 * time.Hour})
			other := s.NewFixture(t, testserver.FixtureOptions{})
			adm := s.Admin(p, f.AdminToken)
			op := s.Admin(p, s.OperatorToken)
			tokID := adminTokenID(t, adm)
			lic := s.License(p, f.ContractToken)
			if _, err := lic.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "node-1"})); err != nil {
				t.Fatal(err)
			}

			var webhookID, deliveryID, tokenID string
			type step struct {
				name, action, objectType string
				before, after            bool
				call                     func() (objectID string, err error)
			}
			steps := []step{
				{"UpdateTenant", "tenant.update", "tenant", true, true, func() (string, error) {
					_, err := adm.UpdateTenant(ctx, connect.NewRequest(&v1.UpdateTenantRequest{ExpiryWarning: durationpb.New(72 * time.Hour)}))
					return f.TenantID, err
				}},
				{"CreateProduct", "product.create", "product", false, true, func() (string, error) {
					r, err := adm.CreateProduct(ctx, connect.NewRequest(&v1.CreateProductRequest{Name: "Second"}))
					return r.Msg.GetProduct().GetId(), err
				}},
				{"CreateFeature", "feature.create", "feature", false, true, func() (string, error) {
					r, err := adm.CreateFeature(ctx, connect.NewRequest(&v1.CreateFeatureRequest{ProductId: f.ProductID, Name: "extra", Kind: "boolean"}))
					return r.Msg.GetFeature().GetId(), err
				}},
				{"CreateCustomer", "customer.create", "customer", false, true, func() (string, error) {
					r, err := adm.CreateCustomer(ctx, connect.NewRequest(&v1.CreateCustomerRequest{Name: "Globex"}))
					return r.Msg.GetCustomer().GetId(), err
				}},
				{"CreateContract", "contract.create", "contract", false, true, func() (string, error) {
					r, err := adm.CreateContract(ctx, connect.NewRequest(&v1.CreateContractRequest{CustomerId: f.CustomerID, ProductId: f.ProductID}))
					return r.Msg.GetContract().GetId(), err
				}},
				{"ChangeContract", "contract.change", "contract", true, true, func() (string, error) {
					name := "renamed"
					_, err := adm.ChangeContract(ctx, connect.NewRequest(&v1.ChangeContractRequest{ContractId: f.ContractID, Name: &name}))
					return f.ContractID, err
				}},
				{"ExtendContract", "contract.extend", "contract", true, true, func() (string, error) {
					_, err := adm.ExtendContract(ctx, connect.NewRequest(&v1.ExtendContractRequest{ContractId: f.ContractID, ExtendBy: durationpb.New(24 * time.Hour)}))
					return f.ContractID, err
				}},
				{"CreateToken", "token.create", "token", false, true, func() (string, error) {
					r, err := adm.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "contract", ContractId: f.ContractID, Name: "more"}))
					tokenID = r.Msg.GetToken().GetId()
					return tokenID, err
				}},
				{"RevokeToken", "token.revoke", "token", true, true, func() (string, error) {
					_, err := adm.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TokenId: tokenID}))
					return tokenID, err
				}},
				{"RotateSigningKey", "signing_key.rotate", "signing_key", false, true, func() (string, error) {
					r, err := adm.RotateSigningKey(ctx, connect.NewRequest(&v1.RotateSigningKeyRequest{ActivateAfter: durationpb.New(0), Force: true}))
					return r.Msg.GetKey().GetId(), err
				}},
				{"ReleaseSeat", "instance.release_seat", "instance", true, true, func() (string, error) {
					_, err := adm.ReleaseSeat(ctx, connect.NewRequest(&v1.ReleaseSeatRequest{ContractId: f.ContractID, InstanceId: "node-1"}))
					return f.ContractID + "/node-1", err
				}},
				{"IssueLicenseFile", "license_file.issue", "contract", false, true, func() (string, error) {
					_, err := adm.IssueLicenseFile(ctx, connect.NewRequest(&v1.IssueLicenseFileRequest{ContractId: f.ContractID, InstanceId: "air-gapped"}))
					return f.ContractID, err
				}},
				{"CreateWebhook", "webhook.create", "webhook", false, true, func() (string, error) {
					r, err := adm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: "http://127.0.0.1:1/hook"}))
					webhookID = r.Msg.GetWebhook().GetId()
					return webhookID, err
				}},
				{"Redeliver", "delivery.redeliver", "delivery", true, true, func() (string, error) {
					if err := s.Scanner.ScanOnce(ctx); err != nil { // the contract ends within 30 days: one delivery
						return "", err
					}
					ds, err := adm.ListDeliveries(ctx, connect.NewRequest(&v1.ListDeliveriesRequest{}))
					if err != nil || len(ds.Msg.Deliveries) == 0 {
						t.Fatalf("ListDeliveries: got %v, %v; want a delivery", ds, err)
					}
					deliveryID = ds.Msg.Deliveries[0].Id
					_, err = adm.Redeliver(ctx, connect.NewRequest(&v1.RedeliverRequest{DeliveryId: deliveryID}))
					return deliveryID, err
				}},
				{"DisableWebhook", "webhook.disable", "webhook", true, true, func() (string, error) {
					_, err := adm.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{WebhookId: webhookID, Disabled: proto.Bool(true)}))
					return webhookID, err
				}},
				{"EnableWebhook", "webhook.enable", "webhook", true, true, func() (string, error) {
					_, err := adm.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{WebhookId: webhookID, Disabled: proto.Bool(false)}))
					return webhookID, err
				}},
				{"DeleteWebhook", "webhook.delete", "webhook", true, false, func() (string, error) {
					_, err := adm.DeleteWebhook(ctx, connect.NewRequest(&v1.DeleteWebhookRequest{WebhookId: webhookID}))
					return webhookID, err
				}},
				{"EndContract", "contract.end", "contract", true, true, func() (string, error) {
					_, err := adm.EndContract(ctx, connect.NewRequest(&v1.EndContractRequest{ContractId: f.ContractID}))
					return f.ContractID, err
				}},
			}
			for _, st := range steps {
				t.Run(st.name, func(t *testing.T) {
					n := len(auditEntries(t, adm, ""))
					s.Clock.Advance(time.Second)
					objectID, err := st.call()
					if err != nil {
						t.Fatalf("%s: %v", st.name, err)
					}
					got := auditEntries(t, adm, "")
					if len(got) != n+1 {
						t.Fatalf("audit entries: got %d, want %d (one more)", len(got), n+1)
					}
					e := got[0] // newest first
					if e.Action != st.action || e.ObjectType != st.objectType || e.ObjectId != objectID {
						t.Errorf("entry: got %s %s %s, want %s %s %s", e.Action, e.ObjectType, e.ObjectId, st.action, st.objectType, objectID)
					}
					if e.ActorRole != "admin" || e.TokenId != tokID || e.TenantId != f.TenantID {
						t.Errorf("who: got %s %s in %s, want admin %s in %s", e.ActorRole, e.TokenId, e.TenantId, tokID, f.TenantID)
					}
					if !e.At.AsTime().Equal(s.Clock.Now()) {
						t.Errorf("when: got %v, want %v", e.At.AsTime(), s.Clock.Now())
					}
					if (e.Before != nil) != st.before || (e.After != nil) != st.after {
						t.Errorf("before/after: got %v/%v, want %v/%v", e.Before != nil, e.After != nil, st.before, st.after)
					}
					if h := e.After.GetFields()["hash"]; h != nil {
						t.Errorf("entry records a token hash: %v", h)
					}
					if st.action == "token.revoke" {
						// before is the live token, after the revoked one.
						b, a := e.Before.GetFields(), e.After.GetFields()
						if b["id"].GetStringValue() != objectID || b["hash"] != nil {
							t.Errorf("before: got %v, want token %s without its hash", b, objectID)
						}
						if got := b["revoked_at"].GetStringValue(); got != zeroJSONTime {
							t.Errorf("before.revoked_at: got %q, want %q (not revoked)", got, zeroJSONTime)
						}
						if got, want := a["revoked_at"].GetStringValue(), s.Clock.Now().UTC().Format(time.RFC3339Nano); got != want {
							t.Errorf("after.revoked_at: got %q, want %q", got, want)
						}
					}
				})
			}

			t.Run("CreateTenant", func(t *testing.T) {
				r, err := op.CreateTenant(ctx, connect.NewRequest(&v1.CreateTenantRequest{Name: "Initech"}))
				if err != nil {
					t.Fatal(err)
				}
				got := auditEntries(t, op, r.Msg.Tenant.Id)
				if len(got) != 1 || got[0].Action != "tenant.create" || got[0].ActorRole != "operator" {
					t.Fatalf("entries of a new tenant: got %v, want one tenant.create by the operator", got)
				}
			})

			t.Run("Query", func(t *testing.T) {
				all := auditEntries(t, adm, "")
				res, err := adm.ListAuditEntries(ctx, connect.NewRequest(&v1.ListAuditEntriesRequest{ObjectType: "contract", ObjectId: f.ContractID}))
				if err != nil {
					t.Fatal(err)
				}
				want := 0
				for _, e := range all {
					if e.ObjectType == "contract" && e.ObjectId == f.ContractID {
						want++
					}
				}
				if len(res.Msg.Entries) != want || want < 4 {
					t.Errorf("by object: got %d entries, want %d (at least 4)", len(res.Msg.Entries), want)
				}
				res, err = adm.ListAuditEntries(ctx, connect.NewRequest(&v1.ListAuditEntriesRequest{TokenId: tokID,
					Since: all[2].At, Until: timestamppb.New(all[0].At.AsTime())}))
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Msg.Entries) != 2 || res.Msg.Entries[0].Id != all[1].Id {
					t.Errorf("by actor and time [all[2], all[0]): got %d entries, want all[1] and all[2]", len(res.Msg.Entries))
				}
			})

			t.Run("RefusedWriteNone", func(t *testing.T) {
				mine, theirs := len(auditEntries(t, adm, "")), len(auditEntries(t, s.Admin(p, other.AdminToken), ""))
				contractAdm := s.Admin(p, f.ContractToken)
				otherAdm := s.Admin(p, other.AdminToken)
				refused := []struct {
					name string
					code connect.Code
					call func() error
				}{
					{"BadInput/CreateProduct", connect.CodeInvalidArgument, func() error {
						_, err := adm.CreateProduct(ctx, connect.NewRequest(&v1.CreateProductRequest{Name: ""}))
						return err
					}},
					{"BadInput/CreateContract", connect.CodeInvalidArgument, func() error {
						_, err := adm.CreateContract(ctx, connect.NewRequest(&v1.CreateContractRequest{CustomerId: f.CustomerID, ProductId: f.ProductID,
							Features: []*v1.Entitlement{{Feature: "no-such-feature"}}}))
						return err
					}},
					{"BadInput/CreateWebhook", connect.CodeInvalidArgument, func() error {
						_, err := adm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: "ftp://example.com/hook"}))
						return err
					}},
					{"BadInput/CreateWebhookEventType", connect.CodeInvalidArgument, func() error {
						_, err := adm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: "https://example.com/hook", EventTypes: []string{"license.stolen"}}))
						return err
					}},
					{"BadInput/UpdateWebhookNothing", connect.CodeInvalidArgument, func() error {
						_, err := adm.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{WebhookId: "whk_x"}))
						return err
					}},
					{"WrongTenant/UpdateWebhook", connect.CodeNotFound, func() error {
						_, err := otherAdm.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{TenantId: f.TenantID, WebhookId: "whk_x", Disabled: proto.Bool(true)}))
						return err
					}},
					{"WrongTenant/CreateProduct", connect.CodeNotFound, func() error {
						_, err := otherAdm.CreateProduct(ctx, connect.NewRequest(&v1.CreateProductRequest{TenantId: f.TenantID, Name: "Sneaky"}))
						return err
					}},
					{"WrongTenant/ExtendContract", connect.CodeNotFound, func() error {
						_, err := otherAdm.ExtendContract(ctx, connect.NewRequest(&v1.ExtendContractRequest{ContractId: f.ContractID, ExtendBy: durationpb.New(time.Hour)}))
						return err
					}},
					{"WrongTenant/DeleteWebhook", connect.CodeNotFound, func() error {
						_, err := otherAdm.DeleteWebhook(ctx, connect.NewRequest(&v1.DeleteWebhookRequest{TenantId: f.TenantID, WebhookId: "whk_x"}))
						return err
					}},
					{"WrongRole/CreateProduct", connect.CodePermissionDenied, func() error {
						_, err := contractAdm.CreateProduct(ctx, connect.NewRequest(&v1.CreateProductRequest{Name: "Nope"}))
						return err
					}},
					{"WrongRole/CreateWebhook", connect.CodePermissionDenied, func() error {
						_, err := contractAdm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: "https://example.com/hook"}))
						return err
					}},
					{"WrongRole/CreateTenant", connect.CodePermissionDenied, func() error {
						_, err := adm.CreateTenant(ctx, connect.NewRequest(&v1.CreateTenantRequest{Name: "Rogue"}))
						return err
					}},
					{"NoToken/RotateSigningKey", connect.CodeUnauthenticated, func() error {
						_, err := s.Admin(p, "").RotateSigningKey(ctx, connect.NewRequest(&v1.RotateSigningKeyRequest{TenantId: f.TenantID}))
						return err
					}},
				}
				for _, r := range refused {
					t.Run(r.name, func(t *testing.T) {
						if err := r.call(); connect.CodeOf(err) != r.code {
							t.Fatalf("got %v, want %v", err, r.code)
						}
					})
				}
				if got := len(auditEntries(t, adm, "")); got != mine {
					t.Errorf("entries after refused calls: got %d, want %d (none added)", got, mine)
				}
				if got := len(auditEntries(t, otherAdm, "")); got != theirs {
					t.Errorf("other tenant's entries after refused calls: got %d, want %d (none added)", got, theirs)
				}
			})
		})
	}
}
