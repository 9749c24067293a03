package client

import (
	"github.com/licensor/licensor"
)

// Environment is the environment the license is for: production, staging,
// development or test. Every license the server issues names one; a static
// license file names one only if the vendor set it, and empty means
// unrestricted.
func (l *License) Environment() string { return l.Claims.Environment }

// Production reports whether the license may serve production traffic: its
// environment is production or unrestricted. A product that gets false
// should behave as the non-production build it is licensed as (refuse
// production traffic, show a banner, watermark its output).
func (l *License) Production() bool { return l.Claims.Production() }

// Production reports whether a valid license is held and it may serve
// production traffic; false without a valid license.
func (c *Client) Production() bool {
	cl := c.validLicense()
	return cl != nil && cl.Production()
}

// declaredEnvironment is the environment this instance declares with each
// check (Config.Telemetry's Environment), as the server reads it: none is
// production.
func declaredEnvironment(env string) string {
	if env == "" {
		return licensor.EnvProduction
	}
	return env
}

// warnEnvironment logs, once per distinct pair, a license whose environment
// differs from the one this instance declared: a server, proxy or license
// file that disagrees with the deployment is worth an operator's look, and
// the product still goes by the license.
func (c *Client) warnEnvironment(lic *License, declared string) {
	got := lic.Claims.Environment
	if got == "" { // unrestricted
		return
	}
	want := declaredEnvironment(declared)
	if got == want {
		return
	}
	key := want + "|" + got
	c.mu.Lock()
	seen := c.envWarned == key
	c.envWarned = key
	c.mu.Unlock()
	if !seen {
		c.log.Warn("license is for another environment than the one this instance declared",
			"declared", want, "license_environment", got, "source", string(lic.Source), "production", lic.Production())
	}
}
