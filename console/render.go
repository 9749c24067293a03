package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/licensor/licensor"
)

// pages holds one parsed template per page, each with the layout.
type pages struct {
	t map[string]*template.Template
}

var funcs = template.FuncMap{
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02")
	},
	"dur": formatDur,
	"seats": func(used, max int) string {
		if max == 0 {
			return fmt.Sprintf("%d / unlimited", used)
		}
		return fmt.Sprintf("%d / %d", used, max)
	},
	"entitlements": func(es []licensor.Entitlement) string {
		parts := make([]string, len(es))
		for i, e := range es {
			parts[i] = e.Feature
			if e.Kind == licensor.FeatureCounted {
				parts[i] = fmt.Sprintf("%s=%d", e.Feature, e.Count)
			}
		}
		return strings.Join(parts, ", ")
	},
	"units": func(us []licensor.Units) string {
		parts := make([]string, len(us))
		for i, u := range us {
			parts[i] = fmt.Sprintf("%s×%d", u.Feature, u.Units)
		}
		return strings.Join(parts, ", ")
	},
	"live":     func(t time.Time) bool { return t.IsZero() },
	"str":      func(v any) string { return fmt.Sprint(v) },
	"sections": func() []section { return consoleSections },
	"statuses": func() []licensor.ContractStatus { return licensor.ContractStatuses },
	"ranges":   func() []string { return []string{"6h", "24h", "7d"} },
	"tranges":  func() []string { return []string{"24h", "7d", "30d"} },
}

// formatDur writes a duration as people do: 14d, 2h, 15 min.
func formatDur(d time.Duration) string {
	switch {
	case d == 0:
		return "—"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}

// section is an entry of the console's navigation.
type section struct{ Key, Name, Href string }

var consoleSections = []section{
	{"dashboard", "Dashboard", "/console/"}, {"customers", "Customers", "/console/customers"},
	{"products", "Products", "/console/products"}, {"contracts", "Contracts", "/console/contracts"},
	{"instances", "Instances", "/console/instances"}, {"pools", "Pools", "/console/pools"},
	{"alerts", "Alerts", "/console/alerts"}, {"webhooks", "Webhooks", "/console/webhooks"},
	{"audit", "Audit log", "/console/audit"}, {"telemetry", "Telemetry", "/console/telemetry"},
	{"keys", "Keys", "/console/keys"}, {"tokens", "Tokens", "/console/tokens"},
}

func parsePages() (*pages, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{t: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", n, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// view is what every page template receives.
type view struct {
	Title   string
	Section string // the navigation entry to highlight
	Who     string
	Role    licensor.Role
	Tenant  string
	Tenants []*licensor.Tenant // the operator's picker
	CSRF    string
	Flash   []flash
	Path    string // the page's own path and query, a form's "back"
	Portal  bool
	Data    any
}

func (p *pages) execute(w http.ResponseWriter, code int, name string, v *view) error {
	t := p.t[name]
	if t == nil {
		return licensor.Internal("render", fmt.Errorf("no template %q", name))
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return licensor.Internal("render "+name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, err := buf.WriteTo(w)
	return err
}

func (p *pages) renderError(w http.ResponseWriter, code int, msg string) {
	if err := p.execute(w, code, "error", &view{Title: http.StatusText(code), Data: msg}); err != nil {
		http.Error(w, msg, code)
	}
}

// render writes a console page for session s.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, name, title, section string, data any) error {
	v := &view{Title: title, Section: section, Who: s.who, Role: s.actor.Role, Tenant: s.tenant, CSRF: s.csrf,
		Flash: s.takeFlash(), Path: r.URL.RequestURI(), Data: data}
	if s.actor.Role == licensor.RoleOperator {
		ts, err := c.svc.ListTenants(r.Context(), licensor.ListOptions{Limit: licensor.MaxListLimit})
		if err != nil {
			return err
		}
		v.Tenants = ts
	}
	return c.pages.execute(w, http.StatusOK, name, v)
}
