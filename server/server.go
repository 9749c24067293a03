package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/netguard"
	"github.com/licensor/licensor/rpcerr"
	"github.com/licensor/licensor/service"
)

// Config wires a Server.
type Config struct {
	Service *service.Service
	Logger  *slog.Logger
	// Ready reports whether the server can serve (store reachable, keys
	// loadable); /readyz and gRPC health answer from it.
	Ready func(ctx context.Context) error
	// OuterInterceptors run outside the error mapping, first of all (e.g.
	// tracing: its span then covers the whole call and the error log line).
	OuterInterceptors []connect.Interceptor
	// Interceptors run inside the error mapping and before authentication
	// (e.g. metrics).
	Interceptors []connect.Interceptor
	// Limiter bounds each tenant's contract-token calls in flight (see
	// limiter.go); default: a LocalLimiter. It reads each tenant's
	// threshold from Service.TenantLimits. OnRefused is called for each
	// refusal (metrics). InnerInterceptors run after authentication and
	// the threshold, just around the handlers.
	Limiter   Limiter
	OnRefused func(tenantID string)
	// OnAdmitted, if set, is called for each call the threshold admits,
	// with how long it waited for a slot (metrics: the queueing).
	OnAdmitted        func(tenantID string, waited time.Duration)
	InnerInterceptors []connect.Interceptor
	// Limits bound connections, bodies and streams (limits.go); zero
	// fields take DefaultLimits.
	Limits Limits
	// Registerer receives the guards' counters (netguard.Metrics); nil:
	// a registry of their own, unexported.
	Registerer prometheus.Registerer
	// GRPCTransport serves gRPC connections (default GRPCGo): see
	// NewHTTPServer.
	GRPCTransport GRPCTransport
}

// Server is the HTTP handler for the whole API on one port.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	route    *router // in front of mux
	stopping chan struct{}
	stopOnce sync.Once
	limit    *limitInterceptor

	limits       Limits
	guardMetrics *netguard.Metrics
	errWriter    *connect.ErrorWriter
	inflated     atomic.Int64 // bytes decompressed from requests, for tests
	grpcT        *grpcTransport
}

// Services served, for reflection and health.
var serviceNames = []string{
	licensorv1connect.LicenseServiceName,
	licensorv1connect.CapabilityServiceName,
	licensorv1connect.AdminServiceName,
}

// New builds the server's routes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Ready == nil {
		cfg.Ready = cfg.Service.Ready
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	gm, err := netguard.NewMetrics(cfg.Registerer)
	if err != nil {
		cfg.Logger.Error("guard metrics not registered", "err", err) // counted, not exported
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "server"), mux: http.NewServeMux(), stopping: make(chan struct{}),
		limits: cfg.Limits.withDefaults(), guardMetrics: gm}
	s.limit = newLimitInterceptor(cfg)
	opts := s.HandlerOptions()
	s.errWriter = connect.NewErrorWriter(opts...)
	s.mux.Handle(licensorv1connect.NewLicenseServiceHandler(&licenseHandler{svc: cfg.Service, stopping: s.stopping, watches: newWatchBound(s.limits, gm)}, opts...))
	s.mux.Handle(licensorv1connect.NewAdminServiceHandler(&adminHandler{svc: cfg.Service}, opts...))
	s.mux.Handle(licensorv1connect.NewCapabilityServiceHandler(&capabilityHandler{svc: cfg.Service, stopping: s.stopping, waits: newWaitBound(s.limits.WaitStreams)}, opts...))
	reflector := grpcreflect.NewStaticReflector(serviceNames...)
	public := []connect.HandlerOption{s.withCappedGzip(), connect.WithRecover(s.recovered)}
	s.mux.Handle(grpcreflect.NewHandlerV1(reflector, public...))
	s.mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector, public...))
	s.mux.Handle(grpchealth.NewHandler(&healthChecker{s: s}, public...))
	s.mux.HandleFunc("GET "+licensor.JWKSPath, s.jwks)
	s.mux.HandleFunc("GET /openapi.json", s.openAPI)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok") })
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.route = newRouter(s.mux)
	s.route.mapProcedures()
	return s
}

// Handle mounts another handler on the server's mux (metrics, console,
// further services).
func (s *Server) Handle(pattern string, h http.Handler) { s.route.handle(pattern, h) }

// HandlerOptions returns the options every connect service of this server
// uses (interceptors, limits), for services mounted with Handle.
func (s *Server) HandlerOptions() []connect.HandlerOption {
	interceptors := append([]connect.Interceptor{errorInterceptor{log: s.log}}, s.cfg.Interceptors...)
	interceptors = append(interceptors, authInterceptor{svc: s.cfg.Service}, s.limit)
	interceptors = append(interceptors, s.cfg.InnerInterceptors...)
	return []connect.HandlerOption{
		// In this order, outermost first: a panic anywhere inside the outer
		// interceptors (metrics) — in the error mapping, authentication,
		// the limits or the handler — answers INTERNAL, and the metrics
		// count it.
		connect.WithInterceptors(s.cfg.OuterInterceptors...),
		connect.WithRecover(s.recovered),
		connect.WithInterceptors(interceptors...),
		connect.WithCompressMinBytes(compressMinBytes),
		// The size of a message is bounded by guard (as sent) and
		// withCappedGzip (inflated), both answering INVALID_ARGUMENT;
		// connect's WithReadMaxBytes would answer RESOURCE_EXHAUSTED.
		s.withCappedGzip(),
	}
}

// compressMinBytes is the smallest response message sent compressed (to a
// client that takes it).
const compressMinBytes = 8 << 10

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.recoverPanics(s.guard(withPeerCerts(s.route))) }

// recoverPanics logs a panic that got past connect's recovery (in the
// guard, or in a plain HTTP handler: the console, the JWKS) as connect's
// is logged, with its stack, then aborts the response as net/http does
// with a panic (whose own log line is at debug level).
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p != http.ErrAbortHandler { //nolint:errorlint // net/http compares it with ==
					s.logPanic(r.Context(), r.URL.Path, p)
				}
				panic(http.ErrAbortHandler)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// Stopping returns a channel closed when shutdown begins.
func (s *Server) Stopping() <-chan struct{} { return s.stopping }

// BeginShutdown ends open streams cleanly; call it before http.Server.Shutdown
// so that in-flight unary calls finish and streams do not hold the shutdown.
func (s *Server) BeginShutdown() { s.stopOnce.Do(func() { close(s.stopping) }) }

func (s *Server) recovered(ctx context.Context, spec connect.Spec, _ http.Header, p any) error {
	s.logPanic(ctx, spec.Procedure, p)
	return connect.NewError(connect.CodeInternal, errInternal)
}

// logPanic logs a panic in a call (a bug) with its stack.
func (s *Server) logPanic(ctx context.Context, procedure string, p any) {
	s.log.ErrorContext(ctx, "panic in handler", "procedure", procedure, "panic", p, "stack", string(debug.Stack()))
}

var errInternal = constErr("internal error")

type constErr string

func (e constErr) Error() string { return string(e) }

// jwks serves a tenant's published public keys. No credentials: public
// keys are public, and outside verifiers fetch them.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	tenant := r.URL.Query().Get("tenant")
	if tenant == "" {
		writeJSONError(w, http.StatusBadRequest, connect.CodeInvalidArgument.String(), "tenant query parameter is required: /.well-known/jwks.json?tenant=<id>")
		return
	}
	b, err := s.cfg.Service.JWKS(r.Context(), tenant)
	if err != nil {
		// The error body is Connect's: {"code": "invalid_argument", ...},
		// spelled as every other error of the API.
		code := rpcerr.ToConnect(licensor.ErrorCode(err))
		status := map[connect.Code]int{connect.CodeInvalidArgument: 400, connect.CodeNotFound: 404}[code]
		msg := licensor.ErrorMessage(err)
		if status == 0 {
			s.log.ErrorContext(r.Context(), "jwks", "tenant", tenant, "err", err)
			code, status, msg = connect.CodeInternal, 500, errInternal.Error()
		}
		writeJSONError(w, status, code.String(), msg)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Ready(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		writeText(w, http.StatusServiceUnavailable, "not ready: "+licensor.ErrorMessage(err))
		return
	}
	writeText(w, http.StatusOK, "ready")
}

type healthChecker struct{ s *Server }

func (h *healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if req.Service != "" {
		known := false
		for _, n := range serviceNames {
			known = known || n == req.Service
		}
		if !known {
			return nil, connect.NewError(connect.CodeNotFound, errUnknownService)
		}
	}
	select {
	case <-h.s.stopping:
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	default:
	}
	if err := h.s.cfg.Ready(ctx); err != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

var errUnknownService = constErr("unknown service")

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}
