package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/server"
)

// slowHandler makes every capability call take at least d in the handler,
// standing in for a loaded database.
type slowHandler time.Duration

func (s slowHandler) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		time.Sleep(time.Duration(s))
		return next(ctx, req)
	}
}
func (s slowHandler) WrapStreamingClient(n connect.StreamingClientFunc) connect.StreamingClientFunc {
	return n
}
func (s slowHandler) WrapStreamingHandler(n connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return n
}

// BenchmarkSurge compares the two answers to a surge above a tenant's
// threshold: refuse at once (the client retries after the hint, with
// back-off) or let a request wait up to a bounded queue wait for a slot.
// Each iteration is one surge: Flows devices at once each check out one
// unit and return it, through the client library, within FlowBudget; a
// flow that has not finished by then (or ran out of retries) is lost.
// Every call spends Service in the handler; the threshold is Limit.
//
//	go test ./client -run '^$' -bench BenchmarkSurge -benchtime 3x
func BenchmarkSurge(b *testing.B) {
	const (
		flows      = 200
		limit      = 5
		service    = 10 * time.Millisecond
		flowBudget = 3 * time.Second
	)
	for _, mode := range []struct {
		name string
		wait time.Duration
	}{{"RefuseAtOnce", 0}, {"Wait250ms", 250 * time.Millisecond}, {"Wait1s", time.Second}, {"Wait5s", licensor.MaxQueueWait}} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			var refused atomic.Int64
			srv := testserver.Start(b, testserver.Options{Configure: func(c *server.Config) {
				c.InnerInterceptors = append(c.InnerInterceptors, slowHandler(service))
				c.OnRefused = func(string) { refused.Add(1) }
			}})
			f := srv.NewFixture(b, testserver.FixtureOptions{})
			pool := createPool(b, srv, f)
			adm := srv.Admin(testserver.GRPC, f.AdminToken)
			if _, err := adm.ResizePool(ctx, connect.NewRequest(&v1.ResizePoolRequest{
				PoolId: pool, Features: []*v1.PoolFeatureLimit{{Feature: "solver", MaxUnits: flows}}})); err != nil {
				b.Fatal(err)
			}
			n := int32(limit)
			// The operator's: a wait past the default ceiling of 1s.
			req := &v1.UpdateTenantRequest{TenantId: f.TenantID, ConcurrencyLimit: &n}
			if mode.wait > 0 {
				req.QueueWait = durationpb.New(mode.wait)
			}
			if _, err := srv.Admin(testserver.GRPC, srv.OperatorToken).UpdateTenant(ctx, connect.NewRequest(req)); err != nil {
				b.Fatal(err)
			}
			clients := make([]*Client, flows)
			for i := range clients {
				c, err := New(Config{
					Server: srv.URL, ContractID: f.ContractID, Token: f.ContractToken, TenantID: f.TenantID,
					InstanceID: fmt.Sprintf("dev-%d", i), RootCAs: srv.CAPool,
					MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second, Timeout: 10 * time.Second,
				})
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				clients[i] = c
			}
			var lost, total int
			var slowest time.Duration
			for b.Loop() {
				var wg sync.WaitGroup
				var mu sync.Mutex
				start := time.Now()
				for _, c := range clients {
					wg.Go(func() {
						fctx, cancel := context.WithTimeout(ctx, flowBudget)
						defer cancel()
						l, err := c.Checkout(fctx, licensor.Units{Feature: "solver", Units: 1})
						if err == nil {
							err = l.Return(fctx)
						}
						mu.Lock()
						defer mu.Unlock()
						total++
						if err != nil {
							lost++
							// Give back what a lost flow may hold, outside the budget.
							if l != nil {
								_ = l.Return(ctx)
							}
							return
						}
						slowest = max(slowest, time.Since(start))
					})
				}
				wg.Wait()
				if _, err := srv.Service.ReapLeases(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(lost)/float64(total)*100, "%lost")
			b.ReportMetric(float64(refused.Load())/float64(b.N), "refusals/surge")
			b.ReportMetric(slowest.Seconds(), "s-slowest-flow")
		})
	}
}
