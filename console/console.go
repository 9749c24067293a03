package console

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/netguard"
	"github.com/licensor/licensor/service"
)

//go:embed templates static
var assets embed.FS

// DefaultSessionTTL is how long a console or portal session lasts.
const DefaultSessionTTL = 8 * time.Hour

// maxFormBytes bounds a form post: every form of the console is small.
const maxFormBytes = 64 << 10

// Config wires a Console.
type Config struct {
	Service *service.Service
	// Now is the clock sessions expire by; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// SessionTTL bounds a session (default DefaultSessionTTL).
	SessionTTL time.Duration
	// OIDC, if set, offers vendor staff a sign-in with an OpenID Connect
	// provider.
	OIDC *OIDCConfig
}

// Console serves the vendor console and the customer portal.
type Console struct {
	svc    *service.Service
	log    *slog.Logger
	now    func() time.Time
	staff  *sessions // /console/
	portal *sessions // /portal/
	pages  *pages
	oidc   *oidcClient
	mux    *http.ServeMux
}

// New returns a Console.
func New(cfg Config) (*Console, error) {
	if cfg.Service == nil {
		return nil, errors.New("console: Config.Service is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{svc: cfg.Service, log: cfg.Logger.With("component", "console"), now: cfg.Now,
		staff: newSessions(cfg.Now, cfg.SessionTTL), portal: newSessions(cfg.Now, cfg.SessionTTL),
		pages: p, mux: http.NewServeMux()}
	if cfg.OIDC != nil {
		if c.oidc, err = newOIDCClient(*cfg.OIDC, cfg.Now); err != nil {
			return nil, err
		}
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	c.mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	c.routes()
	c.portalRoutes()
	return c, nil
}

// Handler serves /console/ and /portal/; mount it on both prefixes.
func (c *Console) Handler() http.Handler { return secureHeaders(c.mux) }

// RevokeSessions ends the console sessions signed in with the token id
// (called when a token is revoked elsewhere, e.g. over the admin API; a
// session also re-checks its token on every request).
func (c *Console) RevokeSessions(tokenID string) int {
	return c.staff.deleteWhere(func(s *session) bool { return s.actor.TokenID == tokenID })
}

// staffHandler is a console page: it returns an error to be shown, or
// writes the page itself.
type staffHandler func(w http.ResponseWriter, r *http.Request, s *session) error

// handle registers a console page that needs a signed-in session (and
// for POST a valid CSRF token).
func (c *Console) handle(pattern string, h staffHandler) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s := c.staff.fromRequest(r, consoleCookie)
		if s != nil && s.secret != "" {
			// The token may have been revoked or have expired since.
			if _, err := c.svc.Authenticate(r.Context(), s.secret); err != nil {
				c.staff.delete(s)
				s = nil
			}
		}
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, licensor.Errorf(licensor.EUNAUTHORIZED, "your session has ended: sign in again"))
			return
		}
		netguard.ConnFrom(r.Context()).Authenticated()
		if r.Method == http.MethodPost && !c.checkForm(w, r, s.csrf) {
			return
		}
		r = r.WithContext(licensor.WithActor(r.Context(), s.actor))
		if s.actor.Role == licensor.RoleOperator && !c.operatorTenant(r, s) && r.Method == http.MethodGet {
			c.fail(w, r, s, licensor.Errorf(licensor.EINVALID, "there is no tenant yet: create one (licensor admin tenant create), then reload this page"))
			return
		}
		if err := h(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

// operatorTenant gives an operator's session a tenant to show when it has
// none (no tenant existed at sign-in): the first one, if any now. It
// reports whether the session has a tenant.
func (c *Console) operatorTenant(r *http.Request, s *session) bool {
	s.mu.Lock()
	has := s.tenant != ""
	s.mu.Unlock()
	if has {
		return true
	}
	ts, err := c.svc.ListTenants(r.Context(), licensor.ListOptions{Limit: 1})
	if err != nil || len(ts) == 0 {
		return false
	}
	s.mu.Lock()
	s.tenant = ts[0].ID
	s.mu.Unlock()
	return true
}

// checkForm parses a bounded form and refuses it without the session's
// CSRF token (synchronizer token) or when sent from another site.
func (c *Console) checkForm(w http.ResponseWriter, r *http.Request, want string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, nil, licensor.Errorf(licensor.EINVALID, "the form could not be read: %v", err))
		return false
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		c.fail(w, r, nil, licensor.Errorf(licensor.EFORBIDDEN, "a form posted from another site is refused"))
		return false
	}
	if !validCSRF(want, r.PostForm.Get("csrf")) {
		c.fail(w, r, nil, licensor.Errorf(licensor.EFORBIDDEN, "the form's CSRF token is missing or stale: reload the page and send it again"))
		return false
	}
	return true
}

// tenantCtx is the context a page calls the service with, and the
// tenant it acts on: always the session's, never one from the URL.
func tenantCtx(r *http.Request, s *session) (context.Context, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return r.Context(), s.tenant
}

// status is the HTTP status of a domain error.
func status(err error) int {
	switch licensor.ErrorCode(err) {
	case licensor.EINVALID:
		return http.StatusBadRequest
	case licensor.ENOTFOUND:
		return http.StatusNotFound
	case licensor.ECONFLICT, licensor.EPRECONDITION:
		return http.StatusConflict
	case licensor.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case licensor.EFORBIDDEN:
		return http.StatusForbidden
	case licensor.EEXHAUSTED:
		return http.StatusTooManyRequests
	case licensor.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail shows err: a form's mistake goes back to the page it came from as a
// message; anything else is an error page. Internal errors are logged and
// shown without detail.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	code := licensor.ErrorCode(err)
	msg := licensor.ErrorMessage(err)
	if code == licensor.EINTERNAL {
		c.log.ErrorContext(r.Context(), "console", "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	back := r.PostForm.Get("back")
	if s != nil && r.Method == http.MethodPost && isLocal(back) && code != licensor.ENOTFOUND && code != licensor.EFORBIDDEN && code != licensor.EINTERNAL {
		s.addFlash("error", msg)
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	c.pages.renderError(w, status(err), msg)
}

// isLocal accepts only a path of this server, so that a redirect cannot
// be aimed elsewhere: "//evil.example", "/\\evil.example" and "/\t/evil.example"
// (browsers drop tabs and newlines from URLs) are not local.
func isLocal(p string) bool {
	if p == "" || p[0] != '/' || len(p) > 2048 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	return len(p) == 1 || p[1] != '/'
}

// redirect answers a successful form with a flash message.
func redirect(w http.ResponseWriter, r *http.Request, s *session, to, msg string) error {
	if msg != "" {
		s.addFlash("ok", msg)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
