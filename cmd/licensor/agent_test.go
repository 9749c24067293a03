package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/agentapi"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/license"
)

// TestAgent runs the sidecar in-process against a real server: the
// license is on the endpoint and in the file, verifies with the tenant's
// JWKS, and a contract extension replaces both at once over the stream.
func TestAgent(t *testing.T) {
	srv := testserver.Start(t)
	f := srv.NewFixture(t, testserver.FixtureOptions{EndsIn: 10 * 24 * time.Hour})
	res, err := srv.HTTPClient().Get(srv.URL + "/.well-known/jwks.json?tenant=" + f.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := io.ReadAll(res.Body)
	res.Body.Close()
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(keysFile, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := &AgentCmd{Contract: f.ContractID, Instance: "rails-1", Keys: keysFile, CacheDir: filepath.Join(dir, "cache"),
		Out: filepath.Join(dir, "out", "license.json"), Listen: "127.0.0.1:0", Watch: true, Timeout: 5 * time.Second}
	cfg, err := cmd.clientConfig(&Globals{Server: srv.URL, Token: f.ContractToken, CACert: srv.CACertFile})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Now = srv.Clock.Now
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ag, err := startAgent(ctx, cfg, cmd.Out, cmd.Listen, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ag.Close() })
	keys, _ := license.ParseJWKS(jwks)

	get := func(t *testing.T) (int, agentapi.Document) {
		t.Helper()
		res, err := http.Get(ag.URL() + "/v1/license")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var d agentapi.Document
		if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, d
	}
	readFile := func(t *testing.T) agentapi.Document {
		t.Helper()
		b, err := os.ReadFile(cmd.Out)
		if err != nil {
			t.Fatal(err)
		}
		var d agentapi.Document
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("license file is not JSON: %v", err)
		}
		return d
	}

	t.Run("Endpoint", func(t *testing.T) {
		code, d := get(t)
		if code != http.StatusOK || !d.Status.Licensed || d.Status.State.String() != "valid" {
			t.Fatalf("got %d %+v, want 200 and licensed", code, d.Status)
		}
		cl, err := license.Verify(d.Token, keys, license.VerifyOptions{Now: srv.Clock.Now()})
		if err != nil {
			t.Fatalf("token from the endpoint does not verify: %v", err)
		}
		if cl.Subject != "rails-1" || d.Claims.Contract != f.ContractID || d.InstanceID != "rails-1" {
			t.Errorf("got sub %q contract %q, want rails-1 %s", cl.Subject, d.Claims.Contract, f.ContractID)
		}
	})
	t.Run("File", func(t *testing.T) {
		d := readFile(t)
		if _, err := license.Verify(d.Token, keys, license.VerifyOptions{Now: srv.Clock.Now()}); err != nil {
			t.Fatalf("token in the file does not verify: %v", err)
		}
	})
	t.Run("ExtensionReplacesFile", func(t *testing.T) {
		before := readFile(t).Claims.ContractVersion
		_, err := srv.Admin(testserver.GRPC, f.AdminToken).ExtendContract(context.Background(),
			connect.NewRequest(&v1.ExtendContractRequest{ContractId: f.ContractID, ExtendBy: durationpb.New(30 * 24 * time.Hour)}))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for readFile(t).Claims.ContractVersion == before {
			if time.Now().After(deadline) {
				t.Fatal("the file still holds the old license after 10s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if _, d := get(t); d.Claims.ContractVersion == before {
			t.Errorf("endpoint still serves contract version %d", before)
		}
	})
}

// TestAgentUnlicensed: with the server unreachable and nothing cached the
// agent still runs and its endpoint answers 503 saying why.
func TestAgentUnlicensed(t *testing.T) {
	srv := testserver.Start(t)
	f := srv.NewFixture(t, testserver.FixtureOptions{})
	dir := t.TempDir()
	cmd := &AgentCmd{Contract: f.ContractID, Instance: "rails-1", Tenant: f.TenantID, CacheDir: dir, Out: filepath.Join(dir, "license.json"), Listen: "127.0.0.1:0", Timeout: time.Second}
	cfg, err := cmd.clientConfig(&Globals{Server: "https://127.0.0.1:1", Token: f.ContractToken, CACert: srv.CACertFile})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := startAgent(context.Background(), cfg, cmd.Out, cmd.Listen, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ag.Close() })
	res, err := http.Get(ag.URL() + "/v1/license")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var d agentapi.Document
	_ = json.NewDecoder(res.Body).Decode(&d)
	if res.StatusCode != http.StatusServiceUnavailable || d.Status.Licensed || d.Token != "" || d.Status.Reason == "" {
		t.Errorf("got %d %+v, want 503, unlicensed, a reason and no token", res.StatusCode, d.Status)
	}
}

// TestAgentUnixSocket: --listen unix:/path serves the API on a socket of
// mode 0660, removed when the agent stops.
func TestAgentUnixSocket(t *testing.T) {
	srv := testserver.Start(t)
	f := srv.NewFixture(t, testserver.FixtureOptions{})
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	cmd := &AgentCmd{Contract: f.ContractID, Instance: "php-1", Tenant: f.TenantID, CacheDir: dir, Listen: "unix:" + sock, Timeout: 5 * time.Second}
	cfg, err := cmd.clientConfig(&Globals{Server: srv.URL, Token: f.ContractToken, CACert: srv.CACertFile})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Now = srv.Clock.Now
	ag, err := startAgent(context.Background(), cfg, "", cmd.Listen, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if got := ag.URL(); got != "unix:"+sock {
		t.Errorf("URL: got %q, want unix:%s", got, sock)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket: got %v %v, want mode 0660", fi, err)
	}
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	res, err := hc.Get("http://agent/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	var st agentapi.Status
	_ = json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !st.Licensed {
		t.Errorf("GET /v1/status over the socket: got %d %+v, want 200 and licensed", res.StatusCode, st)
	}
	if err := ag.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket is left behind after Close: %v", err)
	}
}

// TestAgentTokenReference: the agent reads its contract token from a file
// (a mounted secret) or a variable, as the admin commands do, and a
// reference that reads nothing is a usage error naming it.
func TestAgentTokenReference(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "token")
	if err := os.WriteFile(secret, []byte("lsr_con_fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AGENT_TEST_TOKEN", "lsr_con_fromenv")
	cmd := &AgentCmd{Contract: "con_1", Instance: "rails-1"}
	for _, tc := range []struct{ ref, want string }{
		{"file:" + secret, "lsr_con_fromfile"},
		{"env:AGENT_TEST_TOKEN", "lsr_con_fromenv"},
		{"lsr_con_plain", "lsr_con_plain"},
	} {
		cfg, err := cmd.clientConfig(&Globals{Server: "https://127.0.0.1:1", Token: tc.ref})
		if err != nil || cfg.Token != tc.want {
			t.Errorf("--token %s: got %q, %v; want %q", tc.ref, cfg.Token, err, tc.want)
		}
	}
	_, err := cmd.clientConfig(&Globals{Server: "https://127.0.0.1:1", Token: "env:AGENT_TEST_UNSET"})
	if exitCode(err) != ExitInvalid || !strings.Contains(fmt.Sprint(err), "AGENT_TEST_UNSET") {
		t.Errorf("an unset variable: got %v (exit %d), want a usage error naming it", err, exitCode(err))
	}
}
