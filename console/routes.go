package console

import "net/http"

// routes registers the vendor console's pages. Every path that names an
// object carries its id only: the tenant is the session's, so editing an
// id in a URL reaches at most another object of the same tenant, and the
// service answers not_found for anyone else's.
func (c *Console) routes() {
	c.mux.HandleFunc("GET /console/signin", c.signinForm)
	c.mux.HandleFunc("POST /console/signin", c.signin)
	c.mux.HandleFunc("GET /console/oidc/login", c.oidcLogin)
	c.mux.HandleFunc("GET /console/oidc/callback", c.oidcCallback)
	c.handle("POST /console/signout", c.signout)
	c.handle("POST /console/tenant", c.pickTenant)

	c.handle("GET /console/{$}", c.dashboard)
	c.handle("GET /console/customers", c.customers)
	c.handle("POST /console/customers", c.createCustomer)
	c.handle("GET /console/products", c.products)
	c.handle("POST /console/products", c.createProduct)
	c.handle("GET /console/customers/{id}", c.customer)
	c.handle("POST /console/customers/{id}", c.updateCustomer)
	c.handle("POST /console/customers/{id}/delete", c.deleteCustomer)
	c.handle("POST /console/customers/{id}/portal-links", c.createPortalLink)
	c.handle("POST /console/portal-links/{id}/revoke", c.revokePortalLink)
	c.handle("POST /console/products/{id}/features", c.createFeature)
	c.handle("POST /console/products/{id}", c.renameProduct)
	c.handle("POST /console/products/{id}/delete", c.deleteProduct)
	c.handle("POST /console/features/{id}", c.updateFeature)
	c.handle("POST /console/features/{id}/delete", c.deleteFeature)
	c.handle("POST /console/contracts/{id}/metadata", c.contractMetadata)

	c.handle("GET /console/contracts", c.contracts)
	c.handle("POST /console/contracts", c.createContract)
	c.handle("GET /console/contracts/{id}", c.contract)
	c.handle("POST /console/contracts/{id}/features", c.changeFeatures)
	c.handle("POST /console/contracts/{id}/extend", c.extendContract)
	c.handle("POST /console/contracts/{id}/status", c.contractStatus)
	c.handle("POST /console/contracts/{id}/end", c.endContract)
	c.handle("POST /console/contracts/{id}/tokens", c.createContractToken)

	c.handle("GET /console/instances", c.instances)
	c.handle("POST /console/instances/release", c.releaseSeat)
	c.handle("GET /console/pools", c.pools)
	c.handle("GET /console/pools/{id}", c.pool)
	c.handle("POST /console/leases/{id}/release", c.releaseLease)

	c.handle("GET /console/alerts", c.alerts)
	c.handle("GET /console/webhooks", c.webhooks)
	c.handle("POST /console/webhooks", c.createWebhook)
	c.handle("GET /console/webhooks/{id}", c.webhook)
	c.handle("POST /console/webhooks/{id}/state", c.webhookState)
	c.handle("POST /console/webhooks/{id}/test", c.webhookTest)
	c.handle("POST /console/deliveries/{id}/redeliver", c.redeliver)
	c.handle("GET /console/audit", c.audit)
	c.handle("GET /console/telemetry", c.telemetry)
	c.handle("GET /console/keys", c.keys)
	c.handle("POST /console/keys/rotate", c.rotateKey)
	c.handle("GET /console/tokens", c.tokens)
	c.handle("POST /console/tokens", c.createToken)
	c.handle("POST /console/tokens/{id}/revoke", c.revokeToken)
	c.mux.HandleFunc("GET /console/", func(w http.ResponseWriter, _ *http.Request) {
		c.pages.renderError(w, http.StatusNotFound, "no such page")
	})
}
