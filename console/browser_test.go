package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/licensor/licensor/internal/testserver"
)

// browser is a cookie-keeping HTTP client that reads the CSRF token of the
// last page it fetched, as a browser's form would send it.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
	csrf string
	body string
}

func newBrowser(t testing.TB, s *testserver.Server) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := s.HTTPClient()
	c.Jar = jar
	return &browser{t: t, base: s.URL, c: c}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) read(resp *http.Response, err error) (int, string) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	b.body = string(body)
	if m := csrfRE.FindStringSubmatch(b.body); m != nil {
		b.csrf = m[1]
	}
	return resp.StatusCode, b.body
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	return b.read(b.c.Get(b.base + path))
}

// post sends a form with the page's CSRF token (unless the form sets its
// own "csrf", empty to send none).
func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	return b.read(b.c.PostForm(b.base+path, form))
}

func (b *browser) signin(token string) {
	b.t.Helper()
	b.get("/console/signin")
	if code, body := b.post("/console/signin", url.Values{"token": {token}}); code != http.StatusOK || !strings.Contains(body, `id="signout"`) {
		b.t.Fatalf("sign in: got %d\n%s", code, body)
	}
}

func mustContain(t testing.TB, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("page lacks %q:\n%s", w, body)
		}
	}
}
