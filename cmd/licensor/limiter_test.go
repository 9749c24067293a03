package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/bearer"
	"github.com/licensor/licensor/ratelimit/redislimit"
)

// TestServeRedisSharesTheThreshold: with --redis, a server counts a
// tenant's requests in Redis, where every server sees them: when other
// servers hold all of the tenant's slots, this one refuses with
// RESOURCE_EXHAUSTED; when they free them, it serves.
func TestServeRedisSharesTheThreshold(t *testing.T) {
	url := os.Getenv("LICENSOR_TEST_REDIS")
	if url == "" {
		t.Skip("set LICENSOR_TEST_REDIS=redis://127.0.0.1:6379/15 to run the Redis suite; .ci/run does")
	}
	m := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", Data: t.TempDir(), Demo: true, Redis: url}, Out: &bytes.Buffer{}}
	if err := m.Start(context.Background()); err != nil {
		t.Fatalf("serve --redis: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	d := m.Demo
	lc := licensorv1connect.NewLicenseServiceClient(demoClient(t, d), d.Server, connect.WithGRPC(),
		connect.WithInterceptors(bearer.Token(d.Token)))
	get := func() error {
		_, err := lc.GetLicense(context.Background(), connect.NewRequest(&v1.GetLicenseRequest{ContractId: d.ContractID, InstanceId: "r-1"}))
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("GetLicense: got error %v, want none", err)
	}

	// Other servers hold every slot of the tenant.
	rdb, err := redislimit.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	key := redislimit.DefaultPrefix + d.TenantID
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	far := float64(time.Now().Add(time.Hour).UnixMilli())
	for i := range licensor.DefaultConcurrencyLimit {
		rdb.ZAdd(context.Background(), key, redis.Z{Score: far, Member: fmt.Sprintf("other-server-%d", i)})
	}
	if err := get(); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("GetLicense while other servers hold every slot: got %v, want RESOURCE_EXHAUSTED", err)
	}
	rdb.Del(context.Background(), key)
	if err := get(); err != nil {
		t.Fatalf("GetLicense after the slots were freed: got error %v, want none", err)
	}
}

func TestServeBadRedis(t *testing.T) {
	m := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", Data: t.TempDir(), Redis: "redis://:s3cret@127.0.0.1:1/0"}, Out: &bytes.Buffer{}}
	err := m.Start(context.Background())
	t.Cleanup(func() { _ = m.Close() })
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("serve --redis to a closed port: got error %v, want one that does not show the password", err)
	}
}
