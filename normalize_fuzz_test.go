package licensor

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzNormalizeOrigin: never panics; what it returns is an origin
// (scheme://host[:port]) that normalizes to itself and is a valid id, and
// every error is EINVALID.
func FuzzNormalizeOrigin(f *testing.F) {
	for _, s := range []string{
		"https://shop.example.com", "HTTPS://Shop.Example.COM:443/", "http://192.0.2.10:8080", "https://3232235521",
		"https://0xC0A80001", "https://0300.0250.0.01", "https://192.168.1", "https://[::ffff:192.168.0.1]",
		"https://[2001:DB8:0:0::1]:443", "https://Bücher.example.", "https://１９２．１６８．０．１", "https://xn--bcher-kva.example",
		"https://1.2.3.4.5", "https://[fe80::1%25eth0]", "https://a:b@c", "https://x/y?z#w", "http://[::1]:80", "https://0x.0x.0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := NormalizeOrigin(raw)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("NormalizeOrigin(%q): got %v, want an %s error", raw, err, EINVALID)
			}
			return
		}
		if !strings.HasPrefix(got, "http://") && !strings.HasPrefix(got, "https://") {
			t.Fatalf("NormalizeOrigin(%q) = %q: not an http(s) origin", raw, got)
		}
		again, err := NormalizeOrigin(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeOrigin(%q) = %q, but NormalizeOrigin(%q) = %q, %v: want it unchanged", raw, got, got, again, err)
		}
		if len(got) <= MaxIDLen {
			if err := ValidateID("instance_id", got); err != nil {
				t.Fatalf("NormalizeOrigin(%q) = %q, which is not a valid id: %v", raw, got, err)
			}
		}
	})
}

// FuzzNormalizeID: never panics; a normalized id is NFC, valid, and
// normalizes to itself; ValidateID accepts exactly the ids NormalizeID
// leaves unchanged.
func FuzzNormalizeID(f *testing.F) {
	for _, s := range []string{"node-1", "cafe\u0301", "caf\u00e9", "node\u200b1", "\ufeffx", "node-\u202e1", "a b", "\xff", "\u1100\u1161", "🚀", "x\ue000", "x\u0378"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeID("instance_id", in)
		verr := ValidateID("instance_id", in)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("NormalizeID(%+q): got %v, want an %s error", in, err, EINVALID)
			}
			if verr == nil {
				t.Fatalf("ValidateID(%+q) accepts what NormalizeID refuses (%v)", in, err)
			}
			return
		}
		if !utf8.ValidString(got) || !norm.NFC.IsNormalString(got) {
			t.Fatalf("NormalizeID(%+q) = %+q: not NFC", in, got)
		}
		if err := ValidateID("instance_id", got); err != nil {
			t.Fatalf("NormalizeID(%+q) = %+q, which ValidateID refuses: %v", in, got, err)
		}
		if again, err := NormalizeID("instance_id", got); err != nil || again != got {
			t.Fatalf("NormalizeID not idempotent on %+q: got %+q, %v", got, again, err)
		}
		if (verr == nil) != (got == in) {
			t.Fatalf("ValidateID(%+q) = %v, but NormalizeID gives %+q", in, verr, got)
		}
	})
}

// FuzzTelemetry: telemetry decoded from any JSON never panics in Validate,
// Redact or KeepTelemetry; what is kept of valid telemetry is still valid,
// carries no token, and redacting it again changes nothing.
func FuzzTelemetry(f *testing.F) {
	for _, s := range []string{
		`{"product_version":"2.4.1","environment":"production","server_host":"web-1","server_ip":"203.0.113.7","server_port":8080,"app_name":"shop","usage":{"n":3},"labels":{"cfg":"token=lsr_con_abc"},"runtime_versions":{"go":"1.26"}}`,
		`{"server_host":"LSR_CON_X","app_name":"lsr_adm_y","labels":{"lsr_op_z":"v"}}`,
		`{"usage":{"a":-1}}`, `{"environment":"prod"}`, `{}`, `null`, `{"server_ip":"::ffff:1.2.3.4"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in Telemetry
		if json.Unmarshal(data, &in) != nil {
			return
		}
		valid := in.Validate() == nil
		ten := &Tenant{TruncateIPs: len(data)%2 == 0}
		kept := ten.KeepTelemetry(in)
		b, err := json.Marshal(kept)
		if err != nil {
			t.Fatal(err)
		}
		if hasToken(string(b)) {
			t.Fatalf("KeepTelemetry(%s) = %s: carries a token", data, b)
		}
		if valid {
			if err := kept.Validate(); err != nil {
				t.Fatalf("KeepTelemetry of valid %s = %s, which is not valid: %v", data, b, err)
			}
		}
		twice := kept.Redact()
		b2, _ := json.Marshal(twice)
		if string(b2) != string(b) {
			t.Fatalf("Redact not idempotent: %s then %s", b, b2)
		}
	})
}

// FuzzValidateDuration: never panics; an error is EINVALID, its message
// gives the range and never the value of a duration beyond the range.
func FuzzValidateDuration(f *testing.F) {
	f.Add(int64(time.Hour), int64(time.Minute), int64(366*24*time.Hour))
	f.Add(int64(math.MaxInt64), int64(time.Hour), int64(366*24*time.Hour))
	f.Add(int64(math.MinInt64), int64(0), int64(time.Hour))
	f.Add(int64(36*time.Hour), int64(time.Hour), int64(24*time.Hour))
	f.Fuzz(func(t *testing.T, d, lo, hi int64) {
		if lo > hi || lo < 0 {
			return
		}
		err := ValidateDuration("x", time.Duration(d), time.Duration(lo), time.Duration(hi))
		inRange := d >= lo && d <= hi
		if (err == nil) != inRange {
			t.Fatalf("ValidateDuration(%d, [%d, %d]): got %v", d, lo, hi, err)
		}
		if err == nil {
			return
		}
		msg := ErrorMessage(err)
		if ErrorCode(err) != EINVALID || !strings.Contains(msg, FormatDuration(time.Duration(lo))) || !strings.Contains(msg, FormatDuration(time.Duration(hi))) {
			t.Fatalf("ValidateDuration(%d, [%d, %d]): %v, want %s giving the range", d, lo, hi, err, EINVALID)
		}
		if d > hi && strings.Contains(msg, FormatDuration(time.Duration(d))) && FormatDuration(time.Duration(d)) != FormatDuration(time.Duration(hi)) {
			t.Fatalf("message %q shows the out-of-range value %s", msg, FormatDuration(time.Duration(d)))
		}
	})
}
