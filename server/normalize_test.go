package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// wantCode fails unless err is a connect error with code want whose
// message contains mention.
func wantCode(t *testing.T, what string, err error, want connect.Code, mention string) {
	t.Helper()
	if connect.CodeOf(err) != want {
		t.Fatalf("%s: got %v, want %s", what, err, want)
	}
	if !strings.Contains(err.Error(), mention) {
		t.Errorf("%s: message %q, want it to mention %q", what, err, mention)
	}
}

// A contract past its end shows ended, in GetContract and in the list,
// and a status filter selects by what is shown.
func TestContractStatusFollowsTheClock(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{EndsIn: 2 * 24 * time.Hour})
	adm := s.Admin(testserver.Connect, f.AdminToken)
	status := func() string {
		t.Helper()
		res, err := adm.GetContract(ctx, connect.NewRequest(&v1.GetContractRequest{ContractId: f.ContractID}))
		if err != nil {
			t.Fatal(err)
		}
		return res.Msg.Contract.Status
	}
	listed := func(st string) []string {
		t.Helper()
		res, err := adm.ListContracts(ctx, connect.NewRequest(&v1.ListContractsRequest{Status: st}))
		if err != nil {
			t.Fatalf("ListContracts %q: %v", st, err)
		}
		var ids []string
		for _, c := range res.Msg.Contracts {
			if c.Id == f.ContractID && c.Status != st && st != "" {
				t.Errorf("ListContracts %q: contract shows %q", st, c.Status)
			}
			ids = append(ids, c.Id)
		}
		return ids
	}
	if got := status(); got != "active" {
		t.Fatalf("before its end: got %q, want active", got)
	}
	s.Clock.Advance(2 * 24 * time.Hour) // exactly at the end
	if got := status(); got != "ended" {
		t.Errorf("at its end: got %q, want ended", got)
	}
	if ids := listed("active"); slices.Contains(ids, f.ContractID) {
		t.Errorf("ListContracts active: got %v, want the ended contract left out", ids)
	}
	if ids := listed("ended"); !slices.Contains(ids, f.ContractID) {
		t.Errorf("ListContracts ended: got %v, want %s", ids, f.ContractID)
	}
	res, err := adm.ListContracts(ctx, connect.NewRequest(&v1.ListContractsRequest{}))
	if err != nil || len(res.Msg.Contracts) != 1 || res.Msg.Contracts[0].Status != "ended" {
		t.Errorf("ListContracts: got %v, %v; want the one contract, ended", res, err)
	}

	// One that starts later is scheduled.
	later, err := adm.CreateContract(ctx, connect.NewRequest(&v1.CreateContractRequest{
		CustomerId: f.CustomerID, ProductId: f.ProductID, StartsAt: timestamppb.New(s.Clock.Now().Add(24 * time.Hour)),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := later.Msg.Contract.Status; got != "scheduled" {
		t.Errorf("CreateContract starting tomorrow: got %q, want scheduled", got)
	}
	if ids := listed("scheduled"); !slices.Equal(ids, []string{later.Msg.Contract.Id}) {
		t.Errorf("ListContracts scheduled: got %v, want [%s]", ids, later.Msg.Contract.Id)
	}
}

// Every string enum an admin list filters by is checked: an unknown value
// is INVALID_ARGUMENT naming the accepted ones, never an empty list.
func TestListEnumFiltersRefuseUnknownValues(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	for _, p := range testserver.Protocols {
		adm := s.Admin(p, f.AdminToken)
		t.Run(string(p), func(t *testing.T) {
			_, err := adm.ListContracts(ctx, connect.NewRequest(&v1.ListContractsRequest{Status: "bogus"}))
			wantCode(t, "ListContracts status bogus", err, connect.CodeInvalidArgument, "scheduled, active, suspended or ended")
			_, err = adm.ListContracts(ctx, connect.NewRequest(&v1.ListContractsRequest{Status: "Active"}))
			wantCode(t, "ListContracts status Active", err, connect.CodeInvalidArgument, "active")
			_, err = adm.ListDeliveries(ctx, connect.NewRequest(&v1.ListDeliveriesRequest{Status: "bogus"}))
			wantCode(t, "ListDeliveries status bogus", err, connect.CodeInvalidArgument, "pending, succeeded or failed")
			_, err = adm.ListAuditEntries(ctx, connect.NewRequest(&v1.ListAuditEntriesRequest{ObjectType: "bogus"}))
			wantCode(t, "ListAuditEntries object_type bogus", err, connect.CodeInvalidArgument, "contract")
			res, err := adm.ListAuditEntries(ctx, connect.NewRequest(&v1.ListAuditEntriesRequest{ObjectType: "contract"}))
			if err != nil || len(res.Msg.Entries) == 0 {
				t.Errorf("ListAuditEntries object_type contract: got %v, %v; want the fixture's contract.create", res, err)
			}
		})
	}
}

// The JWKS endpoint's error body spells codes as the rest of the API does
// (Connect's "invalid_argument", "not_found").
func TestJWKSErrorCodes(t *testing.T) {
	s := testserver.Start(t)
	for _, c := range []struct {
		name, query string
		status      int
		code        connect.Code
	}{
		{"NoTenant", "", http.StatusBadRequest, connect.CodeInvalidArgument},
		{"BadTenantID", "?tenant=a%20b", http.StatusBadRequest, connect.CodeInvalidArgument},
		{"UnknownTenant", "?tenant=ten_nobody", http.StatusNotFound, connect.CodeNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := s.HTTPClient().Get(s.URL + licensor.JWKSPath + c.query)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			var body struct{ Code, Message string }
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatalf("body %s: %v", b, err)
			}
			if res.StatusCode != c.status || body.Code != c.code.String() || body.Message == "" {
				t.Errorf("got %d %s, want %d with code %q and a message", res.StatusCode, b, c.status, c.code.String())
			}
		})
	}
}

// Instance ids: two Unicode spellings of one id are one seat, found by
// the admin under either; invisible characters are refused naming the
// position and code point.
func TestInstanceIDNormalized(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	lic := s.License(testserver.GRPC, f.ContractToken)
	get := func(id string) error {
		_, err := lic.GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{ContractId: f.ContractID, InstanceId: id}))
		return err
	}
	const nfc, nfd = "caf\u00e9-1", "cafe\u0301-1"
	for _, id := range []string{nfc, nfd} {
		if err := get(id); err != nil {
			t.Fatalf("GetLicense %+q: %v", id, err)
		}
	}
	if is := listInstances(ctx, t, s, testserver.GRPC, f); len(is) != 1 || is[0].InstanceId != nfc {
		t.Errorf("instances after NFC and NFD: got %v, want one, %+q", is, nfc)
	}
	adm := s.Admin(testserver.GRPC, f.AdminToken)
	if _, err := adm.GetInstance(ctx, connect.NewRequest(&v1.GetInstanceRequest{ContractId: f.ContractID, InstanceId: nfd})); err != nil {
		t.Errorf("GetInstance by the NFD spelling: %v", err)
	}
	wantCode(t, "GetLicense with a zero-width space", get("node\u200b1"), connect.CodeInvalidArgument, "U+200B) at character 5")
	wantCode(t, "GetLicense with a right-to-left override", get("node-\u202e1"), connect.CodeInvalidArgument, "U+202E")
	_, err := s.Capability(testserver.GRPC, f.ContractToken).ListFeatures(ctx, connect.NewRequest(&v1.ListFeaturesRequest{ContractId: f.ContractID, InstanceId: "node\ufeff"}))
	wantCode(t, "capabilities ListFeatures with a BOM", err, connect.CodeInvalidArgument, "U+FEFF")
}

// https://3232235521 and https://192.168.0.1 are one origin: one seat.
func TestIPv4SpellingsAreOneURLSeat(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := urlFixture(t, s, 1)
	for _, u := range []string{"https://192.168.0.1", "https://3232235521", "https://0xc0a80001:443/", "https://[::ffff:192.168.0.1]"} {
		if _, err := check(ctx, s, testserver.GRPC, f, u, "production"); err != nil {
			t.Fatalf("GetLicense %s on a one-seat contract: %v", u, err)
		}
	}
	if is := listInstances(ctx, t, s, testserver.GRPC, f); len(is) != 1 || is[0].InstanceId != "https://192.168.0.1" {
		t.Errorf("instances: got %v, want one, https://192.168.0.1", is)
	}
}

// A token sent as the request's host is not stored.
func TestHostTokenRedacted(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	_, err := s.License(testserver.GRPC, f.ContractToken).GetLicense(ctx, connect.NewRequest(&v1.GetLicenseRequest{
		ContractId: f.ContractID, InstanceId: "node-1", Host: f.ContractToken,
		Telemetry: &v1.Telemetry{ServerHost: "x" + f.ContractToken, AppName: f.ContractToken},
	}))
	if err != nil {
		t.Fatal(err)
	}
	is := listInstances(ctx, t, s, testserver.GRPC, f)
	if len(is) != 1 || is[0].Host != licensor.Redacted {
		t.Fatalf("instances: got %v, want node-1 with host %q", is, licensor.Redacted)
	}
	b, _ := json.Marshal(is[0])
	if strings.Contains(string(b), f.ContractToken) {
		t.Errorf("stored instance %s carries the token", b)
	}
}

// A duration too long for the server is refused with the allowed range in
// days, never echoed as the clamped 2562047h47m16s.
func TestHugeDurationRefused(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	adm := s.Admin(testserver.Connect, f.AdminToken)
	for _, c := range []struct {
		name    string
		d       *durationpb.Duration
		mention string
	}{
		{"BeyondTimeDuration", &durationpb.Duration{Seconds: 300_000_000_000}, "106751d"},
		{"BeyondTheLimit", durationpb.New(400 * 24 * time.Hour), "between 1h0m0s and 366d"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := adm.ChangeContract(ctx, connect.NewRequest(&v1.ChangeContractRequest{ContractId: f.ContractID, LicenseValidity: c.d}))
			wantCode(t, "ChangeContract", err, connect.CodeInvalidArgument, c.mention)
			if strings.Contains(err.Error(), "2562047h") {
				t.Errorf("message %q shows the clamped duration", err)
			}
		})
	}
}
