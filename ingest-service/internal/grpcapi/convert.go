package grpcapi

import (
	"strings"
	"time"

	"convoy/core/endpointhealth"
	"convoy/core/model"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/protobuf/types/known/timestamppb"
)

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tsPtr(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func groupPB(g *model.Group) *ingestv1.Group {
	c := g.Config
	cb := c.CircuitBreaker.WithDefaults()
	return &ingestv1.Group{
		Uid:  g.UID,
		Name: g.Name,
		Config: &ingestv1.GroupConfig{
			Strategy:        &ingestv1.StrategyConfig{Type: c.Strategy.Type, Duration: c.Strategy.Duration, RetryCount: c.Strategy.RetryCount},
			Signature:       signaturePB(&c.Signature),
			DisableEndpoint: c.DisableEndpoint,
			ReplayAttacks:   c.ReplayAttacks,
			RetentionPolicy: c.RetentionPolicy,
			MetaEvent: &ingestv1.MetaEventConfig{
				IsEnabled: c.MetaEvent.IsEnabled, Url: c.MetaEvent.URL, Secret: c.MetaEvent.Secret,
				EventTypes: c.MetaEvent.EventTypes,
			},
			CircuitBreaker: &ingestv1.CircuitBreakerConfig{
				FailureThreshold: cb.FailureThreshold, MinRequests: cb.MinRequests,
				Window: shortDuration(cb.Window), Cooldown: shortDuration(cb.Cooldown),
			},
			EnforceEventTypes: c.EnforceEventTypes,
			VerifyEndpoints:   c.VerifyEndpoints,
		},
		CreatedAt: ts(g.CreatedAt),
		UpdatedAt: ts(g.UpdatedAt),
	}
}

func keyPB(k *model.APIKey, plain string) *ingestv1.APIKey {
	role := k.Role
	if role == "" {
		role = model.RoleAdmin
	}
	return &ingestv1.APIKey{
		Uid: k.UID, GroupId: k.GroupID, Name: k.Name, Key: plain, CreatedAt: ts(k.CreatedAt),
		Role: role, ExpiresAt: tsPtr(k.ExpiresAt), LastUsedAt: tsPtr(k.LastUsedAt),
	}
}

func appPB(a *model.Application) *ingestv1.Application {
	return &ingestv1.Application{
		Uid: a.UID, GroupId: a.GroupID, Name: a.Name, SupportEmail: a.SupportEmail, OwnerId: a.OwnerID, IsDisabled: a.IsDisabled,
		CreatedAt: ts(a.CreatedAt), UpdatedAt: ts(a.UpdatedAt),
	}
}

// endpointPB converts an endpoint; its circuit is h's.
func endpointPB(e *model.Endpoint, h endpointhealth.State) *ingestv1.Endpoint {
	out := &ingestv1.Endpoint{
		Uid: e.UID, GroupId: e.GroupID, AppId: e.AppID, Url: e.URL, Description: e.Description,
		Events:              e.Events,
		HttpTimeout:         shortDuration(e.HTTPTimeout),
		RateLimit:           e.RateLimit,
		RateLimitDuration:   shortDuration(e.RateLimitDuration),
		Status:              e.Status,
		CreatedAt:           ts(e.CreatedAt),
		UpdatedAt:           ts(e.UpdatedAt),
		Circuit:             circuitPB(h),
		Filter:              []byte(e.Filter),
		Ordered:             e.Ordered,
		Authentication:      authenticationPB(e.Authentication),
		Signature:           signaturePB(e.Signature),
		Verification:        verificationPB(e.Verification),
		ForwardTraceContext: e.ForwardsTraceContext(),
		CustomHeaders:       e.CustomHeaders,
	}
	if len(e.Secrets) > 0 {
		out.Secret = e.Secrets[0].Value
	}
	for _, s := range e.Secrets {
		out.Secrets = append(out.Secrets, &ingestv1.EndpointSecret{Value: s.Value, CreatedAt: ts(s.CreatedAt), ExpiresAt: tsPtr(s.ExpiresAt)})
	}
	return out
}

func verificationPB(v *model.EndpointVerification) *ingestv1.EndpointVerification {
	if v == nil {
		return nil
	}
	return &ingestv1.EndpointVerification{
		Verified: v.Verified, VerifiedAt: tsPtr(v.VerifiedAt), LastAttemptAt: tsPtr(v.LastAttemptAt),
		LastError: v.LastError, Attempts: v.Attempts,
	}
}

func signaturePB(s *model.Signature) *ingestv1.SignatureConfig {
	if s == nil {
		return nil
	}
	return &ingestv1.SignatureConfig{Header: s.Header, Hash: s.Hash, Format: s.Format, Formats: s.Formats}
}

func circuitPB(h endpointhealth.State) *ingestv1.Circuit {
	return &ingestv1.Circuit{State: h.CircuitState(), FailureRate: h.FailureRate, OpenedAt: tsPtr(h.OpenedAt)}
}

func eventPB(e *model.Event) *ingestv1.Event {
	return &ingestv1.Event{
		Uid: e.UID, GroupId: e.GroupID, AppId: e.AppID, EventType: e.EventType, Data: e.Data,
		IdempotencyKey: e.IdempotencyKey, CustomHeaders: e.CustomHeaders, CreatedAt: ts(e.CreatedAt),
		MatchedEndpoints: e.MatchedEndpoints, OwnerId: e.OwnerID, Test: e.Test, EndpointId: e.EndpointID,
		TraceParent: e.TraceParent, TraceState: e.TraceState,
	}
}

func deliveryPB(d *model.Delivery) *ingestv1.Delivery {
	return &ingestv1.Delivery{
		Uid: d.UID, GroupId: d.GroupID, EventId: d.EventID, AppId: d.AppID, EndpointId: d.EndpointID,
		EventType: d.EventType, Status: d.Status, Description: d.Description,
		Metadata: &ingestv1.DeliveryMetadata{
			NumTrials:       d.Metadata.NumTrials,
			RetryLimit:      d.Metadata.RetryLimit,
			Strategy:        d.Metadata.Strategy,
			IntervalSeconds: d.Metadata.IntervalSeconds,
			NextSendTime:    tsPtr(d.Metadata.NextSendTime),
		},
		CreatedAt: ts(d.CreatedAt),
		UpdatedAt: ts(d.UpdatedAt),
	}
}

func attemptPB(deliveryID string, a *model.Attempt) *ingestv1.Attempt {
	return &ingestv1.Attempt{
		Uid: a.UID, DeliveryId: deliveryID, Url: a.URL, Method: a.Method, IpAddress: a.IPAddress,
		RequestHttpHeader: a.RequestHeader, ResponseHttpHeader: a.ResponseHeader,
		HttpStatus: a.HTTPStatus, ResponseData: a.ResponseData, ResponseTruncated: a.ResponseTruncated,
		Error: a.Error, Status: a.Status, DurationMs: a.DurationMs, CreatedAt: ts(a.CreatedAt),
	}
}

// metaEventPB converts a meta event; its attempts are there when m has them.
func metaEventPB(m *model.MetaEvent) *ingestv1.MetaEvent {
	out := &ingestv1.MetaEvent{
		Uid: m.UID, GroupId: m.GroupID, EventType: m.EventType, Status: m.Status,
		Metadata: &ingestv1.MetaEventMetadata{
			Raw:          m.Metadata.Raw,
			NumTrials:    m.Metadata.NumTrials,
			RetryLimit:   m.Metadata.RetryLimit,
			NextSendTime: tsPtr(m.Metadata.NextSendTime),
		},
		CreatedAt: ts(m.CreatedAt),
		UpdatedAt: ts(m.UpdatedAt),
	}
	for i := range m.Attempts {
		out.Attempts = append(out.Attempts, attemptPB("", &m.Attempts[i]))
	}
	return out
}

// shortDuration writes a duration as users write it: "1m", not "1m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
