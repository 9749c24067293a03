package client

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/licensor/licensor/rpcerr"
)

// respInfo records what the HTTP layer saw of one call: connect drops the
// headers of a non-Connect error response (a load balancer's bare 429 or
// 503), and with them the retry hint and the proof that the network worked.
type respInfo struct {
	mu     sync.Mutex
	status int
	hint   time.Duration
}

type respInfoKey struct{}

func withRespInfo(ctx context.Context) (context.Context, *respInfo) {
	ri := &respInfo{}
	return context.WithValue(ctx, respInfoKey{}, ri), ri
}

func (ri *respInfo) get() (int, time.Duration) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	return ri.status, ri.hint
}

// recordingTransport notes the status and retry hint of each response in
// the request's respInfo, if it has one.
type recordingTransport struct{ base http.RoundTripper }

func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	if ri, ok := req.Context().Value(respInfoKey{}).(*respInfo); ok && res != nil {
		ri.mu.Lock()
		ri.status = res.StatusCode
		ri.hint = rpcerr.RetryHint(res.Header)
		ri.mu.Unlock()
	}
	return res, err
}

// recording returns a copy of hc whose transport records responses.
func recording(hc *http.Client) *http.Client {
	cp := *hc
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cp.Transport = recordingTransport{base: base}
	return &cp
}
