package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/licensor/licensor"
	"github.com/licensor/licensor/service"
)

type alertsView struct {
	Alerts  []*licensor.Alert
	Cleared bool
}

func (c *Console) alerts(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	v := alertsView{Cleared: r.URL.Query().Get("cleared") == "1"}
	var err error
	if v.Alerts, err = c.svc.ListAlerts(ctx, tenant, licensor.AlertFilter{IncludeCleared: v.Cleared, ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}}); err != nil {
		return err
	}
	return c.render(w, r, s, "alerts", "Alerts", "alerts", v)
}

type webhooksView struct {
	Webhooks []*licensor.Webhook
	Types    []licensor.AlertType
}

func (c *Console) webhooks(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	hs, err := c.svc.ListWebhooks(ctx, tenant)
	if err != nil {
		return err
	}
	return c.render(w, r, s, "webhooks", "Webhooks", "webhooks", webhooksView{Webhooks: hs, Types: licensor.AlertTypes})
}

func (c *Console) createWebhook(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	var types []licensor.AlertType
	for _, t := range r.PostForm["events"] {
		types = append(types, licensor.AlertType(t))
	}
	h, secret, err := c.svc.CreateWebhook(ctx, tenant, licensor.Webhook{URL: strings.TrimSpace(r.PostForm.Get("url")), EventTypes: types})
	if err != nil {
		return err
	}
	s.addFlash("secret", secret)
	return redirect(w, r, s, "/console/webhooks/"+h.ID, "Webhook created: copy its signing secret now, it is not shown again.")
}

type webhookView struct {
	H          *licensor.Webhook
	Deliveries []*licensor.Delivery
}

func (c *Console) webhook(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	id := r.PathValue("id")
	hs, err := c.svc.ListWebhooks(ctx, tenant)
	if err != nil {
		return err
	}
	v := webhookView{}
	for _, h := range hs {
		if h.ID == id {
			v.H = h
		}
	}
	if v.H == nil {
		return licensor.Errorf(licensor.ENOTFOUND, "webhook %s not found", id)
	}
	if v.Deliveries, err = c.svc.ListDeliveries(ctx, tenant, licensor.DeliveryFilter{WebhookID: id, ListOptions: licensor.ListOptions{Limit: 200}}); err != nil {
		return err
	}
	return c.render(w, r, s, "webhook", "Webhook "+id, "webhooks", v)
}

// webhookState pauses or resumes a webhook.
func (c *Console) webhookState(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	paused := r.PostForm.Get("paused") == "1"
	h, err := c.svc.UpdateWebhook(ctx, tenant, r.PathValue("id"), &paused)
	if err != nil {
		return err
	}
	msg := "Webhook resumed."
	if paused {
		msg = "Webhook paused."
	}
	return redirect(w, r, s, "/console/webhooks/"+h.ID, msg)
}

// webhookTest queues a webhook.test event to the webhook.
func (c *Console) webhookTest(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	d, err := c.svc.SendWebhookTestEvent(ctx, tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/console/webhooks/"+d.WebhookID, "Test event queued as delivery "+d.ID+".")
}

func (c *Console) redeliver(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	d, err := c.svc.Redeliver(ctx, tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/console/webhooks/"+d.WebhookID, "Delivery "+d.ID+" scheduled again.")
}

type auditView struct {
	Entries []*licensor.AuditEntry
	F       map[string]string
	Next    string
}

const auditPage = 100

// audit lists the audit log, newest first, filtered by object, token and
// day range (UTC).
func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	q := r.URL.Query()
	v := auditView{F: map[string]string{}}
	for _, k := range []string{"object_type", "object_id", "token", "since", "until"} {
		v.F[k] = strings.TrimSpace(q.Get(k))
	}
	f := licensor.AuditFilter{ObjectType: v.F["object_type"], ObjectID: v.F["object_id"], TokenID: v.F["token"],
		ListOptions: licensor.ListOptions{Limit: auditPage, After: q.Get("after")}}
	for _, d := range []struct {
		k   string
		t   *time.Time
		add time.Duration
	}{{"since", &f.Since, 0}, {"until", &f.Until, 24 * time.Hour}} {
		if v.F[d.k] == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", v.F[d.k])
		if err != nil {
			return licensor.Errorf(licensor.EINVALID, "%s %q: give a date as yyyy-mm-dd (UTC)", d.k, v.F[d.k])
		}
		*d.t = t.Add(d.add)
	}
	var err error
	if v.Entries, err = c.svc.ListAudit(ctx, tenant, f); err != nil {
		return err
	}
	if len(v.Entries) == auditPage {
		v.Next = v.Entries[len(v.Entries)-1].ID
	}
	return c.render(w, r, s, "audit", "Audit log", "audit", v)
}

func (c *Console) keys(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	ks, err := c.svc.ListSigningKeys(ctx, tenant)
	if err != nil {
		return err
	}
	return c.render(w, r, s, "keys", "Signing keys", "keys", ks)
}

func (c *Console) rotateKey(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	// The default activation delay: the new key is published first, so
	// products that fetch the key set learn it before it signs.
	k, err := c.svc.RotateSigningKey(ctx, tenant, service.RotateOptions{})
	if err != nil {
		return err
	}
	return redirect(w, r, s, "/console/keys", "Key rotated: "+k.ID+" is published now and signs from "+k.ActivateAt.UTC().Format("2006-01-02 15:04 UTC")+".")
}

func (c *Console) tokens(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	ts, err := c.svc.ListTokens(ctx, tenant, licensor.TokenFilter{IncludeRevoked: r.URL.Query().Get("revoked") == "1", ListOptions: licensor.ListOptions{Limit: licensor.MaxListLimit}})
	if err != nil {
		return err
	}
	return c.render(w, r, s, "tokens", "Tokens", "tokens", ts)
}

func (c *Console) createToken(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	t, secret, err := c.svc.CreateToken(ctx, tenant, licensor.Token{Role: licensor.Role(r.PostForm.Get("role")),
		ContractID: strings.TrimSpace(r.PostForm.Get("contract")), Name: strings.TrimSpace(r.PostForm.Get("name"))})
	if err != nil {
		return err
	}
	s.addFlash("secret", secret)
	return redirect(w, r, s, "/console/tokens", "Token "+t.ID+" created: copy its secret now, it is not shown again.")
}

// revokeToken revokes a token and ends the console sessions signed in
// with it at once.
func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, tenant := tenantCtx(r, s)
	t, err := c.svc.RevokeToken(ctx, tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	c.RevokeSessions(t.ID)
	if t.ID == s.actor.TokenID {
		clearCookie(w, consoleCookie)
		http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
		return nil
	}
	return redirect(w, r, s, "/console/tokens", "Token "+t.ID+" revoked.")
}
