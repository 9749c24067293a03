package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/internal/netguard"
)

// portalRoutes registers the customer portal. A portal session reaches
// one customer of one tenant, the portal link's: every read and action
// goes through the service's Portal* calls with that scope, which answer
// not_found for anything else.
func (c *Console) portalRoutes() {
	c.mux.HandleFunc("GET /portal/open", c.portalOpen)
	c.mux.HandleFunc("GET /portal/signin", c.portalSigninForm)
	c.mux.HandleFunc("POST /portal/signin", c.portalSignin)
	c.handlePortal("GET /portal/{$}", c.portalHome)
	c.handlePortal("POST /portal/release", c.portalRelease)
	c.handlePortal("POST /portal/contracts/{id}/license", c.portalLicenseFile)
	c.handlePortal("POST /portal/signout", func(w http.ResponseWriter, r *http.Request, s *session) error {
		c.portal.delete(s)
		clearCookie(w, portalCookie)
		http.Redirect(w, r, "/portal/signin", http.StatusSeeOther)
		return nil
	})
	c.mux.HandleFunc("GET /portal/", func(w http.ResponseWriter, _ *http.Request) {
		c.pages.renderError(w, http.StatusNotFound, "no such page")
	})
}

// handlePortal registers a portal page that needs a portal session whose
// link is still valid (a revoked or expired link ends it at once).
func (c *Console) handlePortal(pattern string, h staffHandler) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s := c.portal.fromRequest(r, portalCookie)
		if s != nil {
			sc, err := c.svc.AuthenticatePortal(r.Context(), s.secret)
			if err != nil {
				c.portal.delete(s)
				s = nil
			} else {
				s.portal = sc
			}
		}
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/portal/signin", http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, licensor.Errorf(licensor.EUNAUTHORIZED, "your portal session has ended: open your portal link again"))
			return
		}
		netguard.ConnFrom(r.Context()).Authenticated()
		if r.Method == http.MethodPost && !c.checkForm(w, r, s.csrf) {
			return
		}
		if err := h(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

type portalSigninView struct {
	Link  string
	Error string
}

// showPortalSignin renders the portal's sign-in form: with the link
// filled in when opened from one, otherwise to paste it.
func (c *Console) showPortalSignin(w http.ResponseWriter, code int, link, errMsg string) {
	tok := randomToken()
	setCookie(w, preCookie, tok, 600, http.SameSiteStrictMode)
	v := &view{Title: "Customer portal", Portal: true, CSRF: tok, Data: portalSigninView{Link: link, Error: errMsg}}
	if err := c.pages.execute(w, code, "portal-signin", v); err != nil {
		c.pages.renderError(w, http.StatusInternalServerError, "internal error")
	}
}

// portalOpen is where a portal link leads. It only shows a button that
// signs in: a GET changes nothing (a mail scanner following the link
// signs nobody in), and the sign-in's own request is same-site, so the
// SameSite=Strict session cookie is sent from then on.
func (c *Console) portalOpen(w http.ResponseWriter, r *http.Request) {
	c.showPortalSignin(w, http.StatusOK, r.URL.Query().Get("link"), "")
}

func (c *Console) portalSigninForm(w http.ResponseWriter, r *http.Request) {
	if s := c.portal.fromRequest(r, portalCookie); s != nil {
		http.Redirect(w, r, "/portal/", http.StatusSeeOther)
		return
	}
	c.showPortalSignin(w, http.StatusOK, "", "")
}

func (c *Console) portalSignin(w http.ResponseWriter, r *http.Request) {
	pre, err := r.Cookie(preCookie)
	if err != nil {
		c.pages.renderError(w, http.StatusForbidden, "the sign-in form's CSRF cookie is missing: open your portal link again")
		return
	}
	if !c.checkForm(w, r, pre.Value) {
		return
	}
	secret := strings.TrimSpace(r.PostForm.Get("link"))
	// A whole link pasted: take its secret.
	if i := strings.Index(secret, "link="); i >= 0 {
		secret = secret[i+len("link="):]
	}
	sc, err := c.svc.AuthenticatePortal(r.Context(), secret)
	if err != nil {
		c.showPortalSignin(w, http.StatusUnauthorized, "", licensor.ErrorMessage(err))
		return
	}
	cu, err := c.svc.PortalCustomer(r.Context(), sc)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	s := &session{secret: secret, portal: sc, who: cu.Name, tenant: sc.TenantID}
	id := c.portal.create(s)
	if !sc.ExpiresAt.IsZero() && sc.ExpiresAt.Before(s.expires) {
		s.expires = sc.ExpiresAt // the session ends with its link
	}
	clearCookie(w, preCookie)
	setCookie(w, portalCookie, id, 0, http.SameSiteStrictMode)
	c.log.InfoContext(r.Context(), "portal sign-in", "link", sc.LinkID, "tenant", sc.TenantID, "customer", sc.CustomerID)
	http.Redirect(w, r, "/portal/", http.StatusSeeOther)
}

// RevokePortalSessions ends the portal sessions opened with a link.
func (c *Console) RevokePortalSessions(linkID string) int {
	return c.portal.deleteWhere(func(s *session) bool { return s.portal != nil && s.portal.LinkID == linkID })
}

func (c *Console) renderPortal(w http.ResponseWriter, r *http.Request, s *session, name, title string, data any) error {
	v := &view{Title: title, Who: s.who, CSRF: s.csrf, Flash: s.takeFlash(), Path: r.URL.RequestURI(), Portal: true, Data: data}
	return c.pages.execute(w, http.StatusOK, name, v)
}

func (c *Console) portalHome(w http.ResponseWriter, r *http.Request, s *session) error {
	cs, err := c.svc.PortalContracts(r.Context(), s.portal)
	if err != nil {
		return err
	}
	return c.renderPortal(w, r, s, "portal", "Your licenses", cs)
}

func (c *Console) portalRelease(w http.ResponseWriter, r *http.Request, s *session) error {
	in, err := c.svc.PortalReleaseSeat(r.Context(), s.portal, r.PostForm.Get("contract"), r.PostForm.Get("instance"))
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/portal/", "Seat of "+in.ID+" released.")
}

// portalLicenseFile answers a static license file for an offline site as
// a download.
func (c *Console) portalLicenseFile(w http.ResponseWriter, r *http.Request, s *session) error {
	var validity time.Duration
	if d := strings.TrimSpace(r.PostForm.Get("days")); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 {
			return licensor.Errorf(licensor.EINVALID, "validity %q: give a whole number of days", d)
		}
		validity = time.Duration(n) * 24 * time.Hour
	}
	id := r.PathValue("id")
	armored, _, err := c.svc.PortalIssueLicenseFile(r.Context(), s.portal, id, strings.TrimSpace(r.PostForm.Get("instance")), r.PostForm.Get("environment"), validity)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.lic"`)
	_, err = w.Write([]byte(armored))
	return err
}
