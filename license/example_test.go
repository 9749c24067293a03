package license_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/license"
)

// A license as a server issued it (signed with the tenant's key
// "key_example") and the tenant's JWKS, as served at
// /.well-known/jwks.json?tenant=...: an instance verifies the license
// offline with the public keys.
const (
	exampleToken = "eyJhbGciOiJFZERTQSIsImtpZCI6ImtleV9leGFtcGxlIiwidHlwIjoibGljZW5zZStqd3QifQ." +
		"eyJpc3MiOiJ0ZW5fZXhhbXBsZSIsInN1YiI6Imluc3RhbmNlLTEiLCJqdGkiOiJsaWNfZXhhbXBsZSIsImlhdCI6MTg5MzQ1NjAwMCwibmJmIjoxODkzNDU2MDAwLCJleHAiOjE4OTM1NDI0MDAsImNvbnRyYWN0IjoiY29uX2V4YW1wbGUiLCJjdXN0b21lciI6ImN1c19leGFtcGxlIiwiZmVhdHVyZXMiOnsiZXhwb3J0Ijp0cnVlLCJzb2x2ZXIiOjUwfSwicmVmcmVzaF9hZnRlciI6MCwiZmFsbGJhY2siOiIiLCJraW5kIjoib25saW5lIn0." +
		"FyrmENT1dTWtuZZAybtdDTvDuWjAH4DpNYfNl3CzJ3-vNbr0i_Jo3AJLs2PfEU5b9-2XekcWoFoMrjtzEV3WAQ"
	exampleJWKS = `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw","kid":"key_example","alg":"EdDSA","use":"sig"}]}`
)

func Example() {
	keys, err := license.ParseJWKS([]byte(exampleJWKS))
	if err != nil {
		panic(err)
	}
	issued := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	claims, err := license.Verify(exampleToken, keys, license.VerifyOptions{Now: issued.Add(time.Hour)})
	if err != nil {
		panic(err)
	}
	fmt.Println("licensed to", claims.Subject)
	fmt.Println("solver seats:", claims.Count("solver"))
	fmt.Println("export allowed:", claims.Allowed("export"))

	_, err = license.Verify(exampleToken, keys, license.VerifyOptions{Now: issued.Add(48 * time.Hour)})
	fmt.Println(err)
	_, err = license.Verify(exampleToken, license.KeySet{}, license.VerifyOptions{})
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
