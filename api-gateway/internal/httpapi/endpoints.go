package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// endpointFields are the body fields POST and PUT .../endpoints share.
// target_url is Convoy's name for url, as its endpoints answer it.
type endpointFields struct {
	URL               *string   `json:"url"`
	TargetURL         *string   `json:"target_url"`
	Description       *string   `json:"description"`
	Events            *[]string `json:"events"`
	HTTPTimeout       *string   `json:"http_timeout"`
	RateLimit         *int32    `json:"rate_limit"`
	RateLimitDuration *string   `json:"rate_limit_duration"`
	// Filter is kept as sent; ingest validates it. Absent leaves it, null
	// removes it.
	Filter json.RawMessage `json:"filter"`
	// Ordered delivers one at a time in acceptance order.
	Ordered *bool `json:"ordered"`
	// Authentication is absent to leave it, null to remove it.
	Authentication authenticationField `json:"authentication"`
	// Signature overrides the group's signature settings; fields left out
	// take the group's. In an update null goes back to the group's.
	Signature signatureField `json:"signature"`
	// ForwardTraceContext false stops sending the producer's traceparent
	// and tracestate on attempts; absent keeps the current setting (true
	// for a new endpoint).
	ForwardTraceContext *bool `json:"forward_trace_context"`
	// CustomHeaders are sent on every attempt; absent leaves them, {}
	// removes them.
	CustomHeaders *map[string]string `json:"custom_headers"`
}

// signatureInput is an endpoint's signature override as sent.
type signatureInput struct {
	Header  string   `json:"header"`
	Hash    string   `json:"hash"`
	Format  string   `json:"format"`
	Formats []string `json:"formats"`
}

// signatureField tells an absent signature from a null one, as
// authenticationField does.
type signatureField struct {
	signatureInput
	present, null bool
}

func (f *signatureField) UnmarshalJSON(b []byte) (err error) {
	f.present = true
	f.null, err = decodeNullable(b, &f.signatureInput)
	return err
}

func (f *signatureField) proto() *ingestv1.SignatureConfig {
	if !f.present || f.null {
		return nil
	}
	s := f.signatureInput
	return &ingestv1.SignatureConfig{Header: s.Header, Hash: s.Hash, Format: s.Format, Formats: s.Formats}
}

// url resolves url and its alias target_url.
func (f *endpointFields) url() (*string, error) {
	switch {
	case f.TargetURL == nil:
		return f.URL, nil
	case f.URL != nil && *f.URL != *f.TargetURL:
		return nil, badRequest("url and target_url differ; give one")
	}
	return f.TargetURL, nil
}

// endpointCreateInput is the body of POST .../endpoints.
type endpointCreateInput struct {
	endpointFields
	Secret *string `json:"secret"`
}

// endpointUpdateInput is the body of PUT .../endpoints/{id}. The secret
// changes through expire_secret, which keeps the old one signing for a
// while; status re-enables or disables the endpoint.
type endpointUpdateInput struct {
	endpointFields
	Status *string `json:"status"`
}

type expireSecretInput struct {
	Secret     string `json:"secret"`
	Expiration int64  `json:"expiration"`
}

type testEventInput struct {
	EventType string          `json:"event_type"`
	Data      json.RawMessage `json:"data"`
}

// testEventSent is the answer to sending a test event.
type testEventSent struct {
	EventID    string `json:"event_id"`
	DeliveryID string `json:"delivery_id"`
}

type endpointView struct {
	UID               string               `json:"uid"`
	GroupID           string               `json:"group_id"`
	AppID             string               `json:"app_id"`
	URL               string               `json:"url"`
	Description       string               `json:"description"`
	Secret            string               `json:"secret"`
	Secrets           []endpointSecretView `json:"secrets"`
	Events            []string             `json:"events"`
	HTTPTimeout       string               `json:"http_timeout"`
	RateLimit         int32                `json:"rate_limit"`
	RateLimitDuration string               `json:"rate_limit_duration"`
	Status            string               `json:"status"`
	CreatedAt         *string              `json:"created_at"`
	UpdatedAt         *string              `json:"updated_at"`
	// Circuit is null when ingest could not read the endpoint's health.
	Circuit *circuitView `json:"circuit"`
	// Filter is null when the endpoint has none.
	Filter              json.RawMessage   `json:"filter"`
	Ordered             bool              `json:"ordered"`
	ForwardTraceContext bool              `json:"forward_trace_context"`
	CustomHeaders       map[string]string `json:"custom_headers"`
	// Authentication is null when the endpoint has none; its credentials
	// are redacted.
	Authentication *authenticationBody `json:"authentication"`
	// Signature is null when the endpoint uses its group's settings.
	Signature *signatureView `json:"signature"`
	// Verification is null when the group asked for no ownership handshake.
	Verification *verificationView `json:"verification"`
}

type verificationView struct {
	Verified      bool    `json:"verified"`
	VerifiedAt    *string `json:"verified_at"`
	LastAttemptAt *string `json:"last_attempt_at"`
	LastError     string  `json:"last_error"`
	Attempts      int32   `json:"attempts"`
}

func verificationOut(v *ingestv1.EndpointVerification) *verificationView {
	if v == nil {
		return nil
	}
	return &verificationView{
		Verified: v.GetVerified(), VerifiedAt: timeOut(v.GetVerifiedAt()), LastAttemptAt: timeOut(v.GetLastAttemptAt()),
		LastError: v.GetLastError(), Attempts: v.GetAttempts(),
	}
}

type endpointSecretView struct {
	Value     string  `json:"value"`
	CreatedAt *string `json:"created_at"`
	ExpiresAt *string `json:"expires_at,omitempty"`
}

func endpointOut(e *ingestv1.Endpoint) endpointView {
	return endpointView{
		UID:         e.GetUid(),
		GroupID:     e.GetGroupId(),
		AppID:       e.GetAppId(),
		URL:         e.GetUrl(),
		Description: e.GetDescription(),
		Secret:      e.GetSecret(),
		Secrets: mapSlice(e.GetSecrets(), func(s *ingestv1.EndpointSecret) endpointSecretView {
			return endpointSecretView{Value: s.GetValue(), CreatedAt: timeOut(s.GetCreatedAt()), ExpiresAt: timeOut(s.GetExpiresAt())}
		}),
		Events:              append([]string{}, e.GetEvents()...),
		HTTPTimeout:         e.GetHttpTimeout(),
		RateLimit:           e.GetRateLimit(),
		RateLimitDuration:   e.GetRateLimitDuration(),
		Status:              e.GetStatus(),
		CreatedAt:           timeOut(e.GetCreatedAt()),
		UpdatedAt:           timeOut(e.GetUpdatedAt()),
		Circuit:             circuitOut(e.GetCircuit()),
		Filter:              rawOrNull(e.GetFilter()),
		Ordered:             e.GetOrdered(),
		Authentication:      authenticationOut(e.GetAuthentication()),
		Signature:           signatureOrNull(e.GetSignature()),
		Verification:        verificationOut(e.GetVerification()),
		ForwardTraceContext: e.GetForwardTraceContext(),
		CustomHeaders:       mapOrEmpty(e.GetCustomHeaders()),
	}
}

func signatureOrNull(s *ingestv1.SignatureConfig) *signatureView {
	if s == nil {
		return nil
	}
	v := signatureOut(s)
	return &v
}

// mapOrEmpty answers {} rather than null for no entries.
func mapOrEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func (a *API) createEndpoint(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[endpointCreateInput](r)
	url, err := in.url()
	if err != nil {
		return nil, err
	}
	e, err := a.ingest.CreateEndpoint(ctx, &ingestv1.CreateEndpointRequest{
		GroupId:             r.PathValue("group_id"),
		AppId:               r.PathValue("app_id"),
		Url:                 deref(url),
		Description:         deref(in.Description),
		Secret:              deref(in.Secret),
		Events:              deref(in.Events),
		HttpTimeout:         deref(in.HTTPTimeout),
		RateLimit:           deref(in.RateLimit),
		RateLimitDuration:   deref(in.RateLimitDuration),
		Filter:              in.Filter,
		Ordered:             deref(in.Ordered),
		Authentication:      in.Authentication.proto(),
		Signature:           in.Signature.proto(),
		ForwardTraceContext: in.ForwardTraceContext,
		CustomHeaders:       deref(in.CustomHeaders),
	})
	if err != nil {
		return nil, err
	}
	return endpointOut(e), nil
}

func (a *API) listEndpoints(ctx context.Context, r *http.Request) (any, error) {
	p, err := pageOnly(r)
	if err != nil {
		return nil, err
	}
	res, err := a.ingest.ListEndpoints(ctx, &ingestv1.ListEndpointsRequest{
		GroupId: r.PathValue("group_id"),
		AppId:   r.PathValue("app_id"),
		Page:    p,
	})
	if err != nil {
		return nil, err
	}
	return page[endpointView]{Content: mapSlice(res.GetEndpoints(), endpointOut), Pagination: paginationOf(res.GetPage(), p)}, nil
}

func (a *API) getEndpoint(ctx context.Context, r *http.Request) (any, error) {
	e, err := a.ingest.GetEndpoint(ctx, &ingestv1.GetEndpointRequest{
		GroupId:    r.PathValue("group_id"),
		AppId:      r.PathValue("app_id"),
		EndpointId: r.PathValue("endpoint_id"),
	})
	if err != nil {
		return nil, err
	}
	return endpointOut(e), nil
}

func (a *API) updateEndpoint(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[endpointUpdateInput](r)
	url, err := in.url()
	if err != nil {
		return nil, err
	}
	e, err := a.ingest.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{
		GroupId:             r.PathValue("group_id"),
		AppId:               r.PathValue("app_id"),
		EndpointId:          r.PathValue("endpoint_id"),
		Url:                 url,
		Description:         in.Description,
		SetEvents:           in.Events != nil,
		Events:              deref(in.Events),
		HttpTimeout:         in.HTTPTimeout,
		RateLimit:           in.RateLimit,
		RateLimitDuration:   in.RateLimitDuration,
		Status:              in.Status,
		Filter:              in.Filter,
		Ordered:             in.Ordered,
		Authentication:      in.Authentication.proto(),
		Signature:           in.Signature.proto(),
		RemoveSignature:     in.Signature.null,
		ForwardTraceContext: in.ForwardTraceContext,
		SetCustomHeaders:    in.CustomHeaders != nil,
		CustomHeaders:       deref(in.CustomHeaders),
	})
	if err != nil {
		return nil, err
	}
	return endpointOut(e), nil
}

type publicKeyView struct {
	EndpointID string `json:"endpoint_id"`
	PublicKey  string `json:"public_key"`
}

func (a *API) getEndpointPublicKey(ctx context.Context, r *http.Request) (any, error) {
	k, err := a.ingest.GetEndpointPublicKey(ctx, &ingestv1.GetEndpointPublicKeyRequest{
		GroupId:    r.PathValue("group_id"),
		AppId:      r.PathValue("app_id"),
		EndpointId: r.PathValue("endpoint_id"),
	})
	if err != nil {
		return nil, err
	}
	return publicKeyView{EndpointID: k.GetEndpointId(), PublicKey: k.GetPublicKey()}, nil
}

func (a *API) deleteEndpoint(ctx context.Context, r *http.Request) (any, error) {
	_, err := a.ingest.DeleteEndpoint(ctx, &ingestv1.DeleteEndpointRequest{
		GroupId:    r.PathValue("group_id"),
		AppId:      r.PathValue("app_id"),
		EndpointId: r.PathValue("endpoint_id"),
	})
	return nil, err
}

func (a *API) expireSecret(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[expireSecretInput](r)
	e, err := a.ingest.ExpireSecret(ctx, &ingestv1.ExpireSecretRequest{
		GroupId:    r.PathValue("group_id"),
		AppId:      r.PathValue("app_id"),
		EndpointId: r.PathValue("endpoint_id"),
		Secret:     in.Secret,
		Expiration: in.Expiration,
	})
	if err != nil {
		return nil, err
	}
	return endpointOut(e), nil
}

func (a *API) sendTestEvent(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[testEventInput](r)
	res, err := a.ingest.SendTestEvent(ctx, &ingestv1.SendTestEventRequest{
		GroupId:    r.PathValue("group_id"),
		AppId:      r.PathValue("app_id"),
		EndpointId: r.PathValue("endpoint_id"),
		EventType:  in.EventType,
		Data:       []byte(in.Data),
	})
	if err != nil {
		return nil, err
	}
	return testEventSent{EventID: res.GetEvent().GetUid(), DeliveryID: res.GetDeliveryId()}, nil
}
