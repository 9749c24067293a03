package agentapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/licensor/licensor/internal/agentapi"
	"github.com/licensor/licensor/openapi"
)

// TestOpenAPIMatchesRoutes: every route the agent serves is in
// openapi/agent.json and every operation there is served; every $ref
// resolves; the agent serves the document at /openapi.json.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Agent, &doc); err != nil {
		t.Fatalf("openapi/agent.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi: got %q, want 3.1.0", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	served := agentapi.Routes()
	slices.Sort(documented)
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("%s is served but not in openapi/agent.json", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("%s is in openapi/agent.json but not served", r)
		}
	}

	var all any
	_ = json.Unmarshal(openapi.Agent, &all)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if !resolves(all, ref) {
					t.Errorf("$ref %s does not resolve", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(all)

	rec := httptest.NewRecorder()
	agentapi.New(agentapi.Config{}).ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	b, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK || string(b) != string(openapi.Agent) || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("GET /openapi.json: got %d %q, want 200 and the document", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func resolves(doc any, ref string) bool {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	cur := doc
	for _, seg := range strings.Split(p, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[seg]; !ok {
			return false
		}
	}
	return true
}
