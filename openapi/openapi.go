// Package openapi holds the OpenAPI 3.1 descriptions of Licensor's HTTP
// APIs, embedded so that the binaries serve them at /openapi.json:
//
//   - licensor.openapi.json: the server's Connect JSON API (every RPC of
//     proto/licensor/v1 as POST /licensor.v1.<Service>/<Method>), generated
//     from the protos by protoc-gen-connect-openapi through `buf generate`
//     (buf.gen.yaml). Never edit it by hand; CI checks it is up to date.
//   - agent.json: the local API of `licensor agent` (internal/agentapi),
//     written by hand; a test keeps it and the agent's routes in step.
//
// It holds documents only, no code that serves them.
package openapi

import _ "embed"

// Server is the OpenAPI document of the server's Connect JSON API.
//
//go:embed licensor.openapi.json
var Server []byte

// Agent is the OpenAPI document of the agent's local API.
//
//go:embed agent.json
var Agent []byte
