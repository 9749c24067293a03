package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/licensor/licensor"
)

// Cookie names. The __Host- prefix makes the browser refuse them unless
// they are Secure, have Path=/ and no Domain: no other host, nor plain
// http, can set or read them.
const (
	consoleCookie = "__Host-licensor-console"
	portalCookie  = "__Host-licensor-portal"
	// preCookie carries the sign-in form's CSRF token before a session
	// exists (double submit) and the OIDC state during a sign-in.
	preCookie = "__Host-licensor-pre"
)

// session is one signed-in browser. It lives only in the server's memory:
// the cookie holds a random id, the server keeps the id's hash.
type session struct {
	key     string // SHA-256 of the cookie value
	csrf    string
	created time.Time
	expires time.Time

	actor  licensor.Actor
	secret string // the token signed in with, checked on every request; "" for OIDC and portal
	who    string // shown in the header: token hint, OIDC e-mail
	tenant string // the tenant the pages show (the operator picks it)

	// portal is the customer a portal session reaches (nil for staff);
	// secret then holds the portal link, re-checked on every request.
	portal *licensor.PortalScope

	mu    sync.Mutex
	flash []flash
}

type flash struct {
	Kind string // "ok", "error", "secret"
	Text string
}

func (s *session) addFlash(kind, text string) {
	s.mu.Lock()
	s.flash = append(s.flash, flash{kind, text})
	s.mu.Unlock()
}

func (s *session) takeFlash() []flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flash
	s.flash = nil
	return f
}

// sessions is the in-memory session table of one server. A restart signs
// everybody out; several servers behind a balancer need sticky sessions
// (docs/console.md).
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	now func() time.Time
	ttl time.Duration
	max int
}

func newSessions(now func() time.Time, ttl time.Duration) *sessions {
	return &sessions{m: map[string]*session{}, now: now, ttl: ttl, max: 100_000}
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("console: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashKey(v string) string {
	h := sha256.Sum256([]byte(v))
	return string(h[:])
}

// create stores s and returns the cookie value that names it.
func (t *sessions) create(s *session) string {
	id := randomToken()
	now := t.now()
	s.key, s.csrf, s.created, s.expires = hashKey(id), randomToken(), now, now.Add(t.ttl)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= t.max {
		t.sweepLocked(now)
	}
	t.m[s.key] = s
	return id
}

// sweepLocked drops expired sessions, and if still full the oldest.
func (t *sessions) sweepLocked(now time.Time) {
	var oldest *session
	for k, s := range t.m {
		if !now.Before(s.expires) {
			delete(t.m, k)
		} else if oldest == nil || s.created.Before(oldest.created) {
			oldest = s
		}
	}
	if len(t.m) >= t.max && oldest != nil {
		delete(t.m, oldest.key)
	}
}

func (t *sessions) get(id string) *session {
	if id == "" || len(id) > 100 {
		return nil
	}
	key := hashKey(id)
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[key]
	if s != nil && !t.now().Before(s.expires) {
		delete(t.m, key)
		return nil
	}
	return s
}

func (t *sessions) delete(s *session) {
	t.mu.Lock()
	delete(t.m, s.key)
	t.mu.Unlock()
}

// deleteWhere ends every session for which match is true (a revoked
// token's, a revoked portal link's).
func (t *sessions) deleteWhere(match func(*session) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k, s := range t.m {
		if match(s) {
			delete(t.m, k)
			n++
		}
	}
	return n
}

func (t *sessions) fromRequest(r *http.Request, name string) *session {
	c, err := r.Cookie(name)
	if err != nil {
		return nil
	}
	return t.get(c.Value)
}

func setCookie(w http.ResponseWriter, name, value string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: sameSite})
}

func clearCookie(w http.ResponseWriter, name string) {
	setCookie(w, name, "", -1, http.SameSiteStrictMode)
}

// validCSRF compares a form's token with the session's in constant time.
func validCSRF(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
