package server

import (
	"context"

	"connectrpc.com/connect"

	"github.com/licensor/licensor"
	v1 "github.com/licensor/licensor/gen/licensor/v1"
)

// maxOfflineFile bounds a request or return file: either is one small
// JWS, armored.
const maxOfflineFile = 16 << 10

func offlinePB(a *licensor.OfflineActivation) *v1.OfflineActivation {
	return &v1.OfflineActivation{
		LicenseId: a.LicenseID, TenantId: a.TenantID, ContractId: a.ContractID, InstanceId: a.InstanceID,
		KeyThumbprint: a.KeyJKT, Fingerprint: a.Fingerprint, CreatedAt: ts(a.CreatedAt), ExpiresAt: ts(a.ExpiresAt),
		ReleasedAt: ts(a.ReleasedAt), Release: a.Release,
	}
}

func offlineFile(field, v string) error {
	if v == "" {
		return licensor.Errorf(licensor.EINVALID, "%s is required: the file's whole text", field)
	}
	if len(v) > maxOfflineFile {
		return licensor.Errorf(licensor.EINVALID, "%s is %d bytes; the limit is %d (is it the right file?)", field, len(v), maxOfflineFile)
	}
	return nil
}

func (h *adminHandler) RespondOfflineRequest(ctx context.Context, req *connect.Request[v1.RespondOfflineRequestRequest]) (*connect.Response[v1.RespondOfflineRequestResponse], error) {
	m := req.Msg
	if err := offlineFile("request_file", m.GetRequestFile()); err != nil {
		return nil, err
	}
	validity, err := fromDur("validity", m.GetValidity())
	if err != nil {
		return nil, err
	}
	file, is, a, err := h.svc.RespondOffline(ctx, m.GetTenantId(), m.GetRequestFile(), validity)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.RespondOfflineRequestResponse{LicenseFile: file, License: issuedPB(is), Activation: offlinePB(a)}), nil
}

func (h *adminHandler) ReturnOfflineLicense(ctx context.Context, req *connect.Request[v1.ReturnOfflineLicenseRequest]) (*connect.Response[v1.ReturnOfflineLicenseResponse], error) {
	if err := offlineFile("return_file", req.Msg.GetReturnFile()); err != nil {
		return nil, err
	}
	a, err := h.svc.ReturnOffline(ctx, req.Msg.GetTenantId(), req.Msg.GetReturnFile())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ReturnOfflineLicenseResponse{Activation: offlinePB(a)}), nil
}

func (h *adminHandler) ReleaseOfflineLicense(ctx context.Context, req *connect.Request[v1.ReleaseOfflineLicenseRequest]) (*connect.Response[v1.ReleaseOfflineLicenseResponse], error) {
	m := req.Msg
	a, err := h.svc.ReleaseOffline(ctx, m.GetTenantId(), m.GetLicenseId(), m.GetReason())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.ReleaseOfflineLicenseResponse{Activation: offlinePB(a)}), nil
}

func (h *adminHandler) GetOfflineLicense(ctx context.Context, req *connect.Request[v1.GetOfflineLicenseRequest]) (*connect.Response[v1.GetOfflineLicenseResponse], error) {
	a, err := h.svc.GetOffline(ctx, req.Msg.GetTenantId(), req.Msg.GetLicenseId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&v1.GetOfflineLicenseResponse{Activation: offlinePB(a)}), nil
}
