package licensor

import (
	"strings"
	"testing"
)

func TestNormalizeOrigin(t *testing.T) {
	ok := []struct{ name, in, want string }{
		{"Plain", "https://shop.example.com", "https://shop.example.com"},
		{"UpperCase", "HTTPS://Shop.Example.COM", "https://shop.example.com"},
		{"TrailingSlash", "https://shop.example.com/", "https://shop.example.com"},
		{"DefaultHTTPSPort", "https://shop.example.com:443", "https://shop.example.com"},
		{"DefaultHTTPPort", "http://shop.example.com:80/", "http://shop.example.com"},
		{"OtherPort", "https://shop.example.com:8443", "https://shop.example.com:8443"},
		{"LeadingZeroPort", "https://shop.example.com:08443", "https://shop.example.com:8443"},
		{"HTTPOn443", "http://shop.example.com:443", "http://shop.example.com:443"},
		{"TrailingDot", "https://shop.example.com.", "https://shop.example.com"},
		{"IDN", "https://Bücher.example", "https://xn--bcher-kva.example"},
		{"Punycode", "https://xn--bcher-kva.example", "https://xn--bcher-kva.example"},
		{"IPv4", "http://192.0.2.10:8080", "http://192.0.2.10:8080"},
		{"IPv6", "https://[2001:DB8:0:0::1]:443", "https://[2001:db8::1]"},
		{"Localhost", "http://localhost:3000", "http://localhost:3000"},
		{"IPv4Decimal", "https://3232235521", "https://192.168.0.1"},
		{"IPv4Hex", "https://0xC0A80001", "https://192.168.0.1"},
		{"IPv4HexParts", "https://0xc0.0xa8.0x0.0x1", "https://192.168.0.1"},
		{"IPv4Octal", "https://0300.0250.0.01", "https://192.168.0.1"},
		{"IPv4ThreeParts", "https://192.168.1", "https://192.168.0.1"},
		{"IPv4TwoParts", "https://127.1", "https://127.0.0.1"},
		{"IPv4TrailingDot", "https://192.168.0.1.", "https://192.168.0.1"},
		{"IPv4DefaultPort", "https://192.168.0.1:443/", "https://192.168.0.1"},
		{"IPv4Fullwidth", "https://１９２．１６８．０．１", "https://192.168.0.1"},
		{"IPv4Mapped", "https://[::ffff:192.168.0.1]", "https://192.168.0.1"},
		{"IPv4MappedHex", "https://[::FFFF:c0a8:1]:8443", "https://192.168.0.1:8443"},
		{"IPv6Loopback", "http://[0:0:0:0:0:0:0:1]:80", "http://[::1]"},
		{"IPv6LongestRun", "https://[2001:db8:0:0:1:0:0:1]", "https://[2001:db8::1:0:0:1]"},
		{"IPv6EmbeddedIPv4", "https://[64:ff9b::192.0.2.33]", "https://[64:ff9b::c000:221]"},
		{"IDNUpper", "https://BÜCHER.example", "https://xn--bcher-kva.example"},
		{"IDNFullwidthDot", "https://bücher。example", "https://xn--bcher-kva.example"},
		{"IDNTrailingDot", "https://bücher.example.:443", "https://xn--bcher-kva.example"},
		{"ZeroWidthInHostDropped", "https://sh\u200bop.example.com", "https://shop.example.com"},
		{"NumberInsideName", "https://1.example", "https://1.example"},
		{"HexLookingName", "https://0xname.example", "https://0xname.example"},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			got, err := NormalizeOrigin(c.in)
			if err != nil {
				t.Fatalf("NormalizeOrigin(%q): got error %v, want %q", c.in, err, c.want)
			}
			if got != c.want {
				t.Errorf("NormalizeOrigin(%q): got %q, want %q", c.in, got, c.want)
			}
		})
	}
	bad := []struct{ name, in, mention string }{
		{"Empty", "", "empty"},
		{"NoScheme", "shop.example.com", "scheme"},
		{"SchemeRelative", "//shop.example.com", "scheme"},
		{"FTP", "ftp://shop.example.com", "http or https"},
		{"Credentials", "https://admin:hunter2@shop.example.com", "credentials"},
		{"UserOnly", "https://admin@shop.example.com", "credentials"},
		{"Path", "https://shop.example.com/store", "path"},
		{"Query", "https://shop.example.com/?a=1", "query"},
		{"EmptyQuery", "https://shop.example.com?", "query"},
		{"Fragment", "https://shop.example.com#top", "fragment"},
		{"NoHost", "https://", "host"},
		{"OnlyDots", "http://..", "empty label"},
		{"LeadingDot", "https://.example.com", "empty label"},
		{"EmptyLabel", "https://shop..example.com", "empty label"},
		{"Opaque", "https:shop.example.com", "host"},
		{"PortZero", "https://shop.example.com:0", "port"},
		{"PortTooBig", "https://shop.example.com:70000", "port"},
		{"EmptyPort", "https://shop.example.com:", "port"},
		{"BadHost", "https://shop_example!.com", "domain"},
		{"Space", "https://shop example.com", "spaces"},
		{"Malformed", "https://[::1", "parse"},
		{"ZonedIPv6", "https://[fe80::1%25eth0]", "IPv6"},
		{"IPv4PartTooBig", "https://256.1.1.1", "IPv4"},
		{"IPv4LastTooBig", "https://1.1.1.256", "IPv4"},
		{"IPv4TooLarge", "https://4294967296", "IPv4"},
		{"IPv4FiveParts", "https://1.2.3.4.5", "IPv4"},
		{"IPv4BadOctal", "https://09.1.1.1", "IPv4"},
		{"IPv4EmptyPart", "https://1..1", "host"},
		{"IPv6Unbracketed", "https://::1", ""},
		{"PercentInHost", "https://%31%39%32.168.0.1", "parse"},
	}
	for _, c := range bad {
		t.Run("Err"+c.name, func(t *testing.T) {
			got, err := NormalizeOrigin(c.in)
			if ErrorCode(err) != EINVALID {
				t.Fatalf("NormalizeOrigin(%q): got %q, %v, want an %s error", c.in, got, err, EINVALID)
			}
			if !strings.Contains(ErrorMessage(err), c.mention) {
				t.Errorf("message: got %q, want it to mention %q", ErrorMessage(err), c.mention)
			}
		})
	}
}

// TestInstanceKey: only production-URL contracts normalize.
func TestInstanceKey(t *testing.T) {
	url := &Contract{SeatRule: SeatProductionURL}
	if got, err := url.InstanceKey("HTTPS://A.example:443/"); err != nil || got != "https://a.example" {
		t.Errorf("production_url: got %q, %v, want https://a.example", got, err)
	}
	inst := &Contract{SeatRule: SeatInstance}
	if got, err := inst.InstanceKey("Node-1"); err != nil || got != "Node-1" {
		t.Errorf("instance: got %q, %v, want Node-1 unchanged", got, err)
	}
	long := "https://" + strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + ".example"
	if _, err := url.InstanceKey(long); ErrorCode(err) != EINVALID {
		t.Errorf("origin over %d bytes: got %v, want %s", MaxIDLen, err, EINVALID)
	}
}
