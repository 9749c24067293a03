package licensor

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// NormalizeOrigin returns the canonical form of a web application's origin,
// the instance id of a contract whose seats are production URLs:
// scheme://host[:port] with
//
//   - the scheme http or https, lower-cased;
//   - the host lower-cased, an internationalized name in its ASCII
//     (punycode) form, a trailing dot removed, an IPv6 address bracketed
//     in its canonical form;
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
		host = "[" + addr.String() + "]"
	} else if addr, err := netip.ParseAddr(host); err == nil {
		if !addr.Is4() {
			return bad("an IPv6 address must be in brackets")
		}
		host = addr.String()
	} else {
		host = strings.TrimSuffix(host, ".")
		ascii, err := idna.Lookup.ToASCII(host)
		if err != nil || ascii == "" {
			return bad("host %q is not a valid domain name", host)
		}
		host = strings.ToLower(ascii)
	}
	out := scheme + "://" + host
	if port != "" {
		out += ":" + port
	}
	return out, nil
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
