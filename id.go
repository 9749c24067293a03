package licensor

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
)

// Prefixes of generated identifiers: an id says what it names, which makes
// logs, support tickets and a token pasted into the wrong field easy to read.
const (
	PrefixTenant   = "ten"
	PrefixProduct  = "prd"
	PrefixFeature  = "fea"
	PrefixCustomer = "cus"
	PrefixContract = "con"
	PrefixToken    = "tok"
	PrefixKey      = "key"
	PrefixLicense  = "lic"
	PrefixPool     = "pool"
	PrefixLease    = "lea"
	PrefixWebhook  = "whk"
	PrefixEvent    = "evt"
	PrefixAudit    = "aud"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns prefix_ followed by 26 characters: 48 bits of milliseconds
// then 80 random bits, so ids sort by creation time and never collide.
func NewID(prefix string) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("licensor: crypto/rand failed: " + err.Error())
	}
	return prefix + "_" + idEncoding.EncodeToString(b[:])
}
