package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// HealthcheckCmd asks a server's /healthz whether it is up: the container
// image's HEALTHCHECK, which has no curl.
type HealthcheckCmd struct {
	URL     string        `help:"The server's /healthz on its metrics listener." default:"http://127.0.0.1:7445/healthz" env:"LICENSOR_HEALTHCHECK_URL" name:"url"`
	Timeout time.Duration `help:"How long to wait for the answer." default:"3s"`
}

// Run exits 0 when /healthz answers 200, and fails with one line otherwise.
func (c *HealthcheckCmd) Run() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	return c.check(ctx)
}

func (c *HealthcheckCmd) check(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", c.URL, res.Status)
	}
	return nil
}
