package client

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
)

// TestUnpinnedKeyWarning walks a staged rotation as a product with pinned
// keys lives it: the next key is published, the client notices within
// PinCheckInterval and warns (event, UnpinnedKeys, log) while it is still
// licensed; at the activation the old build refuses new licenses, and a
// build that pins the new key carries on. The old key's licenses still
// verify until they expire.
func TestUnpinnedKeyWarning(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testserver.FixtureOptions{EndsIn: 365 * 24 * time.Hour})
	c := newClient(t, e.config(t, "node-1", ""))
	kids := make(chan []string, 10)
	c.OnUnpinnedKeys(func(k []string) { kids <- k })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first comparison of the pins", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return !c.pinsChecked.IsZero() && !c.pinsRunning
	})
	if got := c.UnpinnedKeys(); got != nil {
		t.Fatalf("UnpinnedKeys before any rotation: got %v, want none", got)
	}

	rot, err := e.srv.Admin(testserver.Connect, e.f.AdminToken).RotateSigningKey(ctx, connect.NewRequest(&v1.RotateSigningKeyRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	next := rot.Msg.Key.Id
	e.clock.Advance(PinCheckInterval)
	if err := c.Refresh(ctx); err != nil {
		t.Fatalf("refresh while the next key is only published: %v", err)
	}
	if got := waitFor(t, kids, "OnUnpinnedKeys"); !slices.Equal(got, []string{next}) {
		t.Errorf("OnUnpinnedKeys: got %v, want [%s]", got, next)
	}
	if got := c.UnpinnedKeys(); !slices.Equal(got, []string{next}) {
		t.Errorf("UnpinnedKeys: got %v, want [%s]", got, next)
	}
	if !strings.Contains(e.logs.String(), "does not pin") {
		t.Errorf("no warning logged; log: %s", e.logs.String())
	}
	old := c.License()

	// The activation: this build cannot verify what the new key signs.
	e.clock.Advance(14 * 24 * time.Hour)
	if err := c.Refresh(ctx); StageOf(err) != StageVerify {
		t.Errorf("refresh after the activation with the old pins: got %v, want a verify error", err)
	}
	if !c.Status().Licensed() || c.License().Token != old.Token {
		t.Errorf("the license held must stay until it expires: got %+v", c.Status())
	}
	// A build that pins the published keys.
	cfg := e.config(t, "node-2", "")
	cfg.Keys = fetchKeys(t, e.srv, e.f.TenantID)
	updated := newClient(t, cfg)
	if err := updated.Start(ctx); err != nil {
		t.Fatalf("a build with the new key: %v", err)
	}
	if kid := tokenKid(updated.License().Token); kid != next {
		t.Errorf("new license signed by %s, want %s", kid, next)
	}
	if _, ok := cfg.Keys[tokenKid(old.Token)]; !ok {
		t.Errorf("the old key left the JWKS while its licenses are valid")
	}
}
