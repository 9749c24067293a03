package licensor

import (
	"net/netip"
	"strings"
	"testing"
)

func TestWebhookPolicyCheckURL(t *testing.T) {
	strict := WebhookPolicy{}
	private := WebhookPolicy{AllowPrivate: true}
	open := WebhookPolicy{AllowPrivate: true, AllowHTTP: true}
	cases := []struct {
		name   string
		policy WebhookPolicy
		url    string
		want   string // a part of the refusal; "" when accepted
	}{
		{"PublicName", strict, "https://hooks.example.com/licensor", ""},
		{"PublicIPv4", strict, "https://93.184.215.14/hook", ""},
		{"PublicIPv6", strict, "https://[2606:4700::1111]/hook", ""},
		{"NameThatLooksPrivate", strict, "https://internal.example.com", ""}, // names are checked when dialed
		{"HTTPRefused", strict, "http://hooks.example.com", "--webhook-allow-http"},
		{"HTTPAllowed", WebhookPolicy{AllowHTTP: true}, "http://hooks.example.com", ""},
		{"FTP", open, "ftp://hooks.example.com", "https://"},
		{"Credentials", strict, "https://u:p@hooks.example.com", "credentials"},
		{"BadPort", strict, "https://hooks.example.com:70000", "port"},
		{"Loopback", strict, "https://127.0.0.1:8443", "loopback"},
		{"LoopbackAllowed", private, "https://127.0.0.1:8443", ""},
		{"LoopbackOtherHost", strict, "https://127.8.9.10", "loopback"},
		{"Localhost", strict, "https://localhost:8443", "--webhook-allow-private"},
		{"LocalhostUpperDot", strict, "https://LOCALHOST./x", "loopback"},
		{"SubLocalhost", strict, "https://api.localhost", "loopback"},
		{"LocalhostAllowed", private, "https://localhost:8443", ""},
		{"IPv6Loopback", strict, "https://[::1]:8443", "loopback"},
		{"IPv4MappedLoopback", strict, "https://[::ffff:127.0.0.1]", "loopback"},
		{"IPv4MappedHex", strict, "https://[::ffff:7f00:1]", "loopback"},
		{"Decimal", strict, "http://2130706433", "loopback"},
		{"DecimalStrictHTTPFirst", WebhookPolicy{AllowHTTP: true}, "http://2130706433", "127.0.0.1"},
		{"HexShort", strict, "https://0x7f.1", "loopback"},
		{"Short", strict, "https://127.1", "loopback"},
		{"Octal", strict, "https://0177.0.0.1", "loopback"},
		{"OddSpellingOfPublic", strict, "https://0x5db8d70e", "write the address in that form"},
		{"NumericTLD", strict, "https://1.2.3.4.5", "neither"},
		{"PercentEncoded", strict, "https://127%2e0%2e0%2e1/x", "absolute"}, // url.Parse refuses it
		{"FullwidthDigits", strict, "https://１２７.０.０.１", "loopback"},
		{"Metadata", strict, "https://169.254.169.254/latest/meta-data", "link-local"},
		{"MetadataNeverAllowed", open, "http://169.254.169.254/latest/meta-data", "never receives"},
		{"AWSMetadataIPv6", open, "https://[fd00:ec2::254]", "metadata"},
		{"AlibabaMetadata", open, "https://100.100.100.200", "metadata"},
		{"RFC1918", strict, "https://10.0.0.1", "private"},
		{"RFC1918Allowed", private, "https://10.0.0.1", ""},
		{"RFC1918_172", strict, "https://172.16.5.4", "private"},
		{"RFC1918_192", strict, "https://192.168.1.1", "private"},
		{"CGNAT", strict, "https://100.64.0.1", "CGNAT"},
		{"UniqueLocal", strict, "https://[fd12:3456::1]", "unique-local"},
		{"LinkLocal6WithZone", open, "https://[fe80::1%25eth0]", "link-local"},
		{"Unspecified", open, "https://0.0.0.0", "unspecified"},
		{"UnspecifiedShort", open, "https://0", "unspecified"},
		{"Unspecified6", open, "https://[::]", "unspecified"},
		{"Broadcast", open, "https://255.255.255.255", "broadcast"},
		{"Multicast", open, "https://224.0.0.1", "multicast"},
		{"Multicast6", open, "https://[ff02::1]", "multicast"},
		{"Documentation", open, "https://192.0.2.1", "documentation"},
		{"Reserved", open, "https://240.0.0.1", "reserved"},
		{"NAT64Loopback", strict, "https://[64:ff9b::7f00:1]", "loopback"},
		{"NAT64Public", strict, "https://[64:ff9b::5db8:d70e]", ""},
		{"SixToFourPrivate", strict, "https://[2002:0a00:0001::1]", "private"},
		{"Teredo", open, "https://[2001:0:4136:e378::1]", "Teredo"},
		{"IPv4Compatible", open, "https://[::7f00:1]", "IPv4-compatible"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.policy.CheckURL(c.url)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("CheckURL(%q): got %v, want accepted", c.url, err)
			case c.want != "" && err == nil:
				t.Fatalf("CheckURL(%q): got accepted, want a refusal saying %q", c.url, c.want)
			case c.want != "" && (ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("CheckURL(%q): got %v, want invalid saying %q", c.url, err, c.want)
			}
		})
	}
}

func TestReservedRangeOf(t *testing.T) {
	for _, c := range []struct {
		addr    string
		want    string // range name; "" for public
		private bool
	}{
		{"8.8.8.8", "", false},
		{"127.0.0.1", "loopback", true},
		{"::ffff:10.1.2.3", "private (RFC 1918)", true},
		{"169.254.169.254", "link-local (cloud metadata)", false},
		{"fd00:ec2::254", "cloud metadata service", false},
		{"2606:4700::1111", "", false},
		{"2002:7f00:1::", "loopback", true},
		{"64:ff9b::a9fe:a9fe", "link-local (cloud metadata)", false},
		{"fe80::1%eth0", "link-local", false},
	} {
		t.Run(c.addr, func(t *testing.T) {
			r, reserved := ReservedRangeOf(netip.MustParseAddr(c.addr))
			if got := r.Name; got != c.want || reserved != (c.want != "") || r.Private != c.private {
				t.Fatalf("ReservedRangeOf(%s): got %q (reserved %v, private %v), want %q (private %v)", c.addr, got, reserved, r.Private, c.want, c.private)
			}
		})
	}
}
