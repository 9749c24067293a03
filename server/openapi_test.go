package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	licensorv1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/openapi"
)

// TestOpenAPIServed: the server serves the OpenAPI document of its Connect
// JSON API at /openapi.json without a token, cacheably, and the document
// describes every unary RPC of the three services.
func TestOpenAPIServed(t *testing.T) {
	s := testserver.Start(t)
	hc := s.HTTPClient()
	res, err := hc.Get(s.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" || res.Header.Get("Cache-Control") == "" || string(b) != string(openapi.Server) {
		t.Fatalf("GET /openapi.json: got %d %q %q (%d bytes), want 200, JSON, cacheable, the embedded document", res.StatusCode,
			res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"), len(b))
	}
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi: got %q, want 3.1.0", doc.OpenAPI)
	}
	for _, fd := range []protoreflect.FileDescriptor{licensorv1.File_licensor_v1_license_proto, licensorv1.File_licensor_v1_capability_proto, licensorv1.File_licensor_v1_admin_proto} {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				if md.IsStreamingServer() || md.IsStreamingClient() {
					continue // Connect JSON over plain HTTP describes unary calls
				}
				path := "/" + string(sd.FullName()) + "/" + string(md.Name())
				if _, ok := doc.Paths[path]; !ok {
					t.Errorf("%s is not in the OpenAPI document: run buf generate", path)
				}
			}
		}
	}

	req, _ := http.NewRequest("GET", s.URL+"/openapi.json", nil)
	req.Header.Set("If-None-Match", res.Header.Get("ETag"))
	res, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("GET /openapi.json with its ETag: got %d, want 304", res.StatusCode)
	}
}
