package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/licensor/licensor/openapi"
)

// openAPIETag names the embedded document's content, so that a client
// that has it gets 304 Not Modified.
var openAPIETag = func() string {
	sum := sha256.Sum256(openapi.Server)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// openAPI serves the OpenAPI 3.1 description of the Connect JSON API,
// generated from the protos (openapi/licensor.openapi.json). It needs no
// credentials: it describes the API, it holds no data.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("ETag", openAPIETag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(openapi.Server))
}
