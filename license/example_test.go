package license_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/license"
)

// A server signs a license with the tenant's key; an instance verifies it
// offline with the tenant's public keys (in practice, from ParseJWKS).
func Example() {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	signer, err := license.NewSigner("key_example", priv)
	if err != nil {
		panic(err)
	}
	issued := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	token, err := signer.SignLicense(&licensor.Claims{
		Issuer:    "ten_example",
		Subject:   "instance-1",
		ID:        "lic_example",
		IssuedAt:  issued.Unix(),
		NotBefore: issued.Unix(),
		Expiry:    issued.Add(24 * time.Hour).Unix(),
		Contract:  "con_example",
		Customer:  "cus_example",
		Features:  map[string]any{"solver": 50, "export": true},
		Kind:      licensor.LicenseKindLive,
	})
	if err != nil {
		panic(err)
	}

	keys := license.KeySet{"key_example": priv.Public().(ed25519.PublicKey)}
	claims, err := license.Verify(token, keys, license.VerifyOptions{Now: issued.Add(time.Hour)})
	if err != nil {
		panic(err)
	}
	fmt.Println("licensed to", claims.Subject)
	fmt.Println("solver seats:", claims.Count("solver"))
	fmt.Println("export allowed:", claims.Allowed("export"))

	_, err = license.Verify(token, keys, license.VerifyOptions{Now: issued.Add(48 * time.Hour)})
	fmt.Println(err)
	_, err = license.Verify(token, license.KeySet{}, license.VerifyOptions{})
	fmt.Println(licensor.ErrorCode(err))
	// Output:
	// licensed to instance-1
	// solver seats: 50
	// export allowed: true
	// licensor failed_precondition: license expired at 2030-01-02T00:00:00Z
	// invalid
}

// A static license file is the token between BEGIN and END lines; Dearmor
// reads it back even from a pasted e-mail with CRLF line ends.
func ExampleArmor() {
	token := strings.Repeat("eyJhbGciOiJFZERTQSJ9", 4) + ".eyJzdWIiOiJpbnN0YW5jZS0xIn0.c2lnbmF0dXJl"
	file := license.Armor(token)
	fmt.Print(string(file))

	pasted := "Your license:\r\n" + strings.ReplaceAll(string(file), "\n", "\r\n") + "Thanks!\r\n"
	back, err := license.Dearmor([]byte(pasted))
	fmt.Println(back == token, err)
	// Output:
	// -----BEGIN LICENSOR LICENSE-----
	// eyJhbGciOiJFZERTQSJ9eyJhbGciOiJFZERTQSJ9eyJhbGciOiJFZERTQSJ9eyJh
	// bGciOiJFZERTQSJ9.eyJzdWIiOiJpbnN0YW5jZS0xIn0.c2lnbmF0dXJl
	// -----END LICENSOR LICENSE-----
	// true <nil>
}
