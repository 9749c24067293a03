// Package console serves the vendor console (/console/) and the customer
// portal (/portal/) on the API's own TLS port: server-rendered pages
// (html/template), embedded assets, SVG charts drawn in Go.
//
// It calls the service exactly as the admin API does, with the signed-in
// identity as the actor, so every rule of the service (tenant scope, roles,
// audit) applies unchanged. It must never read the store directly, never
// take a tenant id from a URL (the tenant is the session's), and never
// serve a page without its security headers.
package console
