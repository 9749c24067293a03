package licensor

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// NormalizeOrigin returns the canonical form of a web application's origin,
// the instance id of a contract whose seats are production URLs:
// scheme://host[:port] with
//
//   - the scheme http or https, lower-cased;
//   - the host lower-cased, an internationalized name in its ASCII
//     (punycode) form, a trailing dot removed, an IPv6 address bracketed
//     in its canonical (compressed) form, an IPv4-mapped IPv6 address as
//     the IPv4 address;
//   - an IPv4 address in dotted-decimal form, whichever of the forms a
//     browser accepts it was given in (3232235521, 0xc0a80001,
//     0300.0250.0.1, 192.168.1): a browser parses such a host as that
//     address and sends it as dotted decimal in the Origin header, so
//     every spelling is the one origin and takes one seat;
//   - the port left out when it is the scheme's default (80, 443).
//
// A bare trailing "/" is accepted and dropped; a path, query, fragment or
// credentials are refused with EINVALID naming the problem, because each
// distinct origin takes a seat and two spellings of one site must count once.
func NormalizeOrigin(raw string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", Errorf(EINVALID, "production URL %q: "+format, append([]any{raw}, args...)...)
	}
	if raw == "" {
		return bad("the URL is empty; send the application's origin, e.g. https://shop.example.com")
	}
	if !utf8.ValidString(raw) {
		return bad("it is not valid UTF-8")
	}
	if strings.ContainsAny(raw, " \t\r\n\\") {
		return bad("it contains spaces or backslashes")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("it does not parse as a URL (%s); send e.g. https://shop.example.com", urlErr(err))
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "":
		return bad("it has no scheme; send e.g. https://shop.example.com")
	case scheme != "http" && scheme != "https":
		return bad("scheme %q: use http or https", u.Scheme)
	case u.Opaque != "":
		return bad("it has no host; send e.g. https://shop.example.com")
	case u.User != nil:
		return bad("it carries credentials (user or password); send the origin only")
	case u.Path != "" && u.Path != "/":
		return bad("it has a path (%s); send the origin only, without a path", u.EscapedPath())
	case u.RawQuery != "" || u.ForceQuery:
		return bad("it has a query; send the origin only")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return bad("it has a fragment; send the origin only")
	}
	host, port := u.Hostname(), u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return bad("it has an empty port")
	}
	if host == "" {
		return bad("it has no host; send e.g. https://shop.example.com")
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad("port %s is not between 1 and 65535", port)
		}
		if (scheme == "http" && n == 80) || (scheme == "https" && n == 443) {
			port = ""
		} else {
			port = strconv.Itoa(n) // drops leading zeros
		}
	}
	if strings.HasPrefix(u.Host, "[") {
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return bad("the bracketed host is not an IPv6 address")
		}
		if addr.Is4In6() {
			// ::ffff:a.b.c.d is the IPv4 address a.b.c.d: one seat.
			host = addr.Unmap().String()
		} else {
			host = "[" + addr.String() + "]"
		}
	} else if addr, err := netip.ParseAddr(host); err == nil && !addr.Is4() {
		return bad("an IPv6 address must be in brackets")
	} else {
		host = strings.TrimSuffix(host, ".")
		ascii, err := idna.Lookup.ToASCII(host)
		if err != nil || ascii == "" {
			return bad("host %q is not a valid domain name", host)
		}
		host = strings.TrimSuffix(strings.ToLower(ascii), ".")
		if host == "" || strings.HasPrefix(host, ".") || strings.Contains(host, "..") {
			// "..", ".example.com", "a..b": a domain name has no empty label.
			return bad("host %q has an empty label; send e.g. https://shop.example.com", strings.TrimSuffix(u.Hostname(), "."))
		}
		// The ASCII form must be its own ASCII form, or the origin would
		// change when normalized again (a replacement character, say, turns
		// into a punycode label that is not valid on its own).
		if again, err := idna.Lookup.ToASCII(host); err != nil || again != host {
			return bad("host %q is not a valid domain name", host)
		}
		if endsInNumber(host) {
			// A host whose last label is a number is an IPv4 address to
			// a browser, in any of the forms below; it is recorded as the
			// browser sends it in an Origin header, dotted-decimal.
			a, ok := parseIPv4(host)
			if !ok {
				return bad("host %q ends in a number but is not an IPv4 address", host)
			}
			host = a.String()
		}
	}
	out := scheme + "://" + host
	if port != "" {
		out += ":" + port
	}
	return out, nil
}

// endsInNumber reports whether the last label of host (a trailing empty
// label ignored) is a number, decimal or 0x hexadecimal: such a host is
// parsed as an IPv4 address by browsers (WHATWG URL "ends in a number").
func endsInNumber(host string) bool {
	labels := strings.Split(host, ".")
	if labels[len(labels)-1] == "" {
		if len(labels) == 1 {
			return false
		}
		labels = labels[:len(labels)-1]
	}
	last := labels[len(labels)-1]
	if last != "" && strings.Trim(last, "0123456789") == "" {
		return true
	}
	_, ok := ipv4Number(last)
	return ok
}

// parseIPv4 parses host as the WHATWG URL IPv4 parser does: one to four
// dot-separated numbers, each decimal, 0x hexadecimal or 0-prefixed octal,
// the last filling the remaining bytes (192.168.1 is 192.168.0.1,
// 3232235521 is 192.168.0.1).
func parseIPv4(host string) (netip.Addr, bool) {
	parts := strings.Split(host, ".")
	if parts[len(parts)-1] == "" && len(parts) > 1 {
		parts = parts[:len(parts)-1]
	}
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := ipv4Number(p)
		if !ok {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	for _, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v := last
	for i, n := range nums[:len(nums)-1] {
		v += n << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// ipv4Number parses one part of an IPv4 host: decimal, 0x/0X hexadecimal
// (empty after the prefix is 0) or octal with a leading 0.
func ipv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := 10
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
		if s == "" {
			return 0, true
		}
	case len(s) >= 2 && s[0] == '0':
		s, base = s[1:], 8
	}
	// Bounded so that no part overflows: anything above 2^32 fails anyway.
	if len(s) > 32 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, base, 64)
	if err != nil || n > 1<<32 {
		return 0, false
	}
	return n, true
}

// urlErr returns the reason of a url.Parse error without repeating the input.
func urlErr(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return err.Error()
}

// InstanceKey returns the id under which an instance of c is recorded: the
// normalized origin for a production-URL contract, the id in Unicode NFC
// (NormalizeID) otherwise.
// EINVALID for a production URL that does not normalize.
func (c *Contract) InstanceKey(instanceID string) (string, error) {
	if c.SeatRule != SeatProductionURL {
		return NormalizeID("instance_id", instanceID)
	}
	key, err := NormalizeOrigin(instanceID)
	if err != nil {
		return "", err
	}
	if err := ValidateID("instance_id", key); err != nil {
		return "", err
	}
	return key, nil
}
