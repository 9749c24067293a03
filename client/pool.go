package client

import (
	"context"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
)

// Preview answers whether a Checkout of units would be granted now,
// taking nothing: nil if it would, a *DeniedError saying what is short if
// not. Retried like Checkout.
func (c *Client) Preview(ctx context.Context, units ...licensor.Units) error {
	rpc, err := c.capabilityClient()
	if err != nil {
		return err
	}
	req := c.capabilityRequest(units)
	req.RequestId, req.Preview = newRequestID(), true
	res, err := c.requestCapabilities(ctx, rpc, req)
	if err != nil {
		return err
	}
	if !res.GetGranted() {
		return deniedError(res.GetShortages())
	}
	return nil
}

// PoolFeature is one feature of a pool the contract draws on: its limit,
// the units in use by every instance, those free, and those this instance
// holds.
type PoolFeature struct {
	Pool           string
	Feature        string
	MaxUnits       int64
	InUse          int64
	Free           int64
	HeldByInstance int64
}

// Features lists the features of the contract's pools and what this
// instance holds of each, as the server sees it now.
func (c *Client) Features(ctx context.Context) ([]PoolFeature, error) {
	rpc, err := c.capabilityClient()
	if err != nil {
		return nil, err
	}
	var res *v1.ListFeaturesResponse
	err = c.retry(ctx, func(ctx context.Context) error {
		r, err := rpc.ListFeatures(ctx, connect.NewRequest(&v1.ListFeaturesRequest{ContractId: c.cfg.ContractID, InstanceId: c.instanceID}))
		if err == nil {
			res = r.Msg
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]PoolFeature, 0, len(res.GetFeatures()))
	for _, f := range res.GetFeatures() {
		out = append(out, PoolFeature{Pool: f.GetPoolId(), Feature: f.GetFeature(), MaxUnits: f.GetMaxUnits(), InUse: f.GetInUse(),
			Free: f.GetFree(), HeldByInstance: f.GetHeldByInstance()})
	}
	return out, nil
}

func deniedError(shortages []*v1.Shortage) *DeniedError {
	d := &DeniedError{}
	for _, s := range shortages {
		sh := licensor.Shortage{Feature: s.GetFeature(), Requested: s.GetRequested(), Available: s.GetAvailable(), Short: s.GetShort(), Queued: s.GetQueued()}
		if s.GetNextRelease() != nil {
			sh.NextRelease = s.GetNextRelease().AsTime()
		}
		d.Shortages = append(d.Shortages, sh)
	}
	return d
}
