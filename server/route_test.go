package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// named answers with its name, to tell which handler a request reached.
type named string

func (n named) ServeHTTP(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(n)) }

// The router sends each request where the mux alone would, including after
// patterns mounted later take a procedure, and sets the mux's pattern.
func TestRouterRoutesAsTheMux(t *testing.T) {
	getLicense := "/" + licensorv1connect.LicenseServiceName + "/GetLicense"
	getTenant := "/" + licensorv1connect.AdminServiceName + "/GetTenant"
	for _, c := range []struct {
		name      string
		mount     map[string]string // pattern → handler name, mounted after the services
		path      string
		method    string
		want      string
		mapped    bool
		wantRoute string
	}{
		{"Procedure", nil, getLicense, http.MethodPost, "license", true, "/" + licensorv1connect.LicenseServiceName + "/"},
		{"ProcedureGET", nil, getLicense, http.MethodGet, "license", true, "/" + licensorv1connect.LicenseServiceName + "/"},
		{"UnknownMethod", nil, "/" + licensorv1connect.LicenseServiceName + "/Nope", http.MethodPost, "license", false, ""},
		{"TrailingSlash", nil, getLicense + "/", http.MethodPost, "license", false, ""},
		{"OtherPath", nil, "/healthz", http.MethodGet, "health", false, ""},
		{"TakenByMethodPattern", map[string]string{"POST " + getLicense: "taken"}, getLicense, http.MethodPost, "taken", false, ""},
		{"TakenByExactPattern", map[string]string{getTenant: "taken"}, getTenant, http.MethodPost, "taken", true, getTenant},
		{"HostPattern", map[string]string{"example.com/x/": "host"}, getTenant, http.MethodPost, "admin", false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle("/"+licensorv1connect.LicenseServiceName+"/", named("license"))
			mux.Handle("/"+licensorv1connect.AdminServiceName+"/", named("admin"))
			mux.Handle("GET /healthz", named("health"))
			rt := newRouter(mux)
			rt.mapProcedures()
			for p, n := range c.mount {
				rt.handle(p, named(n))
			}
			var mapped bool
			if p := rt.procs.Load(); p != nil {
				_, mapped = (*p)[c.path]
			}
			if mapped != c.mapped {
				t.Errorf("%s mapped: got %v, want %v", c.path, mapped, c.mapped)
			}
			r := httptest.NewRequest(c.method, c.path, nil)
			w := httptest.NewRecorder()
			rt.ServeHTTP(w, r)
			if got := w.Body.String(); got != c.want {
				t.Errorf("%s %s: reached %q, want %q", c.method, c.path, got, c.want)
			}
			if c.mapped && r.Pattern != c.wantRoute {
				t.Errorf("pattern: got %q, want %q", r.Pattern, c.wantRoute)
			}
		})
	}
}
