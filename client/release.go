package client

import "time"

// Permits reports whether a release published at releaseDate may run: with
// a valid license, any release, unless the license is a perpetual-fallback
// one (the subscription ended), which licenses only releases published on
// or before its fallback_cutoff. Decided offline from the signed claims.
func (c *Client) Permits(releaseDate time.Time) bool {
	cl := c.validLicense()
	return cl != nil && cl.Permits(releaseDate)
}

// PermitsVersion is Permits for a version named in releases (version →
// publication date), the table a product ships with. Under a fallback
// license a version missing from the table is not permitted: its date
// cannot be shown to be before the cutoff.
func (c *Client) PermitsVersion(version string, releases map[string]time.Time) bool {
	cl := c.validLicense()
	if cl == nil {
		return false
	}
	if !cl.IsFallback() {
		return true
	}
	date, ok := releases[version]
	return ok && cl.Permits(date)
}
