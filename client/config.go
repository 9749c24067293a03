package client

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/license"
)

// Defaults, each overridable in Config.
const (
	DefaultTimeout         = 5 * time.Second
	DefaultExpiringSoon    = 7 * 24 * time.Hour
	DefaultRefreshInterval = 2 * time.Hour // used when a license has no refresh_after
	DefaultCheckInterval   = 6 * time.Hour // lazy mode (Check, Middleware)
	DefaultMinBackoff      = time.Second
	DefaultMaxBackoff      = 5 * time.Minute
	// MaxRetryHint caps how long a server's retry hint can hold the client
	// back, so that a wrong hint cannot silence it for days.
	MaxRetryHint = time.Hour
)

// Protocol is the wire protocol the client speaks.
type Protocol string

// Protocols. gRPC is the default; Connect (JSON over HTTP/1.1 or HTTP/2)
// passes proxies that do not carry HTTP/2.
const (
	GRPC    Protocol = "grpc"
	Connect Protocol = "connect"
)

// Config configures a Client. ContractID, Token (unless only a static
// license file is used) and either Keys or TenantID (for a fetched JWKS) are
// required; everything else has a default.
type Config struct {
	// Server is the Licensor server's URL, e.g. https://licensor.example.com:7443.
	// Empty means offline: only the cache and LicenseFile are used.
	Server string
	// ContractID is the contract this product runs under; a license for any
	// other contract is refused.
	ContractID string
	// Token is the contract token sent as Authorization: Bearer.
	Token string
	// InstanceID names this deployment. If empty, one is generated on first
	// start and persisted in CacheDir, so a restart keeps its seat.
	InstanceID string
	// Host is reported to the server (clone detection); default os.Hostname.
	Host string
	// Fingerprint is this machine's fingerprint, from Fingerprint(product,
	// nil), reported to the server: the same instance id from two machines
	// at once is flagged as a clone (or refused, if the contract says so).
	// Empty: none is sent.
	Fingerprint string

	// Keys are the vendor's public keys, pinned at build time (recommended;
	// see license.ParseJWKS). If nil, the JWKS of TenantID is fetched from
	// Server and cached in CacheDir.
	Keys license.KeySet
	// TenantID is the vendor's tenant: required to fetch the JWKS when Keys
	// is nil; when set, a license issued by another tenant is refused.
	TenantID string

	// CacheDir keeps the last license, the newest server time seen, the
	// fetched JWKS and the generated instance id. Empty: nothing persists,
	// and a start with the server down is unlicensed.
	CacheDir string
	// LicenseFile is an optional static license file (armored or a bare
	// JWS), used when no fresher valid license is held.
	LicenseFile string
	// InstanceKeyFile is the instance key a license from an offline request
	// is bound to (CreateOfflineRequest wrote it). A bound license is
	// refused without it, with another key, or on another machine.
	InstanceKeyFile string
	// MachineID is the source of the machine fingerprint a bound license is
	// checked against; default MachineID.
	MachineID MachineIDSource

	// RefreshInterval overrides the license's refresh_after (Start) and the
	// 6-hour cadence of lazy mode (Check).
	RefreshInterval time.Duration
	// Timeout bounds each call to the server; default 5 s.
	Timeout time.Duration
	// ExpiringSoon is the remaining validity under which the license is
	// "expiring soon"; default 7 days.
	ExpiringSoon time.Duration
	// ClockSkew is how far past exp (and before nbf) a license is still
	// accepted; default licensor.DefaultClockSkew.
	ClockSkew time.Duration
	// ClockRollbackTolerance is how far the clock may be behind the newest
	// signed time seen (a license's iat) and still be trusted, after a
	// warning, as a clock that was set wrong; further behind, it is taken
	// as wound back and the client refuses until it is corrected. Default
	// DefaultClockRollbackTolerance (24 h). See OnClockRollback.
	ClockRollbackTolerance time.Duration
	// MinBackoff and MaxBackoff bound the retry delay after a failure;
	// defaults 1 s and 5 min.
	MinBackoff, MaxBackoff time.Duration

	// Watch holds a WatchLicense stream open so a contract change arrives
	// at once; polling continues underneath and takes over if it breaks.
	Watch bool
	// Telemetry, if set, is called before each call to the server and its
	// result is sent with it; an empty Telemetry sends none.
	Telemetry func() Telemetry

	// HTTPClient, if set, is used as is (it must speak HTTP/2 for gRPC).
	// Otherwise a client is built that honours HTTPS_PROXY/NO_PROXY and
	// trusts RootCAs or CAFile (or the system roots).
	HTTPClient *http.Client
	RootCAs    *x509.CertPool
	// CAFile is a PEM bundle of CAs to trust, e.g. a TLS-intercepting proxy's.
	CAFile string
	// Proxy overrides the proxy choice; default: HTTPS_PROXY, HTTP_PROXY and
	// NO_PROXY as they are when New is called.
	Proxy func(*http.Request) (*url.URL, error)
	// Protocol is GRPC (default) or Connect.
	Protocol Protocol

	// Now is the clock that decides expiry; default time.Now. The client never
	// trusts it below the newest server time it has seen.
	Now func() time.Time
	// After replaces time.After for the client's waits (refresh, retry,
	// lazy cadence), so tests can fire them at will along with Now.
	After func(time.Duration) <-chan time.Time
	// Rand returns a float in [0,1) for jitter; default math/rand/v2.
	Rand func() float64
	// Logger receives warnings (expiring soon, corrupt cache, failures);
	// default: discard.
	Logger *slog.Logger
}

// Telemetry is what an instance reports about itself with each check. The
// server bounds it (64 entries per map, 8 KiB in all).
type Telemetry struct {
	ProductVersion  string
	RuntimeVersions map[string]string
	// Environment: production, staging, development or test. Under a
	// production-URL seat rule only production takes a seat.
	Environment string
	ServerHost  string
	ServerIP    string
	ServerPort  uint32
	AppName     string
	// Usage counters, e.g. resources_count; never negative.
	Usage  map[string]int64
	Labels map[string]string
}

// withDefaults checks cfg and fills in the defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.ContractID == "" {
		return cfg, errors.New("client: Config.ContractID is required")
	}
	if err := licensor.ValidateID("contract id", cfg.ContractID); err != nil {
		return cfg, fmt.Errorf("client: %w", err)
	}
	if cfg.Server != "" {
		if !strings.HasPrefix(cfg.Server, "https://") && !strings.HasPrefix(cfg.Server, "http://") {
			cfg.Server = "https://" + cfg.Server
		}
		cfg.Server = strings.TrimRight(cfg.Server, "/")
		if _, err := url.Parse(cfg.Server); err != nil {
			return cfg, fmt.Errorf("client: Config.Server: %w", err)
		}
		if cfg.Token == "" {
			return cfg, errors.New("client: Config.Token (the contract token) is required with Config.Server")
		}
	} else if cfg.LicenseFile == "" && cfg.CacheDir == "" {
		return cfg, errors.New("client: give Config.Server, or a LicenseFile or CacheDir to run offline")
	}
	if len(cfg.Keys) == 0 {
		if cfg.TenantID == "" || cfg.Server == "" {
			return cfg, errors.New("client: give Config.Keys (the vendor's public keys), or TenantID and Server to fetch its JWKS")
		}
	}
	if cfg.InstanceID != "" {
		id, err := licensor.NormalizeID("instance id", cfg.InstanceID)
		if err != nil {
			return cfg, fmt.Errorf("client: %w", err)
		}
		cfg.InstanceID = id // the spelling the server records
	}
	if cfg.Protocol == "" {
		cfg.Protocol = GRPC
	}
	if cfg.Protocol != GRPC && cfg.Protocol != Connect {
		return cfg, fmt.Errorf("client: unknown protocol %q; want grpc or connect", cfg.Protocol)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, DefaultTimeout)
	def(&cfg.ExpiringSoon, DefaultExpiringSoon)
	def(&cfg.ClockSkew, licensor.DefaultClockSkew)
	def(&cfg.ClockRollbackTolerance, DefaultClockRollbackTolerance)
	def(&cfg.MinBackoff, DefaultMinBackoff)
	def(&cfg.MaxBackoff, DefaultMaxBackoff)
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}
