package testserver

import (
	"crypto/x509"
	"encoding/pem"

	"github.com/licensor/licensor/internal/bearer"
)

// Bearer is a client interceptor that sends Authorization: Bearer <token>.
type Bearer = bearer.Token

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
