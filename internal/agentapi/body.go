package agentapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// decode reads r's body into v: application/json, at most MaxBodyBytes,
// one object, no unknown fields (a misspelt field is an error, not a
// silent default). It answers the error itself and reports false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, CodeMediaType, fmt.Sprintf("Content-Type %q: send application/json", ct))
			return false
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes))
		case errors.Is(err, io.EOF):
			writeError(w, http.StatusBadRequest, CodeInvalidArgument, "the body is empty; send a JSON object")
		default:
			writeError(w, http.StatusBadRequest, CodeInvalidArgument, "the body is not the JSON expected: "+strings.TrimPrefix(err.Error(), "json: "))
		}
		return false
	}
	return true
}

// noBody refuses a body on an operation that takes none (a body there is a
// caller mixing up operations); an empty body or "{}" is accepted.
func (s *Server) noBody(w http.ResponseWriter, r *http.Request) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "this operation takes no body")
		return false
	}
	if t := strings.TrimSpace(string(b)); t != "" && t != "{}" {
		writeError(w, http.StatusBadRequest, CodeInvalidArgument, "this operation takes no body")
		return false
	}
	return true
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
