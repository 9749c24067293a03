package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// snapshot is what must not change when a request is refused.
type snapshot struct {
	instances, audit, tokens int
	version                  int64
}

func takeSnapshot(t *testing.T, s *testserver.Server, f *testserver.Fixture) snapshot {
	t.Helper()
	ctx := context.Background()
	adm := s.Admin(testserver.GRPC, f.AdminToken)
	ins, err := adm.ListInstances(ctx, connect.NewRequest(&v1.ListInstancesRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	au, err := adm.ListAuditEntries(ctx, connect.NewRequest(&v1.ListAuditEntriesRequest{PageSize: 1000}))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := adm.ListTokens(ctx, connect.NewRequest(&v1.ListTokensRequest{IncludeRevoked: true}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := adm.GetContract(ctx, connect.NewRequest(&v1.GetContractRequest{ContractId: f.ContractID}))
	if err != nil {
		t.Fatal(err)
	}
	return snapshot{len(ins.Msg.Instances), len(au.Msg.Entries), len(tk.Msg.Tokens), c.Msg.Contract.Version}
}

// TestBadInput: each malformed or unauthorised request gets its own status
// code and a one-line message, and changes nothing stored.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	other := s.NewFixture(t, testserver.FixtureOptions{})
	ended := s.NewFixture(t, testserver.FixtureOptions{EndsIn: time.Hour})
	adm := s.Admin(testserver.GRPC, f.AdminToken)

	// A revoked token of the same contract.
	tk, err := adm.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "contract", ContractId: f.ContractID}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adm.RevokeToken(ctx, connect.NewRequest(&v1.RevokeTokenRequest{TokenId: tk.Msg.Token.Id})); err != nil {
		t.Fatal(err)
	}
	revoked := tk.Msg.Secret
	// End the short contract by moving its clock past the end is global; end
	// it explicitly instead so the other fixtures stay valid.
	if _, err := s.Admin(testserver.GRPC, ended.AdminToken).EndContract(ctx, connect.NewRequest(&v1.EndContractRequest{ContractId: ended.ContractID})); err != nil {
		t.Fatal(err)
	}

	before := takeSnapshot(t, s, f)
	long := strings.Repeat("x", 129)
	cases := []struct {
		name       string
		token      string
		contract   string
		instance   string
		want       connect.Code
		msgContain string
	}{
		{"EmptyInstance", f.ContractToken, f.ContractID, "", connect.CodeInvalidArgument, "instance_id is required"},
		{"OversizedInstance", f.ContractToken, f.ContractID, long, connect.CodeInvalidArgument, "limit is 128"},
		{"InstanceWithSpace", f.ContractToken, f.ContractID, "a b", connect.CodeInvalidArgument, "spaces"},
		{"EmptyContract", f.ContractToken, "", "a", connect.CodeInvalidArgument, "contract_id is required"},
		{"OversizedContract", f.ContractToken, long, "a", connect.CodeInvalidArgument, "limit is 128"},
		{"UnknownContract", f.ContractToken, "con_doesnotexist", "a", connect.CodePermissionDenied, "another contract"},
		{"OtherTenantsContract", f.ContractToken, other.ContractID, "a", connect.CodePermissionDenied, "another contract"},
		{"NoToken", "", f.ContractID, "a", connect.CodeUnauthenticated, "Bearer"},
		{"UnknownToken", "lsr_con_nope", f.ContractID, "a", connect.CodeUnauthenticated, "not valid"},
		{"RevokedToken", revoked, f.ContractID, "a", connect.CodeUnauthenticated, "revoked"},
		{"AdminTokenForLicense", f.AdminToken, f.ContractID, "a", connect.CodePermissionDenied, "contract token"},
		{"EndedContract", ended.ContractToken, ended.ContractID, "a", connect.CodePermissionDenied, "ended"},
	}
	for _, c := range cases {
		for _, p := range testserver.Protocols {
			t.Run(c.name+"/"+string(p), func(t *testing.T) {
				_, err := getLicense(ctx, t, s, p, c.token, c.contract, c.instance)
				if got := connect.CodeOf(err); got != c.want {
					t.Fatalf("code: got %v (%v), want %v", got, err, c.want)
				}
				var ce *connect.Error
				if !asConnectError(err, &ce) || !strings.Contains(ce.Message(), c.msgContain) || strings.Contains(ce.Message(), "\n") {
					t.Errorf("message: got %q, want one line containing %q", ce.Message(), c.msgContain)
				}
			})
		}
	}
	if after := takeSnapshot(t, s, f); after != before {
		t.Errorf("state changed by refused requests: got %+v, want %+v", after, before)
	}
}

func asConnectError(err error, target **connect.Error) bool {
	ce, ok := err.(*connect.Error)
	if ok {
		*target = ce
	} else {
		*target = connect.NewError(connect.CodeUnknown, err)
	}
	return ok
}

// TestMalformedHTTP: raw Connect requests with broken bodies or the wrong
// content type are refused with HTTP statuses a program can act on.
func TestMalformedHTTP(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	url := s.URL + "/licensor.v1.LicenseService/GetLicense"
	cases := []struct {
		name, contentType, body string
		want                    int
	}{
		{"MalformedJSON", "application/json", `{"contract_id": `, http.StatusBadRequest},
		{"WrongFieldType", "application/json", `{"contract_id": 42}`, http.StatusBadRequest},
		{"WrongContentType", "text/plain", `hello`, http.StatusUnsupportedMediaType},
		{"OK", "application/json", `{"contract_id":"` + f.ContractID + `","instance_id":"raw-1"}`, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.contentType)
			req.Header.Set("Authorization", "Bearer "+f.ContractToken)
			res, err := s.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.want {
				t.Errorf("status: got %d %s, want %d", res.StatusCode, body, c.want)
			}
		})
	}
}

// TestTenantIsolation: a tenant admin sees nothing of another tenant, and
// an attempt answers NOT_FOUND exactly as for an object that does not exist.
func TestTenantIsolation(t *testing.T) {
	ctx := context.Background()
	s := testserver.Start(t)
	a := s.NewFixture(t, testserver.FixtureOptions{})
	b := s.NewFixture(t, testserver.FixtureOptions{})
	if _, err := getLicense(ctx, t, s, testserver.GRPC, a.ContractToken, a.ContractID, "a-1"); err != nil {
		t.Fatal(err)
	}
	admB := s.Admin(testserver.Connect, b.AdminToken)
	notFound := []struct {
		name string
		call func() error
	}{
		{"GetContract", func() error {
			_, err := admB.GetContract(ctx, connect.NewRequest(&v1.GetContractRequest{ContractId: a.ContractID}))
			return err
		}},
		{"GetContractNamingTenantA", func() error {
			_, err := admB.GetContract(ctx, connect.NewRequest(&v1.GetContractRequest{TenantId: a.TenantID, ContractId: a.ContractID}))
			return err
		}},
		{"ExtendContract", func() error {
			_, err := admB.ExtendContract(ctx, connect.NewRequest(&v1.ExtendContractRequest{ContractId: a.ContractID, ExtendBy: nil, EndsAt: nil}))
			if connect.CodeOf(err) == connect.CodeInvalidArgument { // neither given: try with a value
				_, err = admB.EndContract(ctx, connect.NewRequest(&v1.EndContractRequest{ContractId: a.ContractID}))
			}
			return err
		}},
		{"CreateTokenForOtherContract", func() error {
			_, err := admB.CreateToken(ctx, connect.NewRequest(&v1.CreateTokenRequest{Role: "contract", ContractId: a.ContractID}))
			return err
		}},
		{"GetInstance", func() error {
			_, err := admB.GetInstance(ctx, connect.NewRequest(&v1.GetInstanceRequest{ContractId: a.ContractID, InstanceId: "a-1"}))
			return err
		}},
		{"ListFeaturesOfOtherProduct", func() error {
			_, err := admB.ListProductFeatures(ctx, connect.NewRequest(&v1.ListProductFeaturesRequest{ProductId: a.ProductID}))
			return err
		}},
		{"IssueLicenseFile", func() error {
			_, err := admB.IssueLicenseFile(ctx, connect.NewRequest(&v1.IssueLicenseFileRequest{ContractId: a.ContractID, InstanceId: "x"}))
			return err
		}},
	}
	for _, c := range notFound {
		t.Run(c.name, func(t *testing.T) {
			if got := connect.CodeOf(c.call()); got != connect.CodeNotFound {
				t.Errorf("got %v, want not_found", got)
			}
		})
	}
	t.Run("ListsAreEmpty", func(t *testing.T) {
		ins, err := admB.ListInstances(ctx, connect.NewRequest(&v1.ListInstancesRequest{}))
		if err != nil || len(ins.Msg.Instances) != 0 {
			t.Errorf("instances: got %v %v, want none", ins, err)
		}
		cs, err := admB.ListContracts(ctx, connect.NewRequest(&v1.ListContractsRequest{}))
		if err != nil || len(cs.Msg.Contracts) != 1 || cs.Msg.Contracts[0].Id != b.ContractID {
			t.Errorf("contracts: got %v %v, want only its own", cs, err)
		}
	})
	t.Run("AdminCannotListTenants", func(t *testing.T) {
		_, err := admB.ListTenants(ctx, connect.NewRequest(&v1.ListTenantsRequest{}))
		if got := connect.CodeOf(err); got != connect.CodePermissionDenied {
			t.Errorf("got %v, want permission_denied", got)
		}
	})
	t.Run("ContractTokenCannotAdmin", func(t *testing.T) {
		_, err := s.Admin(testserver.GRPC, a.ContractToken).ListContracts(ctx, connect.NewRequest(&v1.ListContractsRequest{}))
		if got := connect.CodeOf(err); got != connect.CodePermissionDenied {
			t.Errorf("got %v, want permission_denied", got)
		}
	})
}
