package grpcapi

import (
	"context"
	"strings"
	"time"

	"convoy/core/ids"
	"convoy/core/metaevent"
	"convoy/core/model"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Bounds of endpoint settings.
const (
	minTimeout, maxTimeout = time.Second, 5 * time.Minute
	minWindow, maxWindow   = time.Second, 24 * time.Hour
	maxSecretExpiration    = 30 * 24 * 3600 // seconds
)

// healthReadTimeout bounds the reads of the endpoint health bucket one call
// makes: a slow NATS must not hold an endpoint answer.
const healthReadTimeout = 2 * time.Second

// endpointOut converts an endpoint with its circuit. The circuit is shown,
// never needed: when the health cannot be read the endpoint is answered
// without it (null) rather than failing the call.
func (s *Server) endpointOut(ctx context.Context, e *model.Endpoint) *ingestv1.Endpoint {
	ctx, cancel := context.WithTimeout(ctx, healthReadTimeout)
	defer cancel()
	h, err := s.health.get(ctx, e.UID)
	if err != nil {
		s.log.Warn("read endpoint health", zap.String("endpoint_id", e.UID), zap.Error(err))
		out := endpointPB(e, h)
		out.Circuit = nil
		return out
	}
	return endpointPB(e, h)
}

// CreateEndpoint adds an endpoint to an application. Without a secret it
// takes the application's, or a generated one.
func (s *Server) CreateEndpoint(ctx context.Context, req *ingestv1.CreateEndpointRequest) (*ingestv1.Endpoint, error) {
	g, err := s.group(ctx, &req.GroupId)
	if err != nil {
		return nil, err
	}
	if err := s.inApp(ctx, req.AppId, "application"); err != nil {
		return nil, err
	}
	a, err := s.store.GetApplication(ctx, req.GroupId, req.AppId)
	if err != nil {
		return nil, s.toStatus(ctx, "application", err)
	}
	e := &model.Endpoint{UID: ids.New(), GroupID: g.UID, AppID: a.UID, Status: model.EndpointActive}
	if err := setEndpoint(e, req); err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	if req.Signature != nil {
		if e.Signature, err = signatureOverride(req.Signature, g.Config.Signature); err != nil {
			return nil, s.toStatus(ctx, "endpoint", err)
		}
	}
	if err := ensureSigningKey(e); err != nil {
		return nil, err
	}
	if g.Config.VerifyEndpoints {
		// The work item goes first: an endpoint stored without one would
		// stay pending for good, while an item without its endpoint is
		// dropped by the verifier.
		e.Status, e.Verification = model.EndpointPending, &model.EndpointVerification{}
		if err := s.store.PutVerification(ctx, &model.PendingVerification{EndpointID: e.UID, GroupID: g.UID, CreatedAt: now(), NextAttemptAt: now()}); err != nil {
			return nil, s.toStatus(ctx, "endpoint", err)
		}
	}
	secret := firstNonEmpty(req.Secret, a.Secret, newSecret(e.SignatureOf(g).FormatList()...))
	if err := validateSecret("secret", secret); err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	at := now()
	e.Secrets = []model.Secret{{Value: secret, CreatedAt: at}}
	e.CreatedAt, e.UpdatedAt = at, at
	if err := s.store.CreateEndpoint(ctx, e); err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	s.audit(ctx, e.GroupID, "create", "endpoint", e.UID, "", auditDocument(e))
	s.endpoints.Forget(a.UID)
	s.routesChanged(ctx, g.UID)
	return s.endpointOut(ctx, e), nil
}

// ListEndpoints lists an application's endpoints, newest first.
func (s *Server) ListEndpoints(ctx context.Context, req *ingestv1.ListEndpointsRequest) (*ingestv1.ListEndpointsResponse, error) {
	if _, err := s.app(ctx, &req.GroupId, req.AppId); err != nil {
		return nil, err
	}
	p, err := page(req.Page)
	if err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	eps, info, err := s.store.ListEndpoints(ctx, req.GroupId, req.AppId, p)
	if err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	out := &ingestv1.ListEndpointsResponse{Page: pageInfo(p, info)}
	hctx, cancel := context.WithTimeout(ctx, healthReadTimeout)
	defer cancel()
	for i := range eps {
		out.Endpoints = append(out.Endpoints, s.endpointOut(hctx, &eps[i]))
	}
	return out, nil
}

// GetEndpoint returns one endpoint.
func (s *Server) GetEndpoint(ctx context.Context, req *ingestv1.GetEndpointRequest) (*ingestv1.Endpoint, error) {
	e, err := s.endpoint(ctx, &req.GroupId, req.AppId, req.EndpointId)
	if err != nil {
		return nil, err
	}
	return s.endpointOut(ctx, e), nil
}

// UpdateEndpoint changes the fields that are set. Setting status "active" on
// an inactive endpoint makes it pending and replays its Discarded deliveries;
// the dispatcher makes it active again at the first success.
func (s *Server) UpdateEndpoint(ctx context.Context, req *ingestv1.UpdateEndpointRequest) (*ingestv1.Endpoint, error) {
	e, err := s.endpoint(ctx, &req.GroupId, req.AppId, req.EndpointId)
	if err != nil {
		return nil, err
	}
	before := auditDocument(e)
	if err := updateEndpoint(e, req); err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	switch {
	case req.RemoveSignature && req.Signature != nil:
		return nil, status.Error(codes.InvalidArgument, "signature and remove_signature are exclusive")
	case req.RemoveSignature:
		e.Signature = nil
	case req.Signature != nil:
		base := model.Signature{}
		if e.Signature != nil {
			base = *e.Signature
		} else {
			g, err := s.store.GetGroup(ctx, e.GroupID)
			if err != nil {
				return nil, s.toStatus(ctx, "group", err)
			}
			base = g.Config.Signature
		}
		if e.Signature, err = signatureOverride(req.Signature, base); err != nil {
			return nil, s.toStatus(ctx, "endpoint", err)
		}
	}
	if err := ensureSigningKey(e); err != nil {
		return nil, err
	}
	reenabled, disabled := false, false
	if req.Status != nil {
		switch *req.Status {
		case model.EndpointActive:
			if e.Unverified() {
				return nil, status.Error(codes.FailedPrecondition, "the endpoint stays pending until its ownership is verified")
			}
			if e.Status == model.EndpointInactive {
				e.Status, reenabled = model.EndpointPending, true
			}
		case model.EndpointInactive:
			disabled = e.Status != model.EndpointInactive
			e.Status = model.EndpointInactive
		default:
			return nil, status.Error(codes.InvalidArgument, "status must be active or inactive")
		}
	}
	e.UpdatedAt = now()
	if err := s.store.ReplaceEndpoint(ctx, e); err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	s.endpoints.Forget(e.AppID)
	s.routesChanged(ctx, e.GroupID)
	s.audit(ctx, e.GroupID, "update", "endpoint", e.UID, before, auditDocument(e))
	switch {
	case disabled:
		s.emitEndpoint(ctx, metaevent.EndpointDisabled, e)
	case reenabled:
		s.emitEndpoint(ctx, metaevent.EndpointEnabled, e)
	}
	if reenabled {
		// The replay outlives this call: it may be long, and a caller that
		// gives up must not stop it halfway.
		go s.replayDiscarded(context.WithoutCancel(ctx), e.GroupID, e.UID)
	}
	return s.endpointOut(ctx, e), nil
}

// DeleteEndpoint deletes an endpoint. Its queued deliveries are discarded
// when their turn comes.
func (s *Server) DeleteEndpoint(ctx context.Context, req *ingestv1.DeleteEndpointRequest) (*ingestv1.DeleteEndpointResponse, error) {
	e, err := s.endpoint(ctx, &req.GroupId, req.AppId, req.EndpointId)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteEndpoint(ctx, req.GroupId, req.AppId, req.EndpointId); err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	s.audit(ctx, e.GroupID, "delete", "endpoint", e.UID, auditDocument(e), "")
	s.endpoints.Forget(req.AppId)
	s.routesChanged(ctx, req.GroupId)
	return &ingestv1.DeleteEndpointResponse{}, nil
}

// ExpireSecret rotates an endpoint's secret: the new one signs from now on,
// the current one keeps signing for `expiration` seconds, so receivers can
// switch without losing a delivery. Secrets already expired are dropped.
func (s *Server) ExpireSecret(ctx context.Context, req *ingestv1.ExpireSecretRequest) (*ingestv1.Endpoint, error) {
	g, err := s.group(ctx, &req.GroupId)
	if err != nil {
		return nil, err
	}
	if err := s.inApp(ctx, req.AppId, "endpoint"); err != nil {
		return nil, err
	}
	e, err := s.store.GetEndpoint(ctx, req.GroupId, req.AppId, req.EndpointId)
	if err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	if req.Expiration < 0 || req.Expiration > maxSecretExpiration {
		return nil, s.toStatus(ctx, "endpoint", invalidf("expiration must be between 0 and %d seconds", maxSecretExpiration))
	}
	secret := firstNonEmpty(req.Secret, newSecret(e.SignatureOf(g).FormatList()...))
	if err := validateSecret("secret", secret); err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	at := now()
	expires := at.Add(time.Duration(req.Expiration) * time.Second)
	kept := []model.Secret{{Value: secret, CreatedAt: at}}
	for _, old := range e.ValidSecrets(at) {
		if old.ExpiresAt == nil || old.ExpiresAt.After(expires) {
			old.ExpiresAt = &expires
		}
		kept = append(kept, old)
	}
	before := auditDocument(e)
	e.Secrets, e.UpdatedAt = kept, at
	if err := s.store.ReplaceEndpoint(ctx, e); err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	s.audit(ctx, e.GroupID, "rotate_secret", "endpoint", e.UID, before, auditDocument(e))
	s.endpoints.Forget(e.AppID)
	s.routesChanged(ctx, e.GroupID)
	return s.endpointOut(ctx, e), nil
}

// emitEndpoint sends a meta event about a change a user made. The change is
// made whatever happens to the notice, so a failure to queue it is logged,
// not answered.
func (s *Server) emitEndpoint(ctx context.Context, eventType string, e *model.Endpoint) {
	if err := s.meta.Emit(ctx, e.GroupID, eventType, metaevent.EndpointOf(e)); err != nil {
		s.log.Warn("meta event not sent", zap.String("event_type", eventType), zap.String("endpoint_id", e.UID), zap.Error(err))
	}
}

// endpoint authenticates a call and loads an endpoint of an application.
func (s *Server) endpoint(ctx context.Context, groupID *string, appID, id string) (*model.Endpoint, error) {
	if err := s.inGroup(ctx, groupID); err != nil {
		return nil, err
	}
	if err := s.inApp(ctx, appID, "endpoint"); err != nil {
		return nil, err
	}
	e, err := s.store.GetEndpoint(ctx, *groupID, appID, id)
	return e, s.toStatus(ctx, "endpoint", err)
}

// replayBatch bounds one read of held-back deliveries.
const replayBatch = 500

// replayDiscarded resends an endpoint's Discarded deliveries, oldest first,
// each with a fresh attempt budget.
func (s *Server) replayDiscarded(ctx context.Context, groupID, endpointID string) {
	log := s.log.With(zap.String("endpoint_id", endpointID))
	g, err := s.store.GetGroup(ctx, groupID)
	if err != nil {
		log.Error("replay not started: cannot read the group", zap.Error(err))
		return
	}
	r := s.resender(g)
	total := 0
	for {
		ds, err := s.store.DeliveriesOfEndpoint(ctx, endpointID, model.StatusDiscarded, replayBatch)
		if err != nil {
			log.Error("replay stopped: cannot read discarded deliveries", zap.Error(err), zap.Int("replayed", total))
			return
		}
		if len(ds) == 0 {
			break
		}
		for i := range ds {
			if err := r.restart(ctx, &ds[i]); err != nil {
				log.Error("replay stopped", zap.String("delivery_id", ds[i].UID), zap.Error(err), zap.Int("replayed", total))
				return
			}
			total++
		}
	}
	log.Info("replayed discarded deliveries", zap.Int("replayed", total))
}

// setEndpoint validates and applies a new endpoint's settings.
func setEndpoint(e *model.Endpoint, req *ingestv1.CreateEndpointRequest) error {
	if err := validateURL(req.Url); err != nil {
		return err
	}
	events, err := validateEvents(req.Events)
	if err != nil {
		return err
	}
	timeout, err := parseDuration("http_timeout", req.HttpTimeout, model.DefaultHTTPTimeout, minTimeout, maxTimeout)
	if err != nil {
		return err
	}
	window, err := parseDuration("rate_limit_duration", req.RateLimitDuration, model.DefaultRateLimitDuration, minWindow, maxWindow)
	if err != nil {
		return err
	}
	limit := req.RateLimit
	if limit == 0 {
		limit = model.DefaultRateLimit
	}
	if limit < 1 || limit > 1_000_000 {
		return invalidf("rate_limit must be between 1 and 1000000")
	}
	filter, err := compactFilter(req.Filter)
	if err != nil {
		return err
	}
	auth, err := authenticationIn(req.Authentication, e.Authentication)
	if err != nil {
		return err
	}
	e.Authentication = auth
	if err := validateCustomHeaders(req.CustomHeaders); err != nil {
		return err
	}
	e.CustomHeaders = nil
	if len(req.CustomHeaders) > 0 {
		e.CustomHeaders = req.CustomHeaders
	}
	e.URL, e.Description, e.Events, e.Filter = req.Url, strings.TrimSpace(req.Description), events, filter
	e.HTTPTimeout, e.RateLimit, e.RateLimitDuration = timeout, limit, window
	e.Ordered = req.Ordered
	e.NoTraceContext = req.ForwardTraceContext != nil && !*req.ForwardTraceContext
	return nil
}

// updateEndpoint validates and applies the settings an update sets; the
// status is handled by the caller.
func updateEndpoint(e *model.Endpoint, req *ingestv1.UpdateEndpointRequest) error {
	create := &ingestv1.CreateEndpointRequest{
		Url:                 strOr(req.Url, e.URL),
		Description:         strOr(req.Description, e.Description),
		Events:              e.Events,
		HttpTimeout:         strOr(req.HttpTimeout, e.HTTPTimeout.String()),
		RateLimit:           e.RateLimit,
		RateLimitDuration:   strOr(req.RateLimitDuration, e.RateLimitDuration.String()),
		Filter:              []byte(e.Filter),
		Ordered:             e.Ordered,
		Authentication:      authenticationPB(e.Authentication),
		ForwardTraceContext: req.ForwardTraceContext,
		CustomHeaders:       e.CustomHeaders,
	}
	if req.SetCustomHeaders {
		create.CustomHeaders = req.CustomHeaders
	}
	if req.Ordered != nil {
		create.Ordered = *req.Ordered
	}
	if req.Authentication != nil {
		create.Authentication = req.Authentication
	}
	if create.ForwardTraceContext == nil {
		forward := e.ForwardsTraceContext()
		create.ForwardTraceContext = &forward
	}
	if req.Filter != nil {
		create.Filter = req.Filter
	}
	if req.SetEvents {
		create.Events = req.Events
	}
	if req.RateLimit != nil {
		create.RateLimit = *req.RateLimit
		if create.RateLimit == 0 {
			return invalidf("rate_limit must be between 1 and 1000000")
		}
	}
	return setEndpoint(e, create)
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func strOr(p *string, cur string) string {
	if p == nil {
		return cur
	}
	return strings.TrimSpace(*p)
}
