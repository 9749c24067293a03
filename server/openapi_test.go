package server_test

import (
	"bytes"
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

// TestOpenAPIDescribesTheWire: a call built from the document alone — the
// path, the required header, the request's property names — succeeds over
// plain HTTP, and the answer has the properties the document names.
func TestOpenAPIDescribesTheWire(t *testing.T) {
	s := testserver.Start(t)
	f := s.NewFixture(t, testserver.FixtureOptions{})
	var doc struct {
		Paths map[string]struct {
			Post struct {
				Parameters []struct {
					Name     string `json:"name"`
					In       string `json:"in"`
					Required bool   `json:"required"`
				} `json:"parameters"`
			} `json:"post"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapi.Server, &doc); err != nil {
		t.Fatal(err)
	}
	const path = "/licensor.v1.LicenseService/GetLicense"
	op, ok := doc.Paths[path]
	if !ok {
		t.Fatalf("%s is not in the document", path)
	}
	reqProps := doc.Components.Schemas["licensor.v1.GetLicenseRequest"].Properties
	body := map[string]string{}
	for name, v := range map[string]string{"contractId": f.ContractID, "instanceId": "openapi-1"} {
		if _, ok := reqProps[name]; !ok {
			t.Fatalf("GetLicenseRequest has no property %s in the document", name)
		}
		body[name] = v
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.ContractToken)
	for _, p := range op.Post.Parameters {
		if p.In == "header" && p.Required && p.Name == "Connect-Protocol-Version" {
			req.Header.Set(p.Name, "1")
		}
	}
	res, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: got %d, %v", path, res.StatusCode, err)
	}
	issued := doc.Components.Schemas["licensor.v1.IssuedLicense"].Properties
	for name := range out["license"] {
		if _, ok := issued[name]; !ok {
			t.Errorf("the answer's license has %q, which the document does not name", name)
		}
	}
	if tok, _ := out["license"]["token"].(string); tok == "" {
		t.Errorf("the answer has no license token: %v", out)
	}
}
