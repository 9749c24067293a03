package console

import (
	"net/http"
	"strings"

	"github.com/licensor/licensor"
)

// signinView is the sign-in page's data.
type signinView struct {
	OIDC  bool
	Error string
}

// showSignin renders the sign-in form with a fresh pre-session CSRF token
// (double submit: the same random value in a __Host- cookie and the form).
func (c *Console) showSignin(w http.ResponseWriter, code int, errMsg string) {
	tok := randomToken()
	setCookie(w, preCookie, tok, 600, http.SameSiteStrictMode)
	v := &view{Title: "Sign in", CSRF: tok, Data: signinView{OIDC: c.oidc != nil, Error: errMsg}}
	if err := c.pages.execute(w, code, "signin", v); err != nil {
		c.pages.renderError(w, http.StatusInternalServerError, "internal error")
	}
}

func (c *Console) signinForm(w http.ResponseWriter, r *http.Request) {
	if s := c.staff.fromRequest(r, consoleCookie); s != nil {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	c.showSignin(w, http.StatusOK, "")
}

// signin starts a session for a tenant admin or operator token.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	pre, err := r.Cookie(preCookie)
	if err != nil {
		c.pages.renderError(w, http.StatusForbidden, "the sign-in form's CSRF cookie is missing: reload the page and sign in again")
		return
	}
	if !c.checkForm(w, r, pre.Value) {
		return
	}
	secret := strings.TrimSpace(r.PostForm.Get("token"))
	a, err := c.svc.Authenticate(r.Context(), secret)
	if err != nil {
		c.showSignin(w, http.StatusUnauthorized, "That token is not valid (unknown, revoked or expired).")
		return
	}
	if a.Role != licensor.RoleAdmin && a.Role != licensor.RoleOperator {
		c.showSignin(w, http.StatusForbidden, "A contract token cannot sign in to the console: use a tenant admin token.")
		return
	}
	// The operator's tenant is picked on its first page (operatorTenant).
	c.startSession(w, r, &session{actor: a, secret: secret, who: string(a.Role) + " token " + a.TokenID, tenant: a.TenantID})
}

func (c *Console) startSession(w http.ResponseWriter, r *http.Request, s *session) {
	id := c.staff.create(s)
	clearCookie(w, preCookie)
	setCookie(w, consoleCookie, id, 0, http.SameSiteStrictMode)
	c.log.InfoContext(r.Context(), "console sign-in", "who", s.who, "tenant", s.tenant)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request, s *session) error {
	c.staff.delete(s)
	clearCookie(w, consoleCookie)
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
	return nil
}

// pickTenant switches the operator's session to another tenant.
func (c *Console) pickTenant(w http.ResponseWriter, r *http.Request, s *session) error {
	if s.actor.Role != licensor.RoleOperator {
		return licensor.Errorf(licensor.EFORBIDDEN, "only the operator picks a tenant")
	}
	id := r.PostForm.Get("tenant")
	t, err := c.svc.GetTenant(r.Context(), id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.tenant = t.ID
	s.mu.Unlock()
	return redirect(w, r, s, "/console/", "Showing tenant "+t.Name+".")
}
