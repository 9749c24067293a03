package client

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
)

// MachineIDSource returns a machine's raw identifier, for Fingerprint.
// Tests inject their own; the default is MachineID.
type MachineIDSource func() ([]byte, error)

// machineIDPaths are where Linux keeps the machine id: systemd's, then
// D-Bus's older copy.
var machineIDPaths = []string{"/etc/machine-id", "/var/lib/dbus/machine-id"}

// MachineID reads the host's machine id (/etc/machine-id, or
// /var/lib/dbus/machine-id). It is stable across restarts and differs
// between clones only if the clone was given a new one, which is what
// image tooling is told to do.
func MachineID() ([]byte, error) {
	var errs []error
	for _, p := range machineIDPaths {
		b, err := os.ReadFile(p)
		if err == nil && len(bytes.TrimSpace(b)) > 0 {
			return bytes.TrimSpace(b), nil
		}
		if err == nil {
			err = fmt.Errorf("%s is empty", p)
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("client: no machine id: %w", errors.Join(errs...))
}

// Fingerprint returns the machine's fingerprint for product: the HMAC-SHA256
// of product keyed by the machine's raw identifier, base64url. It is stable
// across restarts, differs between products (so two vendors cannot match
// their records of one machine), and never reveals the raw identifier,
// which stays on the machine. src nil means MachineID.
func Fingerprint(product string, src MachineIDSource) (string, error) {
	if product == "" {
		return "", errors.New("client: a fingerprint needs the product id it is salted with")
	}
	if src == nil {
		src = MachineID
	}
	id, err := src()
	if err != nil {
		return "", err
	}
	if len(id) == 0 {
		return "", errors.New("client: the machine id is empty")
	}
	m := hmac.New(sha256.New, id)
	m.Write([]byte("licensor fingerprint v1\x00"))
	m.Write([]byte(product))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
}
