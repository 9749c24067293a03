package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
)

// WebhookCmd manages a tenant's webhook endpoints and their delivery log.
type WebhookCmd struct {
	Create     WebhookCreateCmd     `cmd:"" help:"Register an endpoint for alert events (the signing secret is shown once)."`
	List       WebhookListCmd       `cmd:"" help:"List webhooks."`
	Delete     WebhookDeleteCmd     `cmd:"" help:"Delete a webhook and its queued deliveries."`
	Disable    WebhookDisableCmd    `cmd:"" help:"Pause deliveries to a webhook (endpoint down for maintenance); its events keep queueing."`
	Enable     WebhookEnableCmd     `cmd:"" help:"Resume deliveries to a disabled webhook; what queued meanwhile goes out in order."`
	Deliveries WebhookDeliveriesCmd `cmd:"" help:"List deliveries, newest first: status, attempts, last answer."`
	Redeliver  WebhookRedeliverCmd  `cmd:"" help:"Queue a delivery again at once, with a fresh retry window (same webhook-id)."`
	Test       WebhookTestCmd       `cmd:"" help:"Send a webhook.test event to one webhook, whatever its filter; see it with deliveries."`
}

var webhookHeader = []string{"ID", "URL", "EVENTS", "STATE", "CREATED"}

func webhookRows(ws ...*v1.Webhook) (rows [][]string) {
	for _, w := range ws {
		events := "all"
		if len(w.EventTypes) > 0 {
			events = strings.Join(w.EventTypes, ",")
		}
		state := "enabled"
		if w.Disabled {
			state = "disabled"
		}
		rows = append(rows, []string{w.Id, w.Url, events, state, fmtTS(w.CreatedAt)})
	}
	return rows
}

type WebhookCreateCmd struct {
	tenantFlag
	URL   string   `arg:"" name:"url" help:"Endpoint (http:// or https://) that receives signed POSTs."`
	Event []string `help:"Event type to deliver (e.g. license.expiring, contract.ending.cleared); repeatable or comma-separated; none for all." short:"e" sep:","`
}

func (c *WebhookCreateCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.CreateWebhook(ctx, connect.NewRequest(&v1.CreateWebhookRequest{TenantId: c.TenantID, Url: c.URL, EventTypes: c.Event}))
		if err != nil {
			return err
		}
		if err := emit(g, res.Msg, webhookHeader, webhookRows(res.Msg.Webhook)); err != nil {
			return err
		}
		if g.Output != "json" {
			fmt.Fprintf(stdout, "\nsigning secret (shown once, store it now):\n%s\n", res.Msg.Secret)
		}
		return nil
	})
}

type WebhookListCmd struct{ tenantFlag }

func (c *WebhookListCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListWebhooks(ctx, connect.NewRequest(&v1.ListWebhooksRequest{TenantId: c.TenantID}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, webhookHeader, webhookRows(res.Msg.Webhooks...))
	})
}

type WebhookDeleteCmd struct {
	tenantFlag
	ID string `arg:"" help:"Webhook id (whk_...)."`
}

func (c *WebhookDeleteCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.DeleteWebhook(ctx, connect.NewRequest(&v1.DeleteWebhookRequest{TenantId: c.TenantID, WebhookId: c.ID}))
		if err != nil {
			return err
		}
		if g.Output == "json" {
			return emit(g, res.Msg, nil, nil)
		}
		_, err = fmt.Fprintf(stdout, "webhook %s deleted\n", c.ID)
		return err
	})
}

type WebhookDisableCmd struct {
	tenantFlag
	ID string `arg:"" help:"Webhook id (whk_...)."`
}

func (c *WebhookDisableCmd) Run(g *Globals) error {
	return setWebhookDisabled(g, c.TenantID, c.ID, true)
}

type WebhookEnableCmd struct {
	tenantFlag
	ID string `arg:"" help:"Webhook id (whk_...)."`
}

func (c *WebhookEnableCmd) Run(g *Globals) error {
	return setWebhookDisabled(g, c.TenantID, c.ID, false)
}

func setWebhookDisabled(g *Globals, tenantID, id string, disabled bool) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.UpdateWebhook(ctx, connect.NewRequest(&v1.UpdateWebhookRequest{TenantId: tenantID, WebhookId: id, Disabled: &disabled}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, webhookHeader, webhookRows(res.Msg.Webhook))
	})
}

var deliveryHeader = []string{"ID", "WEBHOOK", "EVENT", "TYPE", "STATUS", "ATTEMPTS", "LAST ANSWER", "NEXT ATTEMPT", "CREATED"}

func deliveryRows(ds ...*v1.Delivery) (rows [][]string) {
	for _, d := range ds {
		answer := "-"
		switch {
		case d.LastError != "":
			answer = d.LastError
		case d.LastStatusCode != 0:
			answer = strconv.Itoa(int(d.LastStatusCode))
		}
		if d.LastLatency != nil && d.Attempts > 0 {
			answer += " in " + d.LastLatency.AsDuration().Round(100*time.Microsecond).String()
		}
		rows = append(rows, []string{d.Id, d.WebhookId, d.EventId, d.EventType, d.Status, strconv.Itoa(int(d.Attempts)),
			answer, fmtTS(d.NextAttemptAt), fmtTS(d.CreatedAt)})
	}
	return rows
}

type WebhookDeliveriesCmd struct {
	tenantFlag
	pageFlags
	Webhook string `help:"Only this webhook's deliveries."`
	Status  string `help:"Only deliveries in this state: pending, succeeded or failed (given up)." enum:",pending,succeeded,failed" default:""`
}

func (c *WebhookDeliveriesCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListDeliveries(ctx, connect.NewRequest(&v1.ListDeliveriesRequest{TenantId: c.TenantID, WebhookId: c.Webhook,
			Status: c.Status, PageSize: c.PageSize, PageToken: c.PageToken}))
		if err != nil {
			return err
		}
		return emitPage(g, res.Msg, deliveryHeader, deliveryRows(res.Msg.Deliveries...), res.Msg.NextPageToken)
	})
}

type WebhookRedeliverCmd struct {
	tenantFlag
	ID string `arg:"" help:"Delivery id (dlv_...)."`
}

func (c *WebhookRedeliverCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.Redeliver(ctx, connect.NewRequest(&v1.RedeliverRequest{TenantId: c.TenantID, DeliveryId: c.ID}))
		if err != nil {
			return err
		}
		return emit(g, res.Msg, deliveryHeader, deliveryRows(res.Msg.Delivery))
	})
}

// AlertCmd shows the alert episodes the scanner raised.
type AlertCmd struct {
	List AlertListCmd `cmd:"" help:"List open alerts, newest first (--all: cleared ones too)."`
}

type AlertListCmd struct {
	tenantFlag
	pageFlags
	All bool `help:"Include cleared alerts."`
}

var alertHeader = []string{"ID", "TYPE", "OBJECT", "LEVEL", "RAISED", "CLEARED"}

func alertRows(as ...*v1.Alert) (rows [][]string) {
	for _, a := range as {
		level := a.Data.GetFields()["level"].GetStringValue()
		rows = append(rows, []string{a.Id, a.Type, a.ObjectId, orDash(level), fmtTS(a.RaisedAt), fmtTS(a.ClearedAt)})
	}
	return rows
}

func (c *AlertListCmd) Run(g *Globals) error {
	return call(g, func(ctx context.Context, cl licensorv1connect.AdminServiceClient) error {
		res, err := cl.ListAlerts(ctx, connect.NewRequest(&v1.ListAlertsRequest{TenantId: c.TenantID, IncludeCleared: c.All,
			PageSize: c.PageSize, PageToken: c.PageToken}))
		if err != nil {
			return err
		}
		return emitPage(g, res.Msg, alertHeader, alertRows(res.Msg.Alerts...), res.Msg.NextPageToken)
	})
}
