package client

import (
	"context"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
)

// watch holds a WatchLicense stream open and installs every license it
// delivers, so a contract change arrives at once. When the stream breaks it
// reopens it after a back-off; polling (loop) keeps running meanwhile, so a
// broken stream costs nothing but latency.
func (c *Client) watch(ctx context.Context) {
	fails := 0
	for ctx.Err() == nil {
		got, err := c.watchOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if got {
			fails = 0
		}
		fails++
		// The server's retry hint is a floor: a stream refused for being
		// over its contract's bound says how long to stay away.
		d := c.backoff(fails, licensor.RetryAfter(err))
		if err != nil {
			c.log.Info("license stream ended; polling continues", "err", err, "reopen_in", d)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.cfg.After(d):
		}
	}
}

// watchOnce runs one stream until it ends; got reports whether it delivered
// a license.
func (c *Client) watchOnce(ctx context.Context) (got bool, err error) {
	if err := c.ensureKeys(ctx); err != nil {
		return false, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := &v1.WatchLicenseRequest{ContractId: c.cfg.ContractID, InstanceId: c.instanceID, Host: c.cfg.Host, Telemetry: c.telemetry(), Fingerprint: c.cfg.Fingerprint}
	stream, err := c.rpc.WatchLicense(ctx, connect.NewRequest(req))
	if err != nil {
		return false, classify(ctx, err, c.cfg.Server, c.cfg.Timeout, nil)
	}
	defer stream.Close()
	for stream.Receive() {
		r, err := fromIssued(stream.Msg().GetLicense())
		r.declared = req.GetTelemetry().GetEnvironment()
		if err == nil {
			_, err = c.accept(r, SourceStream)
		}
		if err != nil {
			c.log.Warn("license from the stream refused", "err", err)
			continue
		}
		got = true
	}
	if err := stream.Err(); err != nil {
		return got, classify(ctx, err, c.cfg.Server, c.cfg.Timeout, nil)
	}
	return got, nil
}
