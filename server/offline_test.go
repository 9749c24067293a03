package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/client"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

func machine(id string) client.MachineIDSource {
	return func() ([]byte, error) { return []byte(id), nil }
}

// offlineRequest makes a request file as the machine would, its key in dir.
func offlineRequest(t *testing.T, s *testserver.Server, f *testserver.Fixture, dir, instance, machineID string) (file []byte, keyFile string) {
	t.Helper()
	keyFile = filepath.Join(dir, instance+".key")
	file, err := client.CreateOfflineRequest(client.OfflineRequest{
		TenantID: f.TenantID, ContractID: f.ContractID, ProductID: f.ProductID, InstanceID: instance,
		KeyFile: keyFile, MachineID: machine(machineID), Now: s.Clock.Now,
	})
	if err != nil {
		t.Fatalf("CreateOfflineRequest: %v", err)
	}
	return file, keyFile
}

func seatsUsedOf(t *testing.T, adm interface {
	GetContract(context.Context, *connect.Request[v1.GetContractRequest]) (*connect.Response[v1.GetContractResponse], error)
}, contractID string) int32 {
	t.Helper()
	res, err := adm.GetContract(context.Background(), connect.NewRequest(&v1.GetContractRequest{ContractId: contractID}))
	if err != nil {
		t.Fatal(err)
	}
	return res.Msg.Contract.SeatsUsed
}

// TestOfflineExchange walks the whole file exchange through the admin API
// and the client library: request, response bound to the machine, use,
// refusals, return on proof, forced release.
func TestOfflineExchange(t *testing.T) {
	for _, p := range testserver.Protocols {
		t.Run(string(p), func(t *testing.T) {
			ctx := context.Background()
			s := testserver.Start(t)
			f := s.NewFixture(t, testserver.FixtureOptions{MaxSeats: 1})
			other := s.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
			adm := s.Admin(p, f.AdminToken)
			dir := t.TempDir()

			reqFile, keyFile := offlineRequest(t, s, f, dir, "air-1", "machine-a")
			if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file: got %v, %v; want mode 0600", fi, err)
			}
			if !strings.HasPrefix(string(reqFile), "-----BEGIN "+licensor.OfflineRequestLabel+"-----\n") {
				t.Fatalf("request file does not start with its armor: %.60q", reqFile)
			}

			res, err := adm.RespondOfflineRequest(ctx, connect.NewRequest(&v1.RespondOfflineRequestRequest{RequestFile: string(reqFile)}))
			if err != nil {
				t.Fatalf("RespondOfflineRequest: %v", err)
			}
			act := res.Msg.Activation
			if act.InstanceId != "air-1" || act.ContractId != f.ContractID || act.ReleasedAt != nil || act.Release != "" {
				t.Errorf("activation: got %v", act)
			}
			keys := fetchJWKS(t, s, f.TenantID)
			token, err := license.Dearmor([]byte(res.Msg.LicenseFile))
			if err != nil {
				t.Fatal(err)
			}
			cl, err := license.Verify(token, keys, license.VerifyOptions{Now: s.Clock.Now()})
			if err != nil {
				t.Fatalf("the license file does not verify: %v", err)
			}
			priv, err := client.LoadInstanceKey(keyFile)
			if err != nil {
				t.Fatal(err)
			}
			fpA, _ := client.Fingerprint(f.ProductID, machine("machine-a"))
			if !cl.Bound() || cl.Confirmation.JKT != license.Thumbprint(priv.Public().(ed25519.PublicKey)) || cl.Confirmation.JKT != act.KeyThumbprint {
				t.Errorf("cnf: got %+v, want the instance key's thumbprint %s", cl.Confirmation, act.KeyThumbprint)
			}
			if cl.Fingerprint != fpA || act.Fingerprint != fpA {
				t.Errorf("fingerprint: got claim %q, activation %q; want %q", cl.Fingerprint, act.Fingerprint, fpA)
			}
			if cl.Kind != licensor.LicenseKindFile || cl.Subject != "air-1" || cl.ID != act.LicenseId {
				t.Errorf("claims: got kind %q sub %q jti %q", cl.Kind, cl.Subject, cl.ID)
			}
			if n := seatsUsedOf(t, adm, f.ContractID); n != 1 {
				t.Errorf("seats used after the response: got %d, want 1", n)
			}
			_, err = adm.ReleaseSeat(ctx, connect.NewRequest(&v1.ReleaseSeatRequest{ContractId: f.ContractID, InstanceId: "air-1"}))
			wantConnectCode(t, "ReleaseSeat of an instance holding an offline license", err, connect.CodeFailedPrecondition)

			// Refusals: a replay, an altered request, a request for another
			// tenant or its contract, a request when no seat is free.
			_, err = adm.RespondOfflineRequest(ctx, connect.NewRequest(&v1.RespondOfflineRequestRequest{RequestFile: string(reqFile)}))
			wantConnectCode(t, "the same request again", err, connect.CodeAlreadyExists)
			if err == nil || !strings.Contains(err.Error(), "already answered") {
				t.Errorf("the same request again: got %v, want a message saying it was already answered", err)
			}
			_, err = adm.RespondOfflineRequest(ctx, connect.NewRequest(&v1.RespondOfflineRequestRequest{RequestFile: alterRequest(t, reqFile)}))
			wantConnectCode(t, "an altered request", err, connect.CodeInvalidArgument)
			_, err = s.Admin(p, other.AdminToken).RespondOfflineRequest(ctx, connect.NewRequest(&v1.RespondOfflineRequestRequest{RequestFile: string(reqFile)}))
			wantConnectCode(t, "another tenant answering", err, connect.CodePermissionDenied)
			noTenant := selfSigned(t, licensor.OfflineRequest{Instance: "air-9", Contract: other.ContractID, Product: other.ProductID,
				Fingerprint: fpA, Nonce: "nonce-0123456789abcdefghij", IssuedAt: s.Clock.Now().Unix()})
			_, err = adm.RespondOfflineRequest(ctx, connect.NewRequest(&v1.RespondOfflineRequestRequest{RequestFile: noTenant}))
			wantConnectCode(t, "a request for another tenant's contract", err, connect.CodeNotFound)
			req2, key2 := offlineRequest(t, s, f, dir, "air-2", "machine-b")
			_, err = adm.RespondOfflineRequest(ctx, connect.NewRequest(&v1.RespondOfflineRequestRequest{RequestFile: string(req2)}))
			wantConnectCode(t, "no seat free", err, connect.CodeResourceExhausted)

			// The client library uses the license on machine A with its key,
			// and refuses it on machine B or without the key.
			licFile := filepath.Join(dir, "air-1.lic")
			if err := os.WriteFile(licFile, []byte(res.Msg.LicenseFile), 0o600); err != nil {
				t.Fatal(err)
			}
			use := func(machineID, key string) client.Status {
				c, err := client.New(client.Config{ContractID: f.ContractID, InstanceID: "air-1", TenantID: f.TenantID, Keys: keys,
					LicenseFile: licFile, InstanceKeyFile: key, MachineID: machine(machineID), Now: s.Clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_ = c.Start(ctx)
				return c.Status()
			}
			if st := use("machine-a", keyFile); !st.Licensed() {
				t.Errorf("on its machine with its key: got %v (%s), want licensed", st.State, st.Reason)
			}
			if st := use("machine-b", keyFile); st.Licensed() || !strings.Contains(st.Reason, "another machine") {
				t.Errorf("copied to machine B: got %v (%s), want refused naming another machine", st.State, st.Reason)
			}
			if st := use("machine-a", ""); st.Licensed() || !strings.Contains(st.Reason, "no key file") {
				t.Errorf("without its key: got %v (%s), want refused", st.State, st.Reason)
			}
			if st := use("machine-a", key2); st.Licensed() || !strings.Contains(st.Reason, "another instance key") {
				t.Errorf("with another key: got %v (%s), want refused", st.State, st.Reason)
			}

			// A return signed by another key is refused; the machine's own
			// frees the seat, once.
			forged := forgeReturn(t, cl)
			_, err = adm.ReturnOfflineLicense(ctx, connect.NewRequest(&v1.ReturnOfflineLicenseRequest{ReturnFile: forged}))
			wantConnectCode(t, "a return signed by another key", err, connect.CodeInvalidArgument)
			retPath := filepath.Join(dir, "air-1.return")
			ret, err := client.CreateOfflineReturn(client.OfflineReturn{LicenseFile: licFile, KeyFile: keyFile, ReturnFile: retPath,
				Keys: keys, MachineID: machine("machine-a"), Now: s.Clock.Now})
			if err != nil {
				t.Fatalf("CreateOfflineReturn: %v", err)
			}
			for _, gone := range []string{licFile, keyFile} {
				if _, err := os.Stat(gone); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s after the return: got %v, want deleted", gone, err)
				}
			}
			if onDisk, _ := os.ReadFile(retPath); string(onDisk) != string(ret) {
				t.Errorf("return file on disk differs from the one returned")
			}
			rr, err := adm.ReturnOfflineLicense(ctx, connect.NewRequest(&v1.ReturnOfflineLicenseRequest{ReturnFile: string(ret)}))
			if err != nil {
				t.Fatalf("ReturnOfflineLicense: %v", err)
			}
			if rr.Msg.Activation.Release != licensor.OfflineReleaseReturned || rr.Msg.Activation.ReleasedAt == nil {
				t.Errorf("returned activation: got %v", rr.Msg.Activation)
			}
			if n := seatsUsedOf(t, adm, f.ContractID); n != 0 {
				t.Errorf("seats used after the return: got %d, want 0", n)
			}
			_, err = adm.ReturnOfflineLicense(ctx, connect.NewRequest(&v1.ReturnOfflineLicenseRequest{ReturnFile: string(ret)}))
			wantConnectCode(t, "the same return again", err, connect.CodeFailedPrecondition)
			_, err = s.Admin(p, other.AdminToken).ReturnOfflineLicense(ctx, connect.NewRequest(&v1.ReturnOfflineLicenseRequest{ReturnFile: string(ret)}))
			wantConnectCode(t, "another tenant's return", err, connect.CodeNotFound)

			// The seat is free: machine B's new request is answered, and an
			// administrator frees it without a proof, with a reason.
			os.Remove(key2)
			req2, _ = offlineRequest(t, s, f, dir, "air-2", "machine-b")
			res2, err := adm.RespondOfflineRequest(ctx, connect.NewRequest(&v1.RespondOfflineRequestRequest{RequestFile: string(req2)}))
			if err != nil {
				t.Fatalf("RespondOfflineRequest after the return: %v", err)
			}
			id2 := res2.Msg.Activation.LicenseId
			_, err = adm.ReleaseOfflineLicense(ctx, connect.NewRequest(&v1.ReleaseOfflineLicenseRequest{LicenseId: id2}))
			wantConnectCode(t, "a forced release without a reason", err, connect.CodeInvalidArgument)
			_, err = s.Admin(p, other.AdminToken).ReleaseOfflineLicense(ctx, connect.NewRequest(&v1.ReleaseOfflineLicenseRequest{LicenseId: id2, Reason: "x"}))
			wantConnectCode(t, "another tenant's forced release", err, connect.CodeNotFound)
			fr, err := adm.ReleaseOfflineLicense(ctx, connect.NewRequest(&v1.ReleaseOfflineLicenseRequest{LicenseId: id2, Reason: "machine destroyed in a fire"}))
			if err != nil || fr.Msg.Activation.Release != licensor.OfflineReleaseForced {
				t.Fatalf("ReleaseOfflineLicense: got %v, %v; want forced", fr, err)
			}
			if n := seatsUsedOf(t, adm, f.ContractID); n != 0 {
				t.Errorf("seats used after the forced release: got %d, want 0", n)
			}
			got, err := adm.GetOfflineLicense(ctx, connect.NewRequest(&v1.GetOfflineLicenseRequest{LicenseId: id2}))
			if err != nil || got.Msg.Activation.Release != licensor.OfflineReleaseForced {
				t.Errorf("GetOfflineLicense: got %v, %v", got, err)
			}
			actions := map[string]string{}
			for _, e := range auditEntries(t, adm, "") {
				b, _ := protojson.Marshal(e.After)
				actions[e.Action] = string(b)
			}
			for _, a := range []string{"offline.activate", "offline.return", "offline.force_release"} {
				if _, ok := actions[a]; !ok {
					t.Errorf("audit log has no %s entry", a)
				}
			}
			if !strings.Contains(actions["offline.force_release"], "machine destroyed in a fire") {
				t.Errorf("forced release audit entry lacks the reason: %s", actions["offline.force_release"])
			}
		})
	}
}

// alterRequest changes the instance id inside a request's signed payload.
func alterRequest(t *testing.T, file []byte) string {
	t.Helper()
	tok, err := license.DearmorLabel(licensor.OfflineRequestLabel, file)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	altered := strings.Replace(string(payload), `"sub":"air-1"`, `"sub":"air-7"`, 1)
	if altered == string(payload) {
		t.Fatalf("payload has no sub to alter: %s", payload)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(altered))
	return strings.Join(parts, ".")
}

// selfSigned signs r with a fresh key, as a machine would.
func selfSigned(t *testing.T, r licensor.OfflineRequest) string {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	r.Key = license.InstanceJWK(pub)
	tok, err := license.SignSelf(priv, licensor.OfflineRequestType, r)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// forgeReturn is a return of cl's license signed by a key that is not the
// bound one.
func forgeReturn(t *testing.T, cl *licensor.Claims) string {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	tok, err := license.SignSelf(priv, licensor.OfflineReturnType, licensor.OfflineReturn{
		LicenseID: cl.ID, Instance: cl.Subject, Contract: cl.Contract, IssuedAt: cl.IssuedAt})
	if err != nil {
		t.Fatal(err)
	}
	return string(license.ArmorLabel(licensor.OfflineReturnLabel, tok))
}
