// Package notify tells a vendor what is about to go wrong: a Scanner raises
// and clears alert episodes (licenses expiring, contracts ending, instances
// gone silent, pools at their limit) from what the store holds, and a
// Dispatcher delivers the resulting events to the tenants' webhooks, signed
// the Standard Webhooks way, retrying with back-off for more than a day.
//
// All state lives in the store, so a restart loses nothing and several
// servers on one database share the work: the scanner runs under a job lock,
// and each delivery attempt is claimed by one worker. Nothing here runs on
// a request path: a slow or dead endpoint never slows the API. It must
// never call time.Now where expiry is decided: the clock is injected.
//
// Requests leave only through an Egress, which refuses the server's own
// network (loopback, private, link-local and metadata addresses) on the
// address it is about to connect to; a delivery records what kind of
// failure it met, never the address or the raw error.
package notify
