package client

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/atomicfile"
	"github.com/licensor/licensor/license"
)

// Offline activation by file exchange, for a machine that never reaches the
// server: CreateOfflineRequest writes a fresh instance key (mode 0600) and
// returns a request file signed by it; the vendor answers it (`licensor
// offline respond`, AdminService.RespondOfflineRequest) with a license file
// bound to that key and to this machine's fingerprint; Config.LicenseFile
// with Config.InstanceKeyFile uses it, and a copy of it on another machine,
// or without the key, is refused. CreateOfflineReturn gives the seat back.

// OfflineRequest says what to ask for.
type OfflineRequest struct {
	// ContractID, ProductID (the contract's product: it salts the
	// fingerprint) and InstanceID are required; TenantID, if set, makes the
	// request refused by any other vendor's server.
	TenantID, ContractID, ProductID, InstanceID string
	// KeyFile is where the instance's private key is written, mode 0600. It
	// must not exist: a key bound to a license is never overwritten.
	KeyFile string
	// MachineID is the fingerprint's source; default MachineID.
	MachineID MachineIDSource
	// Now stamps the request; default time.Now.
	Now func() time.Time
}

// CreateOfflineRequest generates the instance key pair, writes its private
// half to r.KeyFile (mode 0600) and returns the armored request file:
// instance, contract, product, the machine's fingerprint, the public key,
// a fresh nonce, signed by the key.
func CreateOfflineRequest(r OfflineRequest) ([]byte, error) {
	if r.KeyFile == "" {
		return nil, errors.New("client: an offline request needs KeyFile, where the instance key is kept")
	}
	if _, err := os.Stat(r.KeyFile); err == nil {
		return nil, errKeyExists(r.KeyFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("client: key file: %w", err)
	}
	id, err := licensor.NormalizeID("instance id", r.InstanceID)
	if err != nil {
		return nil, err
	}
	fp, err := Fingerprint(r.ProductID, r.MachineID)
	if err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("client: generate instance key: %w", err)
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("client: nonce: %w", err)
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	req := licensor.OfflineRequest{
		Tenant: r.TenantID, Instance: id, Contract: r.ContractID, Product: r.ProductID, Fingerprint: fp,
		Key: license.InstanceJWK(pub), Nonce: base64.RawURLEncoding.EncodeToString(nonce[:]), IssuedAt: now().Unix(),
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	token, err := license.SignSelf(priv, licensor.OfflineRequestType, req)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("client: encode instance key: %w", err)
	}
	if err := writeNew(r.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, fmt.Errorf("client: write instance key: %w", err)
	}
	return license.ArmorLabel(licensor.OfflineRequestLabel, token), nil
}

func errKeyExists(path string) error {
	return fmt.Errorf("client: %s exists: an instance key may be bound to a license; return that license first, or choose another key file", path)
}

// writeNew creates path with mode 0600 and writes data, refusing a file
// that exists (O_EXCL), so that a key is never written over another.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return errKeyExists(path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// LoadInstanceKey reads an instance key written by CreateOfflineRequest.
func LoadInstanceKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s is not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, not an Ed25519 instance key", path, k)
	}
	return priv, nil
}

// CheckBinding checks a bound license (one with cnf) on this machine: the
// key in keyFile must be the one the license names, and this machine's
// fingerprint for the license's product the one it was issued to. A license
// that is not bound passes. Errors are EFORBIDDEN and say which check
// failed.
func CheckBinding(cl *licensor.Claims, keyFile string, src MachineIDSource) error {
	if !cl.Bound() {
		return nil
	}
	if keyFile == "" {
		return licensor.Errorf(licensor.EFORBIDDEN, "license %s is bound to an instance key, and no key file is configured (InstanceKeyFile, --instance-key)", cl.ID)
	}
	priv, err := LoadInstanceKey(keyFile)
	if err != nil {
		return licensor.Errorf(licensor.EFORBIDDEN, "license %s is bound to an instance key that cannot be read: %v", cl.ID, err)
	}
	if license.Thumbprint(priv.Public().(ed25519.PublicKey)) != cl.Confirmation.JKT {
		return licensor.Errorf(licensor.EFORBIDDEN, "license %s is bound to another instance key than %s: it was issued for another request", cl.ID, keyFile)
	}
	fp, err := Fingerprint(cl.Product, src)
	if err != nil {
		return licensor.Errorf(licensor.EFORBIDDEN, "license %s is bound to a machine, and this machine's fingerprint is unknown: %v", cl.ID, err)
	}
	if fp != cl.Fingerprint {
		return licensor.Errorf(licensor.EFORBIDDEN, "license %s is bound to another machine: it was copied here; ask the vendor for a license for this machine (licensor offline request)", cl.ID)
	}
	return nil
}

// checkBinding is the client's CheckBinding, with its configuration.
func (c *Client) checkBinding(cl *licensor.Claims) error {
	return CheckBinding(cl, c.cfg.InstanceKeyFile, c.cfg.MachineID)
}

// OfflineReturn says what to give back.
type OfflineReturn struct {
	// LicenseFile is the bound license to return and KeyFile its instance
	// key; both are deleted once the return file is written.
	LicenseFile, KeyFile string
	// ReturnFile is where the return file is written (mode 0600).
	ReturnFile string
	// Keys verify the license file (the vendor's public keys).
	Keys license.KeySet
	// MachineID is the fingerprint's source; default MachineID.
	MachineID MachineIDSource
	// Now stamps the return; default time.Now.
	Now func() time.Time
}

// CreateOfflineReturn proves that this machine gave its license up: it
// checks the license (signature and binding), writes the return file —
// license id, instance and contract, signed by the instance key — and only
// then deletes the license file and the key, so that a crash leaves either
// a usable license or a return file, never neither. It returns the return
// file's contents.
func CreateOfflineReturn(r OfflineReturn) ([]byte, error) {
	if r.LicenseFile == "" || r.KeyFile == "" || r.ReturnFile == "" {
		return nil, errors.New("client: an offline return needs LicenseFile, KeyFile and ReturnFile")
	}
	lic, err := readLicenseFile(r.LicenseFile, func(token string) (*License, error) {
		cl, err := license.Verify(token, r.Keys, license.VerifyOptions{})
		if err != nil {
			return nil, err
		}
		return &License{Token: token, Claims: cl, Source: SourceFile}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("client: license file %s: %w", r.LicenseFile, err)
	}
	cl := lic.Claims
	if !cl.Bound() {
		return nil, fmt.Errorf("client: license %s is not bound to an instance key: only a license from an offline request is returned this way", cl.ID)
	}
	if err := CheckBinding(cl, r.KeyFile, r.MachineID); err != nil {
		return nil, err
	}
	priv, err := LoadInstanceKey(r.KeyFile)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	token, err := license.SignSelf(priv, licensor.OfflineReturnType, licensor.OfflineReturn{
		LicenseID: cl.ID, Instance: cl.Subject, Contract: cl.Contract, IssuedAt: now().Unix(),
	})
	if err != nil {
		return nil, err
	}
	file := license.ArmorLabel(licensor.OfflineReturnLabel, token)
	if err := atomicfile.Write(r.ReturnFile, file, 0o600); err != nil {
		return nil, fmt.Errorf("client: write return file: %w", err)
	}
	for _, p := range []string{r.LicenseFile, r.KeyFile} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return file, fmt.Errorf("client: return file written to %s, but %s was not deleted: %w", r.ReturnFile, p, err)
		}
	}
	return file, nil
}
