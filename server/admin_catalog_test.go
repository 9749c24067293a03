package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// Customers, products and features change and go through the admin API;
// a delete of what a contract still refers to is FAILED_PRECONDITION with
// a message naming the contract, and another tenant reaches none of it.
func TestCatalogChanges(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{})
			other := s.NewFixture(t, testserver.FixtureOptions{})
			adm := s.Admin(p, f.AdminToken)
			intruder := s.Admin(p, other.AdminToken)

			// Metadata at creation, shown by get and list.
			cr, err := adm.CreateCustomer(ctx, connect.NewRequest(&v1.CreateCustomerRequest{
				Name: "Globex", Metadata: map[string]string{"crm.id": "7", "region": "eu"}}))
			if err != nil {
				t.Fatalf("CreateCustomer: %v", err)
			}
			id := cr.Msg.Customer.Id
			s.Clock.Advance(time.Second) // the audit log lists newest first
			got, err := adm.GetCustomer(ctx, connect.NewRequest(&v1.GetCustomerRequest{CustomerId: id}))
			if err != nil || got.Msg.Customer.Metadata["crm.id"] != "7" || got.Msg.Customer.Name != "Globex" {
				t.Fatalf("GetCustomer: got %v, %v; want Globex with crm.id 7", got, err)
			}
			_, err = adm.CreateCustomer(ctx, connect.NewRequest(&v1.CreateCustomerRequest{Name: "Bad", Metadata: map[string]string{"Upper": "x"}}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Errorf("CreateCustomer with a bad metadata key: got %v, want INVALID_ARGUMENT", err)
			}

			s.Clock.Advance(time.Second)
			up, err := adm.UpdateCustomer(ctx, connect.NewRequest(&v1.UpdateCustomerRequest{CustomerId: id,
				Name: proto.String("Globex Corp"), Metadata: map[string]string{"tier": "gold"}, SetMetadata: true}))
			if err != nil || up.Msg.Customer.Name != "Globex Corp" || len(up.Msg.Customer.Metadata) != 1 || up.Msg.Customer.Metadata["tier"] != "gold" {
				t.Fatalf("UpdateCustomer: got %v, %v; want Globex Corp with only tier=gold", up, err)
			}
			ls, err := adm.ListCustomers(ctx, connect.NewRequest(&v1.ListCustomersRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range ls.Msg.Customers {
				if c.Id == id && c.Metadata["tier"] != "gold" {
					t.Errorf("ListCustomers: %s metadata %v, want tier=gold", id, c.Metadata)
				}
			}

			// Contract metadata through ChangeContract.
			ch, err := adm.ChangeContract(ctx, connect.NewRequest(&v1.ChangeContractRequest{ContractId: f.ContractID,
				Metadata: map[string]string{"po": "PO-9"}, SetMetadata: true}))
			if err != nil || ch.Msg.Contract.Metadata["po"] != "PO-9" {
				t.Fatalf("ChangeContract metadata: got %v, %v; want po=PO-9", ch, err)
			}
			gc, err := adm.GetContract(ctx, connect.NewRequest(&v1.GetContractRequest{ContractId: f.ContractID}))
			if err != nil || gc.Msg.Contract.Metadata["po"] != "PO-9" {
				t.Fatalf("GetContract metadata: got %v, %v; want po=PO-9", gc, err)
			}

			// Refused deletes name what refers to the object.
			for _, c := range []struct {
				name string
				call func() error
			}{
				{"DeleteCustomer", func() error {
					_, err := adm.DeleteCustomer(ctx, connect.NewRequest(&v1.DeleteCustomerRequest{CustomerId: f.CustomerID}))
					return err
				}},
				{"DeleteProduct", func() error {
					_, err := adm.DeleteProduct(ctx, connect.NewRequest(&v1.DeleteProductRequest{ProductId: f.ProductID}))
					return err
				}},
			} {
				err := c.call()
				if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), f.ContractID) {
					t.Errorf("%s still referenced: got %v, want FAILED_PRECONDITION naming %s", c.name, err, f.ContractID)
				}
			}
			fs, err := adm.ListProductFeatures(ctx, connect.NewRequest(&v1.ListProductFeaturesRequest{ProductId: f.ProductID}))
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]string{}
			for _, fe := range fs.Msg.Features {
				byName[fe.Name] = fe.Id
			}
			_, err = adm.DeleteFeature(ctx, connect.NewRequest(&v1.DeleteFeatureRequest{FeatureId: byName["solver"]}))
			if connect.CodeOf(err) != connect.CodeFailedPrecondition {
				t.Errorf("DeleteFeature granted by a contract: got %v, want FAILED_PRECONDITION", err)
			}
			uf, err := adm.UpdateFeature(ctx, connect.NewRequest(&v1.UpdateFeatureRequest{FeatureId: byName["solver"], Description: proto.String("Runs the solver")}))
			if err != nil || uf.Msg.Feature.Description != "Runs the solver" || uf.Msg.Feature.Name != "solver" {
				t.Fatalf("UpdateFeature: got %v, %v", uf, err)
			}

			// Another tenant reaches nothing.
			for _, c := range []struct {
				name string
				call func() error
			}{
				{"GetCustomer", func() error {
					_, err := intruder.GetCustomer(ctx, connect.NewRequest(&v1.GetCustomerRequest{CustomerId: id}))
					return err
				}},
				{"UpdateCustomer", func() error {
					_, err := intruder.UpdateCustomer(ctx, connect.NewRequest(&v1.UpdateCustomerRequest{CustomerId: id, Name: proto.String("x")}))
					return err
				}},
				{"DeleteCustomer", func() error {
					_, err := intruder.DeleteCustomer(ctx, connect.NewRequest(&v1.DeleteCustomerRequest{CustomerId: id}))
					return err
				}},
				{"UpdateProduct", func() error {
					_, err := intruder.UpdateProduct(ctx, connect.NewRequest(&v1.UpdateProductRequest{ProductId: f.ProductID, Name: proto.String("x")}))
					return err
				}},
				{"UpdateFeature", func() error {
					_, err := intruder.UpdateFeature(ctx, connect.NewRequest(&v1.UpdateFeatureRequest{FeatureId: byName["reporting"], Description: proto.String("x")}))
					return err
				}},
				{"DeleteFeature", func() error {
					_, err := intruder.DeleteFeature(ctx, connect.NewRequest(&v1.DeleteFeatureRequest{FeatureId: byName["reporting"]}))
					return err
				}},
			} {
				if err := c.call(); connect.CodeOf(err) != connect.CodeNotFound {
					t.Errorf("%s of another tenant: got %v, want NOT_FOUND", c.name, err)
				}
			}

			// What nothing refers to goes, and is audited.
			s.Clock.Advance(time.Second)
			if _, err := adm.DeleteCustomer(ctx, connect.NewRequest(&v1.DeleteCustomerRequest{CustomerId: id})); err != nil {
				t.Fatalf("DeleteCustomer: %v", err)
			}
			if _, err := adm.GetCustomer(ctx, connect.NewRequest(&v1.GetCustomerRequest{CustomerId: id})); connect.CodeOf(err) != connect.CodeNotFound {
				t.Errorf("GetCustomer after delete: got %v, want NOT_FOUND", err)
			}
			pr, err := adm.CreateProduct(ctx, connect.NewRequest(&v1.CreateProductRequest{Name: "Spare"}))
			if err != nil {
				t.Fatal(err)
			}
			rn, err := adm.UpdateProduct(ctx, connect.NewRequest(&v1.UpdateProductRequest{ProductId: pr.Msg.Product.Id, Name: proto.String("Spare Parts")}))
			if err != nil || rn.Msg.Product.Name != "Spare Parts" {
				t.Fatalf("UpdateProduct: got %v, %v", rn, err)
			}
			if _, err := adm.UpdateProduct(ctx, connect.NewRequest(&v1.UpdateProductRequest{ProductId: pr.Msg.Product.Id, Name: proto.String("Suite")})); connect.CodeOf(err) != connect.CodeAlreadyExists {
				t.Errorf("UpdateProduct to a taken name: got %v, want ALREADY_EXISTS", err)
			}
			if _, err := adm.DeleteProduct(ctx, connect.NewRequest(&v1.DeleteProductRequest{ProductId: pr.Msg.Product.Id})); err != nil {
				t.Fatalf("DeleteProduct: %v", err)
			}
			au, err := adm.ListAuditEntries(ctx, connect.NewRequest(&v1.ListAuditEntriesRequest{ObjectType: "customer", ObjectId: id}))
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range au.Msg.Entries {
				actions = append(actions, e.Action)
			}
			if want := "customer.delete customer.update customer.create"; strings.Join(actions, " ") != want {
				t.Errorf("audit of %s: got %v, want %s", id, actions, want)
			}
		})
	}
}
