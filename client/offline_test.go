package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/license"
)

func machineSource(id string) MachineIDSource {
	return func() ([]byte, error) { return []byte(id), nil }
}

func TestFingerprint(t *testing.T) {
	a1, err := Fingerprint("prd_1", machineSource("machine-a"))
	if err != nil {
		t.Fatal(err)
	}
	a1again, _ := Fingerprint("prd_1", machineSource("machine-a"))
	a2, _ := Fingerprint("prd_2", machineSource("machine-a"))
	b1, _ := Fingerprint("prd_1", machineSource("machine-b"))
	switch {
	case a1 != a1again:
		t.Errorf("not stable: %s then %s", a1, a1again)
	case a1 == a2:
		t.Errorf("not salted by product: both %s", a1)
	case a1 == b1:
		t.Errorf("two machines, one fingerprint %s", a1)
	case strings.Contains(a1, "machine-a"):
		t.Errorf("fingerprint %s shows the raw id", a1)
	}
	if _, err := Fingerprint("", machineSource("machine-a")); err == nil {
		t.Error("a fingerprint without a product: got nil error")
	}
	if _, err := Fingerprint("prd_1", func() ([]byte, error) { return nil, errors.New("no id") }); err == nil {
		t.Error("a failing source: got nil error")
	}
	if _, err := Fingerprint("prd_1", machineSource("")); err == nil {
		t.Error("an empty machine id: got nil error")
	}
}

func TestCreateOfflineRequest(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "instance.key")
	r := OfflineRequest{TenantID: "ten_1", ContractID: "con_1", ProductID: "prd_1", InstanceID: "air-1", KeyFile: key, MachineID: machineSource("m")}
	file, err := CreateOfflineRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: got %v, %v; want mode 0600", fi, err)
	}
	tok, err := license.DearmorLabel(licensor.OfflineRequestLabel, file)
	if err != nil {
		t.Fatal(err)
	}
	req, pub, err := license.VerifyOfflineRequest(tok)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := LoadInstanceKey(key)
	if err != nil || !pub.Equal(priv.Public()) {
		t.Fatalf("the request's key is not the key on disk: %v", err)
	}
	fp, _ := Fingerprint("prd_1", machineSource("m"))
	if req.Fingerprint != fp || req.Tenant != "ten_1" || req.Instance != "air-1" || len(req.Nonce) < licensor.OfflineNonceMinLen {
		t.Errorf("request: got %+v", req)
	}
	before, _ := os.ReadFile(key)
	if _, err := CreateOfflineRequest(r); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second request onto the same key file: got %v, want refused", err)
	}
	if after, _ := os.ReadFile(key); string(after) != string(before) {
		t.Error("the key file was overwritten")
	}
	r.KeyFile, r.ProductID = filepath.Join(dir, "other.key"), ""
	if _, err := CreateOfflineRequest(r); err == nil {
		t.Error("a request without a product: got nil error")
	}
	if _, err := os.Stat(r.KeyFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused request left a key file: %v", err)
	}
}

// TestBoundLicense: a license bound to a key and a machine is used only
// there.
func TestBoundLicense(t *testing.T) {
	k := testKeys(t)
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	key := filepath.Join(dir, "instance.key")
	if _, err := CreateOfflineRequest(OfflineRequest{ContractID: "con_1", ProductID: "prd_1", InstanceID: "node-1", KeyFile: key, MachineID: machineSource("a")}); err != nil {
		t.Fatal(err)
	}
	priv, _ := LoadInstanceKey(key)
	cl := testClaims(t0)
	cl.Kind, cl.Product = licensor.LicenseKindFile, "prd_1"
	cl.Fingerprint, _ = Fingerprint("prd_1", machineSource("a"))
	cl.Confirmation = &licensor.Confirmation{JKT: license.Thumbprint(priv.Public().(ed25519.PublicKey))}
	lic := filepath.Join(dir, "site.lic")
	if err := os.WriteFile(lic, license.Armor(k.sign(t, cl)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, machine, key string
		licensed           bool
		reason             string
	}{
		{"OnItsMachine", "a", key, true, ""},
		{"OtherMachine", "b", key, false, "another machine"},
		{"NoKey", "a", "", false, "no key file"},
		{"KeyMissing", "a", filepath.Join(dir, "gone.key"), false, "cannot be read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, Config{ContractID: "con_1", InstanceID: "node-1", Keys: k.set, LicenseFile: lic,
				InstanceKeyFile: tt.key, MachineID: machineSource(tt.machine), Now: func() time.Time { return t0.Add(time.Hour) }})
			_ = c.Start(context.Background())
			st := c.Status()
			if st.Licensed() != tt.licensed || !strings.Contains(st.Reason, tt.reason) {
				t.Errorf("got %v (%s), want licensed=%v with %q", st.State, st.Reason, tt.licensed, tt.reason)
			}
		})
	}
}

// TestClockWoundBack: behind the newest signed time by more than the skew
// warns once and runs on the guarded clock; by more than the tolerance
// refuses until the clock is corrected; each episode fires once.
func TestClockWoundBack(t *testing.T) {
	k := testKeys(t)
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	cl := testClaims(t0)
	cl.Kind = licensor.LicenseKindFile
	path := tempFile(t, "site.lic")
	if err := os.WriteFile(path, license.Armor(k.sign(t, cl)), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	clock := t0.Add(time.Hour)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	set := func(t time.Time) { mu.Lock(); clock = t; mu.Unlock() }
	type ev struct {
		behind  time.Duration
		refused bool
	}
	var events []ev
	c := newClient(t, Config{ContractID: "con_1", InstanceID: "node-1", Keys: k.set, LicenseFile: path, Now: now})
	c.OnClockRollback(func(behind time.Duration, refused bool) { events = append(events, ev{behind, refused}) })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		at       time.Time
		licensed bool
		events   []ev
	}{
		{"Ahead", t0.Add(time.Hour), true, nil},
		{"WithinSkew", t0.Add(-time.Minute), true, nil},
		{"BehindWarned", t0.Add(-time.Hour), true, []ev{{time.Hour, false}}},
		{"StillBehindNoRepeat", t0.Add(-2 * time.Hour), true, nil},
		{"WoundBackRefused", t0.Add(-48 * time.Hour), false, []ev{{48 * time.Hour, true}}},
		{"StillRefusedNoRepeat", t0.Add(-72 * time.Hour), false, nil},
		{"Corrected", t0.Add(2 * time.Hour), true, nil},
		{"WoundBackAgain", t0.Add(-30 * time.Hour), false, []ev{{30 * time.Hour, true}}},
	}
	for _, s := range steps {
		events = nil
		set(s.at)
		st := c.Status()
		if st.Licensed() != s.licensed {
			t.Errorf("%s: got %v (%s), want licensed=%v", s.name, st.State, st.Reason, s.licensed)
		}
		if !s.licensed && (!strings.Contains(st.Reason, "wound back") || licensor.ErrorCode(st.Err()) != licensor.EFORBIDDEN) {
			t.Errorf("%s: reason %q, err %v; want it to say the clock was wound back", s.name, st.Reason, st.Err())
		}
		if c.Allowed("solver") != s.licensed {
			t.Errorf("%s: Allowed(solver) got %v, want %v", s.name, !s.licensed, s.licensed)
		}
		if len(events) != len(s.events) || (len(events) > 0 && events[0] != s.events[0]) {
			t.Errorf("%s: events got %v, want %v", s.name, events, s.events)
		}
	}
}

// ExampleFingerprint: the fingerprint is salted per product, so two
// products on one machine report two unrelated values, and it never shows
// the machine id.
func ExampleFingerprint() {
	machine := func() ([]byte, error) { return []byte("4c4c4544003957108052b4c04f4e3132"), nil }
	a, _ := Fingerprint("prd_suite", machine)
	b, _ := Fingerprint("prd_viewer", machine)
	again, _ := Fingerprint("prd_suite", machine)
	fmt.Println(len(a), a == again, a == b)
	// Output: 43 true false
}
