package agentapi

import (
	"context"
	"maps"
	"net/http"
	"sync"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/client"
)

// TelemetryStore holds the latest telemetry report posted to the agent.
// Its Get is the client's Config.Telemetry, so the report goes with every
// check from then on, as the Go library's own Telemetry callback would.
type TelemetryStore struct {
	mu sync.Mutex
	t  *client.Telemetry
}

// Get returns the latest report (zero if none); safe for concurrent use.
func (ts *TelemetryStore) Get() client.Telemetry {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.t == nil {
		return client.Telemetry{}
	}
	t := *ts.t
	t.RuntimeVersions, t.Usage, t.Labels = maps.Clone(t.RuntimeVersions), maps.Clone(t.Usage), maps.Clone(t.Labels)
	return t
}

func (ts *TelemetryStore) set(t licensor.Telemetry) {
	ct := client.Telemetry{
		ProductVersion: t.ProductVersion, RuntimeVersions: t.RuntimeVersions, Environment: t.Environment,
		ServerHost: t.ServerHost, ServerIP: t.ServerIP, ServerPort: uint32(t.ServerPort), AppName: t.AppName,
		Usage: t.Usage, Labels: t.Labels,
	}
	ts.mu.Lock()
	ts.t = &ct
	ts.mu.Unlock()
}

// telemetryAnswer says whether the report reached the server already.
type telemetryAnswer struct {
	// Sent: the report went with a check just now. Otherwise it is kept
	// and goes with the next check.
	Sent   bool   `json:"sent"`
	Error  string `json:"error,omitempty"`
	Status Status `json:"status"`
}

// telemetry validates a report as the server would (the same bounds),
// keeps it for every later check, and sends it at once with a refresh.
func (s *Server) telemetry(w http.ResponseWriter, r *http.Request) {
	if s.tel == nil {
		writeError(w, http.StatusNotFound, CodeNotFound, "this agent does not take telemetry")
		return
	}
	var t licensor.Telemetry
	if !decode(w, r, &t) {
		return
	}
	if t.ServerPort < 0 || t.ServerPort > 65535 {
		writeError(w, http.StatusBadRequest, CodeInvalidArgument, "server_port must be between 0 and 65535")
		return
	}
	if err := t.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, CodeInvalidArgument, licensor.ErrorMessage(err))
		return
	}
	s.tel.set(t)
	ctx, cancel := context.WithTimeout(r.Context(), CallTimeout)
	defer cancel()
	a := telemetryAnswer{Sent: true}
	if err := s.c.Refresh(ctx); err != nil {
		a.Sent, a.Error = false, licensor.ErrorMessage(err)
	}
	a.Status = StatusOf(s.c, s.soon)
	writeJSON(w, http.StatusAccepted, a)
}
