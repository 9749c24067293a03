package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/licensor/licensor"
)

// OperatorRole, as the value of a claim in OIDCConfig.Tenants, signs the
// identity in as the operator: every tenant, through the tenant picker.
const OperatorRole = "operator"

// DefaultTenantClaim is the ID token claim that names the tenant of a
// staff member signing in with OIDC.
const DefaultTenantClaim = "licensor_tenant"

// OIDCConfig is vendor staff's OpenID Connect sign-in. The identity's
// tenant comes from a claim of its ID token (TenantClaim), mapped through
// Tenants when set; the staff member then acts as that tenant's admin.
// Only the mapping can make an identity the operator (OperatorRole).
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the callback registered with the provider; default
	// https://<the request's host>/console/oidc/callback.
	RedirectURL string
	// TenantClaim names the claim holding the tenant (default
	// DefaultTenantClaim): a string, or a list of which the first is used.
	TenantClaim string
	// Tenants, if set, maps the claim's values to tenant ids, or to
	// OperatorRole for the operator's own staff; a value not in it is
	// refused. Unset: the claim's value is the tenant id (never the
	// operator).
	Tenants map[string]string
	// HTTPClient reaches the provider (default http.DefaultClient).
	HTTPClient *http.Client
}

// oidcClient discovers the provider on first use, so that a provider
// briefly down does not stop the server from starting.
type oidcClient struct {
	cfg OIDCConfig
	now func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider
	pending  map[string]oidcPending // by hash of the state
}

type oidcPending struct {
	nonce, verifier, redirect string
	expires                   time.Time
}

const (
	oidcPendingTTL = 10 * time.Minute
	maxOIDCPending = 10_000
)

func newOIDCClient(cfg OIDCConfig, now func() time.Time) (*oidcClient, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, errors.New("console: OIDC needs an issuer and a client id")
	}
	if cfg.TenantClaim == "" {
		cfg.TenantClaim = DefaultTenantClaim
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &oidcClient{cfg: cfg, now: now, pending: map[string]oidcPending{}}, nil
}

func (o *oidcClient) ctx(ctx context.Context) context.Context {
	return context.WithValue(oidc.ClientContext(ctx, o.cfg.HTTPClient), oauth2.HTTPClient, o.cfg.HTTPClient)
}

func (o *oidcClient) getProvider(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	// The key set the provider keeps fetches with this context later on:
	// it must outlive the request.
	p, err := oidc.NewProvider(o.ctx(context.WithoutCancel(ctx)), o.cfg.Issuer)
	if err != nil {
		return nil, licensor.Errorf(licensor.EUNAVAILABLE, "the sign-in provider %s cannot be reached: %v", o.cfg.Issuer, err)
	}
	o.provider = p
	return p, nil
}

func (o *oidcClient) oauth(p *oidc.Provider, redirect string) *oauth2.Config {
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
}

func stateKey(state string) string {
	h := sha256.Sum256([]byte(state))
	return hex.EncodeToString(h[:])
}

// oidcLogin sends the browser to the provider with a state (bound to this
// browser by a cookie), a nonce and a PKCE challenge.
func (c *Console) oidcLogin(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.pages.renderError(w, http.StatusNotFound, "OIDC sign-in is not configured on this server")
		return
	}
	o := c.oidc
	p, err := o.getProvider(r.Context())
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	redirect := o.cfg.RedirectURL
	if redirect == "" {
		redirect = "https://" + r.Host + "/console/oidc/callback"
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	now := o.now()
	o.mu.Lock()
	if len(o.pending) >= maxOIDCPending {
		for k, v := range o.pending {
			if now.After(v.expires) {
				delete(o.pending, k)
			}
		}
	}
	full := len(o.pending) >= maxOIDCPending
	if !full {
		o.pending[stateKey(state)] = oidcPending{nonce: nonce, verifier: verifier, redirect: redirect, expires: now.Add(oidcPendingTTL)}
	}
	o.mu.Unlock()
	if full {
		c.pages.renderError(w, http.StatusServiceUnavailable, "too many sign-ins in progress: try again in a few minutes")
		return
	}
	// Lax, not Strict: the provider's redirect back is a cross-site
	// navigation, on which a Strict cookie is not sent.
	setCookie(w, preCookie, state, int(oidcPendingTTL/time.Second), http.SameSiteLaxMode)
	http.Redirect(w, r, o.oauth(p, redirect).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// oidcCallback finishes the sign-in: the state must be this browser's,
// the ID token valid for this client with the nonce sent, and its tenant
// claim must name an existing tenant.
func (c *Console) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.pages.renderError(w, http.StatusNotFound, "OIDC sign-in is not configured on this server")
		return
	}
	a, who, err := c.oidc.finish(r)
	if err == nil && a.Role != licensor.RoleOperator {
		// The tenant must exist: its admin scope says so. (The operator's
		// is picked on its first page.)
		_, err = c.svc.GetTenant(licensor.WithActor(r.Context(), a), a.TenantID)
	}
	if err != nil {
		c.log.WarnContext(r.Context(), "console OIDC sign-in refused", "err", err)
		c.showSignin(w, status(err), "Sign-in refused: "+licensor.ErrorMessage(err))
		return
	}
	c.startSession(w, r, &session{actor: a, who: who, tenant: a.TenantID})
}

func (o *oidcClient) finish(r *http.Request) (licensor.Actor, string, error) {
	var a licensor.Actor
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return a, "", licensor.Errorf(licensor.EUNAUTHORIZED, "the provider answered %q", truncate(e+": "+q.Get("error_description"), 200))
	}
	state := q.Get("state")
	ck, err := r.Cookie(preCookie)
	if err != nil || state == "" || ck.Value != state {
		return a, "", licensor.Errorf(licensor.EUNAUTHORIZED, "the sign-in did not start in this browser, or took too long: start again")
	}
	o.mu.Lock()
	pend, ok := o.pending[stateKey(state)]
	delete(o.pending, stateKey(state))
	o.mu.Unlock()
	if !ok || o.now().After(pend.expires) {
		return a, "", licensor.Errorf(licensor.EUNAUTHORIZED, "the sign-in expired: start again")
	}
	p, err := o.getProvider(r.Context())
	if err != nil {
		return a, "", err
	}
	ctx := o.ctx(r.Context())
	tok, err := o.oauth(p, pend.redirect).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pend.verifier))
	if err != nil {
		return a, "", licensor.Errorf(licensor.EUNAUTHORIZED, "the provider refused the sign-in code: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return a, "", licensor.Errorf(licensor.EUNAUTHORIZED, "the provider sent no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: o.now}).Verify(ctx, raw)
	if err != nil {
		return a, "", licensor.Errorf(licensor.EUNAUTHORIZED, "the ID token is not valid: %v", err)
	}
	if idt.Nonce != pend.nonce {
		return a, "", licensor.Errorf(licensor.EUNAUTHORIZED, "the ID token's nonce does not match this sign-in")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return a, "", licensor.Errorf(licensor.EUNAUTHORIZED, "the ID token's claims do not parse: %v", err)
	}
	tenant := claimString(claims[o.cfg.TenantClaim])
	if o.cfg.Tenants != nil {
		tenant = o.cfg.Tenants[tenant]
	}
	if tenant == "" {
		return a, "", licensor.Errorf(licensor.EFORBIDDEN, "this identity has no tenant (claim %q) that this server maps", o.cfg.TenantClaim)
	}
	who := claimString(claims["email"])
	if who == "" {
		who = idt.Subject
	}
	a = licensor.Actor{Role: licensor.RoleAdmin, TenantID: tenant, TokenID: truncate("oidc:"+idt.Subject, 128)}
	if o.cfg.Tenants != nil && tenant == OperatorRole {
		a.Role, a.TenantID = licensor.RoleOperator, ""
	}
	return a, fmt.Sprintf("%s (OIDC)", truncate(who, 200)), nil
}

func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		if len(v) > 0 {
			s, _ := v[0].(string)
			return s
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
