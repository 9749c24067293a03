package agentapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/client"
	"github.com/licensor/licensor/openapi"
)

// Limits of the API, each named in the error that enforces it.
const (
	// MaxBodyBytes bounds a request body: the largest legitimate one is a
	// telemetry report (licensor.MaxTelemetrySize of keys and values).
	MaxBodyBytes = 64 << 10
	// MaxLeases bounds the leases the agent holds at once, so that a
	// looping caller cannot drain the customer's pool through it.
	MaxLeases = 256
	// CallTimeout bounds one request's calls to the server, retries
	// included.
	CallTimeout = 30 * time.Second
)

// Config wires a Server.
type Config struct {
	// Client is the client the API serves; the caller starts and closes it.
	Client *client.Client
	// ExpiringSoon is the client's Config.ExpiringSoon (0: the default),
	// reported in the status.
	ExpiringSoon time.Duration
	// Telemetry, if set, receives each validated telemetry report; the
	// caller's client.Config.Telemetry returns the latest one. See
	// TelemetryStore.
	Telemetry *TelemetryStore
	Logger    *slog.Logger
}

// Server is the API's http.Handler.
type Server struct {
	c    *client.Client
	soon time.Duration
	tel  *TelemetryStore
	log  *slog.Logger
	mux  *http.ServeMux

	mu     sync.Mutex
	leases map[string]*client.Lease
}

// route is one operation of the API; Routes lists them for the test that
// holds openapi/agent.json to them.
type route struct {
	method, path string
	h            func(*Server, http.ResponseWriter, *http.Request)
}

var routes = []route{
	{"GET", "/healthz", (*Server).healthz},
	{"GET", "/openapi.json", (*Server).openAPI},
	{"GET", "/license", (*Server).license},
	{"GET", "/v1/license", (*Server).license},
	{"POST", "/v1/license/refresh", (*Server).refresh},
	{"GET", "/v1/status", (*Server).status},
	{"POST", "/v1/telemetry", (*Server).telemetry},
	{"GET", "/v1/features", (*Server).features},
	{"POST", "/v1/capabilities/preview", (*Server).preview},
	{"GET", "/v1/leases", (*Server).listLeases},
	{"POST", "/v1/leases", (*Server).checkout},
	{"GET", "/v1/leases/{id}", (*Server).getLease},
	{"POST", "/v1/leases/{id}/renew", (*Server).renew},
	{"DELETE", "/v1/leases/{id}", (*Server).returnLease},
}

// Routes returns every "METHOD /path" the API serves, paths in the
// OpenAPI spelling ({id}).
func Routes() []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = r.method + " " + r.path
	}
	return out
}

// New returns the API over cfg.Client.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ExpiringSoon <= 0 {
		cfg.ExpiringSoon = client.DefaultExpiringSoon
	}
	s := &Server{c: cfg.Client, soon: cfg.ExpiringSoon, tel: cfg.Telemetry, log: cfg.Logger.With("component", "agent-api"),
		mux: http.NewServeMux(), leases: map[string]*client.Lease{}}
	paths := map[string][]string{}
	for _, r := range routes {
		s.mux.HandleFunc(r.method+" "+r.path, func(w http.ResponseWriter, req *http.Request) { r.h(s, w, req) })
		paths[r.path] = append(paths[r.path], r.method)
	}
	// Everything else answers in the API's error format, not net/http's
	// plain text: a wrong method names the allowed ones.
	for p, methods := range paths {
		allow := ""
		for i, m := range methods {
			if i > 0 {
				allow += ", "
			}
			allow += m
		}
		s.mux.HandleFunc(p, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "this path accepts "+allow)
		})
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, CodeNotFound, "no such path: "+r.URL.Path+"; the API is described at /openapi.json")
	})
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close returns every lease the agent holds (best effort, bounded by the
// client's timeout each), so that the agent's seats come back at once
// rather than at their expiry. Borrowed leases are kept: they are meant to
// outlive the agent.
func (s *Server) Close() {
	s.mu.Lock()
	leases := make([]*client.Lease, 0, len(s.leases))
	for id, l := range s.leases {
		if !l.Borrowed() {
			leases = append(leases, l)
			delete(s.leases, id)
		}
	}
	s.mu.Unlock()
	for _, l := range leases {
		ctx, cancel := contextWithTimeout(CallTimeout)
		if err := l.Return(ctx); err != nil {
			s.log.Warn("cannot return a lease on shutdown; it ends at its expiry", "lease", l.ID(), "err", licensor.ErrorMessage(err))
		}
		cancel()
	}
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(openapi.Agent)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
