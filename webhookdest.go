package licensor

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// WebhookPolicy is what the server's operator lets tenants send webhooks to.
// The zero value is the strict default of a hosted server: https only, and
// only to public addresses, so that a tenant cannot aim the server at its
// own network (a receiver's status code or dial error would map it).
type WebhookPolicy struct {
	// AllowPrivate allows the ranges marked Private in ReservedRanges
	// (loopback, RFC 1918, unique-local, CGNAT): an on-premises server
	// whose receivers are internal.
	AllowPrivate bool
	// AllowHTTP allows plain http:// URLs.
	AllowHTTP bool
}

// The operator's switches, named in the messages a tenant gets.
const (
	webhookPrivateHint = "the server's operator can allow private destinations with --webhook-allow-private (LICENSOR_WEBHOOK_ALLOW_PRIVATE)"
	webhookHTTPHint    = "use https://, or the server's operator can allow plain http with --webhook-allow-http (LICENSOR_WEBHOOK_ALLOW_HTTP)"
)

// ReservedRange is a block of addresses that is not the public internet.
type ReservedRange struct {
	Prefix netip.Prefix
	Name   string
	// Private ranges hold ordinary internal hosts and are allowed with
	// WebhookPolicy.AllowPrivate; the others (link-local and cloud
	// metadata, multicast, documentation, reserved) never hold a webhook
	// receiver and are refused whatever the policy.
	Private bool
}

func rr(prefix, name string, private bool) ReservedRange {
	return ReservedRange{Prefix: netip.MustParsePrefix(prefix), Name: name, Private: private}
}

// ReservedRanges is every range webhooks are not sent to by default, the
// narrowest first where they overlap (a cloud metadata address inside a
// private range stays refused when private ranges are allowed).
// IPv4-mapped, NAT64 and 6to4 addresses are judged by the IPv4 address
// they carry (see ReservedRangeOf).
var ReservedRanges = []ReservedRange{
	// IPv4.
	rr("0.0.0.0/8", "unspecified (this network)", false),
	rr("10.0.0.0/8", "private (RFC 1918)", true),
	rr("100.100.100.200/32", "cloud metadata service", false), // Alibaba Cloud, inside CGNAT
	rr("100.64.0.0/10", "shared address space (CGNAT)", true),
	rr("127.0.0.0/8", "loopback", true),
	rr("169.254.0.0/16", "link-local (cloud metadata)", false),
	rr("172.16.0.0/12", "private (RFC 1918)", true),
	rr("192.0.0.0/24", "IETF protocol assignments", false),
	rr("192.0.2.0/24", "documentation (TEST-NET-1)", false),
	rr("192.88.99.0/24", "6to4 relay anycast", false),
	rr("192.168.0.0/16", "private (RFC 1918)", true),
	rr("198.18.0.0/15", "benchmarking", true),
	rr("198.51.100.0/24", "documentation (TEST-NET-2)", false),
	rr("203.0.113.0/24", "documentation (TEST-NET-3)", false),
	rr("224.0.0.0/4", "multicast", false),
	rr("255.255.255.255/32", "broadcast", false),
	rr("240.0.0.0/4", "reserved", false),
	// IPv6.
	rr("::/128", "unspecified", false),
	rr("::1/128", "loopback", true),
	rr("::/96", "IPv4-compatible (deprecated)", false),
	rr("64:ff9b:1::/48", "local-use NAT64", true),
	rr("100::/64", "discard-only", false),
	rr("2001::/32", "Teredo", false),
	rr("2001:2::/48", "benchmarking", false),
	rr("2001:10::/28", "ORCHID", false),
	rr("2001:20::/28", "ORCHIDv2", false),
	rr("2001:db8::/32", "documentation", false),
	rr("3fff::/20", "documentation", false),
	rr("fd00:ec2::254/128", "cloud metadata service", false), // AWS, inside unique-local
	rr("fc00::/7", "unique-local", true),
	rr("fe80::/10", "link-local", false),
	rr("fec0::/10", "site-local (deprecated)", false),
	rr("ff00::/8", "multicast", false),
}

// IPv6 ranges whose addresses embed an IPv4 address.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// ReservedRangeOf returns the reserved range a belongs to, or ok false for
// a public unicast address. An IPv6 address that carries an IPv4 address
// (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4
// 2002:aabb:ccdd::) is judged by the IPv4 address, since that is where
// the packets end up. Anything Go does not call global unicast that the
// table misses is refused as "not global unicast".
func ReservedRangeOf(a netip.Addr) (r ReservedRange, ok bool) {
	a = a.WithZone("").Unmap()
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return ReservedRangeOf(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(a):
			return ReservedRangeOf(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	for _, r := range ReservedRanges {
		if r.Prefix.Contains(a) {
			return r, true
		}
	}
	if !a.IsGlobalUnicast() {
		return ReservedRange{Prefix: netip.PrefixFrom(a, a.BitLen()), Name: "not global unicast"}, true
	}
	return ReservedRange{}, false
}

// AllowsAddr reports whether p lets webhooks be sent to a; when it does
// not, r is the range that refuses it.
func (p WebhookPolicy) AllowsAddr(a netip.Addr) (r ReservedRange, ok bool) {
	r, reserved := ReservedRangeOf(a)
	if !reserved || (r.Private && p.AllowPrivate) {
		return ReservedRange{}, true
	}
	return r, false
}

// refusal says, for a person, why an address in r is refused and what allows it.
func (r ReservedRange) refusal() string {
	if r.Private {
		return "is a " + r.Name + " address; " + webhookPrivateHint
	}
	return "is a " + r.Name + " address, which never receives webhooks"
}

// checkHost refuses what can be refused without resolving the name: an IP
// literal (in any spelling a URL parser or resolver might accept) in a
// refused range, and localhost. A name is checked again, on each address it
// resolves to, when the request is sent.
func (p WebhookPolicy) checkHost(host string) error {
	bad := func(format string, args ...any) error {
		return Errorf(EINVALID, "webhook url host %q "+format, append([]any{host}, args...)...)
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if strings.ContainsFunc(name, func(c rune) bool { return c >= utf8.RuneSelf }) {
		// The HTTP client dials the ASCII form; judge that one (fullwidth
		// digits map to an IPv4 literal, for one).
		ascii, err := idna.Lookup.ToASCII(name)
		if err != nil {
			return bad("is not a valid domain name")
		}
		name = strings.TrimSuffix(ascii, ".")
	}
	if a, err := netip.ParseAddr(name); err == nil {
		if r, ok := p.AllowsAddr(a); !ok {
			return bad("%s", r.refusal())
		}
		if a.Zone() != "" {
			return bad("has a zone; give an address without one")
		}
		return nil
	}
	if a, ok := parseLooseIPv4(name); ok {
		if r, ok := p.AllowsAddr(a); !ok {
			return bad("means %s, which %s", a, r.refusal())
		}
		return bad("means %s; write the address in that form", a)
	}
	if lastLabelNumeric(name) {
		return bad("is neither an IPv4 address nor a domain name")
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		if p.AllowPrivate {
			return nil
		}
		return bad("is this server itself (loopback); %s", webhookPrivateHint)
	}
	return nil
}

// parseLooseIPv4 parses the IPv4 spellings that inet_aton and the WHATWG
// URL standard accept besides a.b.c.d: one to four parts, each decimal,
// octal (leading 0) or hexadecimal (0x), the last filling the remaining
// bytes: 2130706433, 0x7f.1, 127.1 and 0177.0.0.1 all mean 127.0.0.1.
func parseLooseIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 || s == "" {
		return netip.Addr{}, false
	}
	var n [4]uint64
	for i, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x"):
			base, p = 16, p[2:]
			if p == "" {
				p = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		v, err := strconv.ParseUint(p, base, 32)
		if err != nil || p == "" || strings.ContainsAny(p, "+-_") {
			return netip.Addr{}, false
		}
		n[i] = v
	}
	last := len(parts) - 1
	var v uint64
	for i := range last {
		if n[i] > 255 {
			return netip.Addr{}, false
		}
		v |= n[i] << (8 * (3 - i))
	}
	if n[last] >= 1<<(8*(4-last)) {
		return netip.Addr{}, false
	}
	v |= n[last]
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// lastLabelNumeric: the WHATWG URL standard parses a host whose last label
// is a number as IPv4; no top-level domain is numeric, so such a host that
// is not an address is refused rather than guessed at.
func lastLabelNumeric(name string) bool {
	label := name[strings.LastIndexByte(name, '.')+1:]
	if label == "" {
		return false
	}
	if strings.HasPrefix(label, "0x") {
		label = label[2:]
		return strings.Trim(label, "0123456789abcdef") == ""
	}
	return strings.Trim(label, "0123456789") == ""
}

// CheckURL checks a webhook URL against p without resolving its host:
// EINVALID naming the problem and, when a switch of the operator would
// allow it, that switch.
func (p WebhookPolicy) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return Errorf(EINVALID, "url %q: give an absolute https:// URL", raw)
	}
	if u.User != nil {
		return Errorf(EINVALID, "url must not carry credentials; the signature authenticates the server")
	}
	if u.Fragment != "" || strings.ContainsAny(raw, " \t\r\n") {
		return Errorf(EINVALID, "url %q: no fragment or spaces", raw)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return Errorf(EINVALID, "url %q: port %s is not between 1 and 65535", raw, port)
		}
	}
	if err := p.checkHost(u.Hostname()); err != nil {
		return err
	}
	if u.Scheme == "http" && !p.AllowHTTP {
		return Errorf(EINVALID, "url %q: plain http is refused (the events would travel unencrypted); %s", raw, webhookHTTPHint)
	}
	return nil
}
