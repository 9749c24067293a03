package licensor

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds on the telemetry an instance sends with a check. They are part of
// the API (proto licensor.v1.Telemetry) and each is named in the
// EINVALID error of a request over it.
const (
	MaxTelemetryEntries  = 64      // entries per map (runtime_versions, usage, labels)
	MaxTelemetryKeyLen   = 64      // bytes per map key
	MaxTelemetryValueLen = 256     // bytes per string value
	MaxTelemetrySize     = 8 << 10 // bytes of all keys and values together (a counter counts 8)

	DefaultTelemetryRetention = 90 * 24 * time.Hour
	MinTelemetryRetention     = 24 * time.Hour
	MaxTelemetryRetention     = 10 * 365 * 24 * time.Hour

	// PrefixTelemetry prefixes the id of a stored telemetry point.
	PrefixTelemetry = "tel"
	// Redacted replaces a telemetry value that carries a Licensor token.
	Redacted = "[redacted]"
)

// Environments an instance may report. Under the production-URL seat rule
// production (or no environment at all) takes a seat; the others do not.
const (
	EnvProduction  = "production"
	EnvStaging     = "staging"
	EnvDevelopment = "development"
	EnvTest        = "test"
)

// TelemetryFields are the names of the telemetry fields, as a tenant names
// them in Tenant.TelemetryFieldsDropped.
var TelemetryFields = []string{
	"product_version", "runtime_versions", "environment", "server_host", "server_ip",
	"server_port", "app_name", "usage", "labels",
}

// Telemetry is what an instance reports about itself with a check. JSON
// names are the proto's, and are how stores keep it.
type Telemetry struct {
	ProductVersion  string            `json:"product_version,omitempty"`
	RuntimeVersions map[string]string `json:"runtime_versions,omitempty"`
	Environment     string            `json:"environment,omitempty"`
	ServerHost      string            `json:"server_host,omitempty"`
	ServerIP        string            `json:"server_ip,omitempty"`
	ServerPort      int               `json:"server_port,omitempty"`
	AppName         string            `json:"app_name,omitempty"`
	Usage           map[string]int64  `json:"usage,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
}

// ValidateEnvironment checks an environment name: empty (counted as
// production) or one of production, staging, development, test.
func ValidateEnvironment(env string) error {
	switch env {
	case "", EnvProduction, EnvStaging, EnvDevelopment, EnvTest:
		return nil
	}
	if len(env) > MaxTelemetryKeyLen {
		env = env[:MaxTelemetryKeyLen] + "…"
	}
	return Errorf(EINVALID, "telemetry environment %q: use production, staging, development or test", env)
}

// Validate checks telemetry against its bounds. It changes nothing; see
// Redact and Tenant.KeepTelemetry for what is stored.
func (t *Telemetry) Validate() error {
	if err := ValidateEnvironment(t.Environment); err != nil {
		return err
	}
	size := 0
	for _, f := range []struct{ name, v string }{
		{"product_version", t.ProductVersion}, {"server_host", t.ServerHost},
		{"server_ip", t.ServerIP}, {"app_name", t.AppName},
	} {
		if err := telemetryValue(f.name, f.v); err != nil {
			return err
		}
		size += len(f.v)
	}
	if t.ServerIP != "" {
		if _, err := netip.ParseAddr(t.ServerIP); err != nil {
			return Errorf(EINVALID, "telemetry server_ip %q is not an IP address", t.ServerIP)
		}
	}
	if t.ServerPort < 0 || t.ServerPort > 65535 {
		return Errorf(EINVALID, "telemetry server_port is %d; it must be between 0 and 65535", t.ServerPort)
	}
	for _, m := range []struct {
		name string
		m    map[string]string
	}{{"runtime_versions", t.RuntimeVersions}, {"labels", t.Labels}} {
		if len(m.m) > MaxTelemetryEntries {
			return Errorf(EINVALID, "telemetry %s has %d entries; the limit is %d", m.name, len(m.m), MaxTelemetryEntries)
		}
		for k, v := range m.m {
			if err := telemetryKey(m.name, k); err != nil {
				return err
			}
			if err := telemetryValue(m.name+"["+k+"]", v); err != nil {
				return err
			}
			size += len(k) + len(v)
		}
	}
	if len(t.Usage) > MaxTelemetryEntries {
		return Errorf(EINVALID, "telemetry usage has %d entries; the limit is %d", len(t.Usage), MaxTelemetryEntries)
	}
	for k, v := range t.Usage {
		if err := telemetryKey("usage", k); err != nil {
			return err
		}
		if v < 0 {
			return Errorf(EINVALID, "telemetry usage counter %q is %d; counters must not be negative", k, v)
		}
		size += len(k) + 8
	}
	if size > MaxTelemetrySize {
		return Errorf(EINVALID, "telemetry is %d bytes; the limit is %d bytes in all", size, MaxTelemetrySize)
	}
	return nil
}

// telemetryKey checks a map key: 1 to MaxTelemetryKeyLen bytes of letters,
// digits, '_', '-', '.', '/', and never a Licensor token.
func telemetryKey(field, k string) error {
	if k == "" {
		return Errorf(EINVALID, "telemetry %s has an empty key", field)
	}
	if len(k) > MaxTelemetryKeyLen {
		return Errorf(EINVALID, "telemetry %s key %.20q… is %d bytes; the limit is %d", field, k, len(k), MaxTelemetryKeyLen)
	}
	for _, r := range k {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' || r == '/'
		if !ok {
			return Errorf(EINVALID, "telemetry %s key %q: use letters, digits, '_', '-', '.' and '/'", field, k)
		}
	}
	if hasToken(k) {
		return Errorf(EINVALID, "telemetry %s key looks like a Licensor token; never send credentials in telemetry", field)
	}
	return nil
}

// telemetryValue checks a string value: at most MaxTelemetryValueLen bytes
// of UTF-8 without control characters.
func telemetryValue(field, v string) error {
	if len(v) > MaxTelemetryValueLen {
		return Errorf(EINVALID, "telemetry %s is %d bytes; the limit is %d", field, len(v), MaxTelemetryValueLen)
	}
	if !utf8.ValidString(v) {
		return Errorf(EINVALID, "telemetry %s is not valid UTF-8", field)
	}
	for _, r := range v {
		if r < ' ' || r == 0x7f {
			return Errorf(EINVALID, "telemetry %s must not contain control characters", field)
		}
	}
	return nil
}

// hasToken reports whether s carries a Licensor token (by its prefix, in
// any case: a token shouted in a log line is still a token).
func hasToken(s string) bool {
	if strings.Contains(s, TokenPrefixContract) || strings.Contains(s, TokenPrefixAdmin) || strings.Contains(s, TokenPrefixOperator) ||
		strings.Contains(s, TokenPrefixPortal) {
		return true
	}
	if !strings.Contains(s, "_") {
		return false // fast path: every prefix has one
	}
	l := strings.ToLower(s)
	return strings.Contains(l, TokenPrefixContract) || strings.Contains(l, TokenPrefixAdmin) || strings.Contains(l, TokenPrefixOperator) ||
		strings.Contains(l, TokenPrefixPortal)
}

// RedactToken returns Redacted if s carries a Licensor token, else s. It
// is applied to every free-form string an instance reports about itself
// (the telemetry fields and the host of a license request) before it is
// stored.
func RedactToken(s string) string {
	if hasToken(s) {
		return Redacted
	}
	return s
}

// Redact returns a copy of t in which every string that carries a
// Licensor token is replaced by Redacted: an application that logs its
// configuration into a label must not leak its credential into the
// vendor's database. Every string field is covered, map values too; a map
// entry whose key carries a token (Validate refuses those) is dropped.
func (t Telemetry) Redact() Telemetry {
	redMap := func(m map[string]string) map[string]string {
		if m == nil {
			return nil
		}
		out := make(map[string]string, len(m))
		for k, v := range m {
			if !hasToken(k) {
				out[k] = RedactToken(v)
			}
		}
		return out
	}
	t.ProductVersion, t.Environment, t.ServerHost = RedactToken(t.ProductVersion), RedactToken(t.Environment), RedactToken(t.ServerHost)
	t.ServerIP, t.AppName = RedactToken(t.ServerIP), RedactToken(t.AppName)
	t.RuntimeVersions, t.Labels = redMap(t.RuntimeVersions), redMap(t.Labels)
	if t.Usage != nil {
		usage := make(map[string]int64, len(t.Usage))
		for k, v := range t.Usage {
			if !hasToken(k) {
				usage[k] = v
			}
		}
		t.Usage = usage
	}
	return t
}

// TelemetryRetentionOrDefault returns how long the tenant keeps telemetry.
func (t *Tenant) TelemetryRetentionOrDefault() time.Duration {
	if t.TelemetryRetention == 0 {
		return DefaultTelemetryRetention
	}
	return t.TelemetryRetention
}

// validateTelemetrySettings checks and normalizes the tenant's telemetry
// settings (called by Validate).
func (t *Tenant) validateTelemetrySettings() error {
	if t.TelemetryRetention == 0 {
		t.TelemetryRetention = DefaultTelemetryRetention
	}
	if err := ValidateDuration("telemetry retention", t.TelemetryRetention, MinTelemetryRetention, MaxTelemetryRetention); err != nil {
		return err
	}
	var dropped []string
	for _, f := range t.TelemetryFieldsDropped {
		if !slices.Contains(TelemetryFields, f) {
			return Errorf(EINVALID, "telemetry field %q: use one of %s", f, strings.Join(TelemetryFields, ", "))
		}
		if !slices.Contains(dropped, f) {
			dropped = append(dropped, f)
		}
	}
	slices.Sort(dropped)
	t.TelemetryFieldsDropped = dropped
	return nil
}

// KeepTelemetry returns what of t the tenant keeps: the fields it dropped
// cleared, the server IP truncated if it asked for that, token-bearing
// values redacted.
func (t *Tenant) KeepTelemetry(in Telemetry) *Telemetry {
	out := in.Redact()
	for _, f := range t.TelemetryFieldsDropped {
		switch f {
		case "product_version":
			out.ProductVersion = ""
		case "runtime_versions":
			out.RuntimeVersions = nil
		case "environment":
			out.Environment = ""
		case "server_host":
			out.ServerHost = ""
		case "server_ip":
			out.ServerIP = ""
		case "server_port":
			out.ServerPort = 0
		case "app_name":
			out.AppName = ""
		case "usage":
			out.Usage = nil
		case "labels":
			out.Labels = nil
		}
	}
	if t.TruncateIPs {
		out.ServerIP = TruncateIP(out.ServerIP)
	}
	return &out
}

// TruncateIP keeps the network part of an IP address: /24 of IPv4, /48 of
// IPv6. Anything that is not an address is returned unchanged.
func TruncateIP(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return s
	}
	a = a.WithZone("")
	bits := 48
	if a.Is4() || a.Is4In6() {
		a, bits = a.Unmap(), 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return s
	}
	return p.Addr().String()
}

// TruncateAddr truncates the IP of a host:port (a peer address), keeping
// the port.
func TruncateAddr(hostport string) string {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return TruncateIP(hostport)
	}
	ip, _ := netip.ParseAddr(TruncateIP(ap.Addr().String()))
	return netip.AddrPortFrom(ip, ap.Port()).String()
}

// TelemetryPoint is one stored report of an instance.
type TelemetryPoint struct {
	ID         string
	ContractID string
	InstanceID string
	At         time.Time
	Telemetry  Telemetry
}

// Cursor is the page token that lists the points after p.
func (p *TelemetryPoint) Cursor() string {
	return strconv.FormatInt(p.At.UnixMicro(), 10) + "_" + p.ID
}

// ParseTelemetryCursor reads a cursor made by TelemetryPoint.Cursor.
func ParseTelemetryCursor(s string) (time.Time, string, error) {
	us, id, ok := strings.Cut(s, "_")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", Errorf(EINVALID, "page token %q is not a telemetry cursor", s)
	}
	return time.UnixMicro(n).UTC(), id, nil
}

// TelemetryFilter selects the telemetry points of a tenant: of one contract
// (required), optionally one instance, in [Since, Until) (zero: open).
type TelemetryFilter struct {
	ContractID string
	InstanceID string
	Since      time.Time
	Until      time.Time
	ListOptions
}

// TelemetryStore keeps the telemetry history (tenant-scoped). The latest
// telemetry of an instance is written by Checkin with the check-in itself
// (Checkin.Telemetry), as a point of history in the same transaction.
type TelemetryStore interface {
	// ListTelemetry returns points ordered by (At, ID); After is the
	// Cursor of the last point of the previous page.
	ListTelemetry(ctx context.Context, f TelemetryFilter) ([]*TelemetryPoint, error)
	// PruneTelemetry deletes the scoped tenant's points older than before,
	// and clears the latest telemetry of instances that last reported
	// before it. It returns how many points it deleted.
	PruneTelemetry(ctx context.Context, before time.Time) (int64, error)
}
