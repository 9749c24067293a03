package main

import (
	"testing"

	"github.com/alecthomas/kong"

	"github.com/licensor/licensor"
)

// The webhook policy is strict unless the operator relaxes it, by flag or
// by environment variable.
func TestServeWebhookPolicyFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want licensor.WebhookPolicy
	}{
		{"Default", nil, nil, licensor.WebhookPolicy{}},
		{"Flags", []string{"--webhook-allow-private", "--webhook-allow-http"}, nil, licensor.WebhookPolicy{AllowPrivate: true, AllowHTTP: true}},
		{"PrivateEnv", nil, map[string]string{"LICENSOR_WEBHOOK_ALLOW_PRIVATE": "true"}, licensor.WebhookPolicy{AllowPrivate: true}},
		{"HTTPEnv", nil, map[string]string{"LICENSOR_WEBHOOK_ALLOW_HTTP": "1"}, licensor.WebhookPolicy{AllowHTTP: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("LICENSOR_WEBHOOK_ALLOW_PRIVATE", "false") // whatever the machine has
			t.Setenv("LICENSOR_WEBHOOK_ALLOW_HTTP", "false")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var cli CLI
			p, err := kong.New(&cli, kong.Name("licensor"), kong.Exit(func(int) { t.Fatal("kong exited") }))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Parse(append([]string{"serve"}, tc.args...)); err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := cli.Serve.WebhookPolicy(); got != tc.want {
				t.Fatalf("policy: got %+v, want %+v", got, tc.want)
			}
		})
	}
}
