package console

// portalRoutes registers the customer portal's pages.
func (c *Console) portalRoutes() {}
