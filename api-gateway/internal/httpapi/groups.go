package httpapi

import (
	"context"
	"net/http"
	"time"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// groupInput is the body of POST and PUT /groups. Pointers tell a field
// that was sent from one that was not.
type groupInput struct {
	Name   *string           `json:"name"`
	Config *groupConfigInput `json:"config"`
	// Convoy v0.5's group fields for features this service does not have
	// (a logo for its dashboard, a group-wide ingest rate limit): accepted
	// so that Convoy's clients work, not applied, listed in the README.
	LogoURL           *string `json:"logo_url"`
	RateLimit         *int32  `json:"rate_limit"`
	RateLimitDuration *string `json:"rate_limit_duration"`
}

type groupConfigInput struct {
	Strategy  *strategyInput `json:"strategy"`
	Signature *struct {
		Header  *string   `json:"header"`
		Hash    *string   `json:"hash"`
		Format  *string   `json:"format"`
		Formats *[]string `json:"formats"`
	} `json:"signature"`
	DisableEndpoint   *bool   `json:"disable_endpoint"`
	ReplayAttacks     *bool   `json:"replay_attacks"`
	RetentionPolicy   *string `json:"retention_policy"`
	EnforceEventTypes *bool   `json:"enforce_event_types"`
	VerifyEndpoints   *bool   `json:"verify_endpoints"`
	MetaEvent         *struct {
		IsEnabled  *bool     `json:"is_enabled"`
		URL        *string   `json:"url"`
		Secret     *string   `json:"secret"`
		EventTypes *[]string `json:"event_types"`
	} `json:"meta_event"`
	CircuitBreaker *struct {
		FailureThreshold *int32  `json:"failure_threshold"`
		MinRequests      *int32  `json:"min_requests"`
		Window           *string `json:"window"`
		Cooldown         *string `json:"cooldown"`
	} `json:"circuit_breaker"`
}

// strategyInput takes the retry schedule in our names (duration,
// retry_count) or in Convoy v0.5's (default.intervalSeconds,
// default.retryLimit, exponentialBackoff.retryLimit). Convoy's SDK sends
// both blocks with zeros in the one it does not use, so a Convoy value of 0
// means "not given".
type strategyInput struct {
	Type       *string `json:"type"`
	Duration   *int64  `json:"duration"`
	RetryCount *int32  `json:"retry_count"`
	Default    *struct {
		IntervalSeconds *int64 `json:"intervalSeconds"`
		RetryLimit      *int32 `json:"retryLimit"`
	} `json:"default"`
	ExponentialBackoff *struct {
		RetryLimit *int32 `json:"retryLimit"`
	} `json:"exponentialBackoff"`
}

// resolve folds Convoy's names into ours. A Convoy block that does not
// match the type given, or two names given different values, is refused
// rather than one of them dropped.
func (s *strategyInput) resolve() (typ *string, duration *int64, retryCount *int32, err error) {
	typ, duration, retryCount = s.Type, s.Duration, s.RetryCount
	given := func(p *int32) bool { return p != nil && *p != 0 }
	var interval *int64
	var defaultLimit, expLimit *int32
	if d := s.Default; d != nil {
		if d.IntervalSeconds != nil && *d.IntervalSeconds != 0 {
			interval = d.IntervalSeconds
		}
		if given(d.RetryLimit) {
			defaultLimit = d.RetryLimit
		}
	}
	if e := s.ExponentialBackoff; e != nil && given(e.RetryLimit) {
		expLimit = e.RetryLimit
	}
	t := deref(typ)
	if t == "exponential-backoff" && (interval != nil || defaultLimit != nil) {
		return nil, nil, nil, badRequest("config.strategy.default applies only when config.strategy.type is default")
	}
	if t == "default" && expLimit != nil {
		return nil, nil, nil, badRequest("config.strategy.exponentialBackoff applies only when config.strategy.type is exponential-backoff")
	}
	if interval != nil {
		if duration != nil && *duration != *interval {
			return nil, nil, nil, badRequest("config.strategy.duration and config.strategy.default.intervalSeconds differ; give one")
		}
		duration = interval
	}
	for _, c := range []struct {
		name  string
		limit *int32
	}{{"default.retryLimit", defaultLimit}, {"exponentialBackoff.retryLimit", expLimit}} {
		if c.limit == nil {
			continue
		}
		if retryCount != nil && *retryCount != *c.limit {
			return nil, nil, nil, badRequest("config.strategy.%s differs from the retry count given elsewhere in config.strategy; give one", c.name)
		}
		retryCount = c.limit
	}
	return typ, duration, retryCount, nil
}

func (c *groupConfigInput) proto() (*ingestv1.GroupConfigInput, error) {
	if c == nil {
		return nil, nil
	}
	in := &ingestv1.GroupConfigInput{
		DisableEndpoint:   c.DisableEndpoint,
		ReplayAttacks:     c.ReplayAttacks,
		RetentionPolicy:   c.RetentionPolicy,
		EnforceEventTypes: c.EnforceEventTypes,
		VerifyEndpoints:   c.VerifyEndpoints,
	}
	if s := c.Strategy; s != nil {
		var err error
		if in.StrategyType, in.StrategyDuration, in.RetryCount, err = s.resolve(); err != nil {
			return nil, err
		}
	}
	if s := c.Signature; s != nil {
		in.SignatureHeader, in.SignatureHash, in.SignatureFormat = s.Header, s.Hash, s.Format
		in.SetSignatureFormats, in.SignatureFormats = s.Formats != nil, deref(s.Formats)
	}
	if m := c.MetaEvent; m != nil {
		in.MetaEventIsEnabled, in.MetaEventUrl, in.MetaEventSecret = m.IsEnabled, m.URL, m.Secret
		in.SetMetaEventTypes, in.MetaEventTypes = m.EventTypes != nil, deref(m.EventTypes)
	}
	if b := c.CircuitBreaker; b != nil {
		in.CircuitBreakerFailureThreshold, in.CircuitBreakerMinRequests = b.FailureThreshold, b.MinRequests
		in.CircuitBreakerWindow, in.CircuitBreakerCooldown = b.Window, b.Cooldown
	}
	return in, nil
}

type groupView struct {
	UID       string          `json:"uid"`
	Name      string          `json:"name"`
	Config    groupConfigView `json:"config"`
	CreatedAt *string         `json:"created_at"`
	UpdatedAt *string         `json:"updated_at"`
}

type groupConfigView struct {
	Strategy struct {
		Type       string `json:"type"`
		Duration   int64  `json:"duration"`
		RetryCount int32  `json:"retry_count"`
		// The same schedule in Convoy v0.5's names, since /groups is
		// Convoy's path too: the block of the type in use is filled in.
		Default struct {
			IntervalSeconds int64 `json:"intervalSeconds"`
			RetryLimit      int32 `json:"retryLimit"`
		} `json:"default"`
		ExponentialBackoff struct {
			RetryLimit int32 `json:"retryLimit"`
		} `json:"exponentialBackoff"`
	} `json:"strategy"`
	Signature         signatureView       `json:"signature"`
	DisableEndpoint   bool                `json:"disable_endpoint"`
	ReplayAttacks     bool                `json:"replay_attacks"`
	RetentionPolicy   string              `json:"retention_policy"`
	MetaEvent         metaEventConfigView `json:"meta_event"`
	CircuitBreaker    circuitBreakerView  `json:"circuit_breaker"`
	EnforceEventTypes bool                `json:"enforce_event_types"`
	VerifyEndpoints   bool                `json:"verify_endpoints"`
}

// signatureView is a group's signature settings or an endpoint's override.
// formats is left out while a single format is used.
type signatureView struct {
	Header  string   `json:"header"`
	Hash    string   `json:"hash"`
	Format  string   `json:"format"`
	Formats []string `json:"formats,omitempty"`
}

func signatureOut(s *ingestv1.SignatureConfig) signatureView {
	return signatureView{Header: s.GetHeader(), Hash: s.GetHash(), Format: s.GetFormat(), Formats: s.GetFormats()}
}

type circuitBreakerView struct {
	FailureThreshold int32  `json:"failure_threshold"`
	MinRequests      int32  `json:"min_requests"`
	Window           string `json:"window"`
	Cooldown         string `json:"cooldown"`
}

type metaEventConfigView struct {
	IsEnabled bool   `json:"is_enabled"`
	URL       string `json:"url"`
	Secret    string `json:"secret"`
	// EventTypes is [] (every type) rather than null when none are listed.
	EventTypes []string `json:"event_types"`
}

func groupOut(g *ingestv1.Group) groupView {
	c := g.GetConfig()
	v := groupView{UID: g.GetUid(), Name: g.GetName(), CreatedAt: timeOut(g.GetCreatedAt()), UpdatedAt: timeOut(g.GetUpdatedAt())}
	v.Config.Strategy.Type = c.GetStrategy().GetType()
	v.Config.Strategy.Duration = c.GetStrategy().GetDuration()
	v.Config.Strategy.RetryCount = c.GetStrategy().GetRetryCount()
	if v.Config.Strategy.Type == "exponential-backoff" {
		v.Config.Strategy.ExponentialBackoff.RetryLimit = v.Config.Strategy.RetryCount
	} else {
		v.Config.Strategy.Default.IntervalSeconds = v.Config.Strategy.Duration
		v.Config.Strategy.Default.RetryLimit = v.Config.Strategy.RetryCount
	}
	v.Config.Signature = signatureOut(c.GetSignature())
	v.Config.DisableEndpoint = c.GetDisableEndpoint()
	v.Config.ReplayAttacks = c.GetReplayAttacks()
	v.Config.RetentionPolicy = c.GetRetentionPolicy()
	v.Config.EnforceEventTypes = c.GetEnforceEventTypes()
	v.Config.VerifyEndpoints = c.GetVerifyEndpoints()
	m := c.GetMetaEvent()
	v.Config.MetaEvent = metaEventConfigView{
		IsEnabled: m.GetIsEnabled(), URL: m.GetUrl(), Secret: m.GetSecret(),
		EventTypes: append([]string{}, m.GetEventTypes()...),
	}
	b := c.GetCircuitBreaker()
	v.Config.CircuitBreaker = circuitBreakerView{
		FailureThreshold: b.GetFailureThreshold(), MinRequests: b.GetMinRequests(),
		Window: b.GetWindow(), Cooldown: b.GetCooldown(),
	}
	return v
}

// timeOut renders a timestamp as RFC 3339 in UTC; unset gives JSON null.
func timeOut(ts *timestamppb.Timestamp) *string {
	if ts == nil || ts.CheckValid() != nil {
		return nil
	}
	s := ts.AsTime().UTC().Format(time.RFC3339Nano)
	return &s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func mapSlice[In, Out any](in []In, f func(In) Out) []Out {
	out := make([]Out, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

func (a *API) createGroup(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[groupInput](r)
	cfg, err := in.Config.proto()
	if err != nil {
		return nil, err
	}
	g, err := a.ingest.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: deref(in.Name), Config: cfg})
	if err != nil {
		return nil, err
	}
	return groupOut(g), nil
}

func (a *API) listGroups(ctx context.Context, r *http.Request) (any, error) {
	q, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	req := &ingestv1.ListGroupsRequest{Name: q.single("name"), Page: q.page()}
	if err := q.err(); err != nil {
		return nil, err
	}
	p := req.Page
	res, err := a.ingest.ListGroups(ctx, req)
	if err != nil {
		return nil, err
	}
	return page[groupView]{Content: mapSlice(res.GetGroups(), groupOut), Pagination: paginationOf(res.GetPage(), p)}, nil
}

func (a *API) getGroup(ctx context.Context, r *http.Request) (any, error) {
	g, err := a.ingest.GetGroup(ctx, &ingestv1.GetGroupRequest{GroupId: r.PathValue("group_id")})
	if err != nil {
		return nil, err
	}
	return groupOut(g), nil
}

func (a *API) updateGroup(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[groupInput](r)
	cfg, err := in.Config.proto()
	if err != nil {
		return nil, err
	}
	g, err := a.ingest.UpdateGroup(ctx, &ingestv1.UpdateGroupRequest{
		GroupId: r.PathValue("group_id"),
		Name:    in.Name,
		Config:  cfg,
	})
	if err != nil {
		return nil, err
	}
	return groupOut(g), nil
}

func (a *API) deleteGroup(ctx context.Context, r *http.Request) (any, error) {
	_, err := a.ingest.DeleteGroup(ctx, &ingestv1.DeleteGroupRequest{GroupId: r.PathValue("group_id")})
	return nil, err
}
