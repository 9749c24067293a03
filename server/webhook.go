package server

import (
	"context"

	"time"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
)

func webhookPB(w *licensor.Webhook) *v1.Webhook {
	out := &v1.Webhook{Id: w.ID, TenantId: w.TenantID, Url: w.URL, CreatedAt: ts(w.CreatedAt), Disabled: w.Disabled()}
	for _, t := range w.EventTypes {
		out.EventTypes = append(out.EventTypes, string(t))
	}
	return out
}

func deliveryPB(d *licensor.Delivery) *v1.Delivery {
	return &v1.Delivery{
		Id: d.ID, WebhookId: d.WebhookID, EventId: d.EventID, EventType: string(d.EventType), Status: string(d.Status),
		Attempts: int32(d.Attempts), LastStatusCode: int32(d.LastStatus), LastLatency: dur(d.LastLatency), LastError: d.LastError,
		NextAttemptAt: ts(pendingOnly(d)), CreatedAt: ts(d.CreatedAt), DeliveredAt: ts(d.DeliveredAt),
	}
}

// pendingOnly: a delivery that is done has no next attempt.
func pendingOnly(d *licensor.Delivery) (t time.Time) {
	if d.Status == licensor.DeliveryPending {
		return d.NextAttemptAt
	}
	return t
}

func alertPB(a *licensor.Alert) *v1.Alert {
	return &v1.Alert{Id: a.ID, TenantId: a.TenantID, Type: string(a.Type), ObjectId: a.ObjectID,
		RaisedAt: ts(a.RaisedAt), ClearedAt: ts(a.ClearedAt), Data: jsonStruct(a.Data)}
}

func (h *adminHandler) CreateWebhook(ctx context.Context, req *connect.Request[v1.CreateWebhookRequest]) (*connect.Response[v1.CreateWebhookResponse], error) {
	m := req.Msg
	w := licensor.Webhook{URL: m.GetUrl()}
	for _, t := range m.GetEventTypes() {
		w.EventTypes = append(w.EventTypes, licensor.AlertType(t))
	}
	out, secret, err := h.svc.CreateWebhook(ctx, m.GetTenantId(), w)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.CreateWebhookResponse{Webhook: webhookPB(out), Secret: secret}), nil
}

func (h *adminHandler) ListWebhooks(ctx context.Context, req *connect.Request[v1.ListWebhooksRequest]) (*connect.Response[v1.ListWebhooksResponse], error) {
	ws, err := h.svc.ListWebhooks(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	out := &v1.ListWebhooksResponse{}
	for _, w := range ws {
		out.Webhooks = append(out.Webhooks, webhookPB(w))
	}
	return connect.NewResponse(out), nil
}

func (h *adminHandler) DeleteWebhook(ctx context.Context, req *connect.Request[v1.DeleteWebhookRequest]) (*connect.Response[v1.DeleteWebhookResponse], error) {
	if err := h.svc.DeleteWebhook(ctx, req.Msg.GetTenantId(), req.Msg.GetWebhookId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.DeleteWebhookResponse{}), nil
}

func (h *adminHandler) UpdateWebhook(ctx context.Context, req *connect.Request[v1.UpdateWebhookRequest]) (*connect.Response[v1.UpdateWebhookResponse], error) {
	m := req.Msg
	w, err := h.svc.UpdateWebhook(ctx, m.GetTenantId(), m.GetWebhookId(), m.Disabled)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.UpdateWebhookResponse{Webhook: webhookPB(w)}), nil
}

func (h *adminHandler) ListDeliveries(ctx context.Context, req *connect.Request[v1.ListDeliveriesRequest]) (*connect.Response[v1.ListDeliveriesResponse], error) {
	m := req.Msg
	ds, err := h.svc.ListDeliveries(ctx, m.GetTenantId(), licensor.DeliveryFilter{
		WebhookID: m.GetWebhookId(), Status: licensor.DeliveryStatus(m.GetStatus()), ListOptions: page(m.GetPageSize(), m.GetPageToken()),
	})
	if err != nil {
		return nil, err
	}
	out := &v1.ListDeliveriesResponse{}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, deliveryPB(d))
	}
	out.NextPageToken = nextPage(len(ds), int(m.GetPageSize()), func() string { return ds[len(ds)-1].ID })
	return connect.NewResponse(out), nil
}

func (h *adminHandler) Redeliver(ctx context.Context, req *connect.Request[v1.RedeliverRequest]) (*connect.Response[v1.RedeliverResponse], error) {
	d, err := h.svc.Redeliver(ctx, req.Msg.GetTenantId(), req.Msg.GetDeliveryId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RedeliverResponse{Delivery: deliveryPB(d)}), nil
}

func (h *adminHandler) ListAlerts(ctx context.Context, req *connect.Request[v1.ListAlertsRequest]) (*connect.Response[v1.ListAlertsResponse], error) {
	m := req.Msg
	as, err := h.svc.ListAlerts(ctx, m.GetTenantId(), licensor.AlertFilter{
		IncludeCleared: m.GetIncludeCleared(), ListOptions: page(m.GetPageSize(), m.GetPageToken()),
	})
	if err != nil {
		return nil, err
	}
	out := &v1.ListAlertsResponse{}
	for _, a := range as {
		out.Alerts = append(out.Alerts, alertPB(a))
	}
	out.NextPageToken = nextPage(len(as), int(m.GetPageSize()), func() string { return as[len(as)-1].ID })
	return connect.NewResponse(out), nil
}

func (h *adminHandler) SendWebhookTestEvent(ctx context.Context, req *connect.Request[v1.SendWebhookTestEventRequest]) (*connect.Response[v1.SendWebhookTestEventResponse], error) {
	d, err := h.svc.SendWebhookTestEvent(ctx, req.Msg.GetTenantId(), req.Msg.GetWebhookId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.SendWebhookTestEventResponse{Delivery: deliveryPB(d)}), nil
}
