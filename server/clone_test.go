package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// TestInstanceCloned: one instance id checking in from two machines
// (fingerprints) within a refresh interval is flagged, raises
// instance.cloned (alert and webhook event), and with the contract's
// refuse_clones the second machine is refused until the first has been
// silent for a refresh interval.
func TestInstanceCloned(t *testing.T) {
	const fpA, fpB = "machine-a-fingerprint-0001", "machine-b-fingerprint-0002"
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5, Refresh: 2 * time.Hour})
			adm := s.Admin(p, f.AdminToken)
			lic := s.License(p, f.ContractToken)
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
			t.Cleanup(rcv.Close)
			hook, err := adm.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{Url: rcv.URL, EventTypes: []string{string(licensor.AlertInstanceCloned)}}))
			if err != nil {
				t.Fatalf("CreateWebhook: %v", err)
			}
			get := func(fp string) error {
				_, err := lic.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: "vm", Host: "same-name", Fingerprint: fp}))
				return err
			}
			cloned := func() []*v1.Alert {
				t.Helper()
				if err := s.Scanner.ScanOnce(ctx); err != nil {
					t.Fatal(err)
				}
				res, err := adm.ListAlerts(ctx, connect.NewRequest(&v1.ListAlertsRequest{}))
				if err != nil {
					t.Fatal(err)
				}
				var out []*v1.Alert
				for _, a := range res.Msg.Alerts {
					if a.Type == string(licensor.AlertInstanceCloned) {
						out = append(out, a)
					}
				}
				return out
			}

			if err := get(fpA); err != nil {
				t.Fatal(err)
			}
			s.Clock.Advance(time.Minute)
			if err := get(fpA); err != nil {
				t.Fatal(err)
			}
			if got := cloned(); len(got) != 0 {
				t.Fatalf("one machine: got %d instance.cloned alerts, want none", len(got))
			}
			s.Clock.Advance(time.Minute)
			if err := get(fpB); err != nil {
				t.Fatalf("a second machine without refuse_clones: got %v, want a license", err)
			}
			inst, err := adm.GetInstance(ctx, connect.NewRequest(&v1.GetInstanceRequest{ContractId: f.ContractID, InstanceId: "vm"}))
			if err != nil || inst.Msg.Instance.CloneSuspectedAt == nil {
				t.Fatalf("GetInstance: got %v, %v; want the clone flag set", inst, err)
			}
			if got := cloned(); len(got) != 1 || got[0].ObjectId != f.ContractID+"/vm" {
				t.Fatalf("instance.cloned alerts: got %v, want one for %s/vm", got, f.ContractID)
			}
			ds, err := adm.ListDeliveries(ctx, connect.NewRequest(&v1.ListDeliveriesRequest{WebhookId: hook.Msg.Webhook.Id}))
			if err != nil || len(ds.Msg.Deliveries) != 1 || ds.Msg.Deliveries[0].EventType != string(licensor.AlertInstanceCloned) {
				t.Fatalf("ListDeliveries: got %v, %v; want one instance.cloned delivery", ds, err)
			}

			ch, err := adm.ChangeContract(ctx, connect.NewRequest(&v1.ChangeContractRequest{ContractId: f.ContractID, RefuseClones: proto.Bool(true)}))
			if err != nil || !ch.Msg.Contract.RefuseClones {
				t.Fatalf("ChangeContract refuse_clones: got %v, %v", ch, err)
			}
			s.Clock.Advance(time.Minute)
			wantConnectCode(t, "machine A while B holds the instance", get(fpA), connect.CodeFailedPrecondition)
			if err := get(fpB); err != nil {
				t.Errorf("the machine that holds the instance: got %v, want a license", err)
			}
			if err := get(""); err != nil {
				t.Errorf("a check-in without a fingerprint: got %v, want a license", err)
			}
			// B stops; after a refresh interval of silence A may take over.
			s.Clock.Advance(2*time.Hour + time.Minute)
			if err := get(fpA); err != nil {
				t.Errorf("machine A after B was silent a refresh interval: got %v, want a license", err)
			}
			s.Clock.Advance(25 * time.Hour)
			if err := get(fpA); err != nil {
				t.Fatal(err)
			}
			if got := cloned(); len(got) != 0 {
				t.Errorf("a day after the last clone: got %v, want the alert cleared", got)
			}
		})
	}
}
