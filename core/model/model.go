// Package model holds Convoy's domain types as they are stored: groups,
// API keys, applications, endpoints, events, deliveries and their attempts.
// The BSON names are the MongoDB schema; `_id` is always the resource uid.
package model

import "time"

// Delivery statuses, verbatim from the wire conventions.
const (
	StatusScheduled  = "Scheduled"
	StatusProcessing = "Processing"
	StatusSuccess    = "Success"
	StatusFailure    = "Failure"
	StatusRetry      = "Retry"
	StatusDiscarded  = "Discarded"
)

// DeliveryStatuses lists every delivery status, for validation.
var DeliveryStatuses = []string{StatusScheduled, StatusProcessing, StatusSuccess, StatusFailure, StatusRetry, StatusDiscarded}

// Endpoint statuses.
const (
	EndpointActive   = "active"
	EndpointInactive = "inactive"
	EndpointPending  = "pending"
)

// Retry strategies.
const (
	StrategyLinear      = "default"
	StrategyExponential = "exponential-backoff"
)

// Signature formats.
const (
	FormatSimple           = "simple"
	FormatAdvanced         = "advanced"
	FormatStandardWebhooks = "standard-webhooks"
	// FormatStandardWebhooksAsymmetric signs with the endpoint's ed25519
	// key (Standard Webhooks v1a).
	FormatStandardWebhooksAsymmetric = "standard-webhooks-asymmetric"
)

// Group is a logical context (an environment or a team) with its own
// delivery settings.
type Group struct {
	UID       string      `bson:"_id"`
	Name      string      `bson:"name"`
	Config    GroupConfig `bson:"config"`
	CreatedAt time.Time   `bson:"created_at"`
	UpdatedAt time.Time   `bson:"updated_at"`
}

// GroupConfig is how a group's deliveries are retried and signed.
type GroupConfig struct {
	Strategy        Strategy  `bson:"strategy"`
	Signature       Signature `bson:"signature"`
	DisableEndpoint bool      `bson:"disable_endpoint"`
	ReplayAttacks   bool      `bson:"replay_attacks"`
	// RetentionPolicy is a Go duration ("720h"); empty keeps everything.
	RetentionPolicy string `bson:"retention_policy"`
	// MetaEvent is where the group's operational events go.
	MetaEvent MetaEventConfig `bson:"meta_event"`
	// CircuitBreaker is read through WithDefaults: groups stored before it
	// existed have it zero.
	CircuitBreaker CircuitBreaker `bson:"circuit_breaker"`
	// EnforceEventTypes refuses events whose type is not in the group's
	// catalog or whose payload its schema rejects.
	EnforceEventTypes bool `bson:"enforce_event_types,omitempty"`
	// VerifyEndpoints makes new endpoints pass the ownership handshake
	// before they receive anything.
	VerifyEndpoints bool `bson:"verify_endpoints,omitempty"`
}

// CircuitBreaker stops attempts to an endpoint that fails most of them, and
// probes it again after a cooldown.
type CircuitBreaker struct {
	// FailureThreshold is the percentage of failed attempts (1 to 100)
	// within Window that opens the circuit.
	FailureThreshold int32 `bson:"failure_threshold"`
	// MinRequests is how many attempts Window must hold before the rate
	// counts.
	MinRequests int32         `bson:"min_requests"`
	Window      time.Duration `bson:"window"`
	Cooldown    time.Duration `bson:"cooldown"`
}

// Circuit breaker defaults.
const (
	DefaultCircuitFailureThreshold = 70
	DefaultCircuitMinRequests      = 10
	DefaultCircuitWindow           = time.Minute
	DefaultCircuitCooldown         = 30 * time.Second
)

// WithDefaults fills the fields left zero.
func (c CircuitBreaker) WithDefaults() CircuitBreaker {
	if c.FailureThreshold <= 0 {
		c.FailureThreshold = DefaultCircuitFailureThreshold
	}
	if c.MinRequests <= 0 {
		c.MinRequests = DefaultCircuitMinRequests
	}
	if c.Window <= 0 {
		c.Window = DefaultCircuitWindow
	}
	if c.Cooldown <= 0 {
		c.Cooldown = DefaultCircuitCooldown
	}
	return c
}

// MetaEventConfig says whether and where a group's operational (meta)
// events are sent: notices about its endpoints and deliveries, signed with
// Secret in the group's signature format.
type MetaEventConfig struct {
	IsEnabled bool   `bson:"is_enabled"`
	URL       string `bson:"url,omitempty"`
	Secret    string `bson:"secret,omitempty"`
	// EventTypes are the meta event types wanted; empty means all of them.
	EventTypes []string `bson:"event_types,omitempty"`
}

// Strategy is a group's retry schedule.
type Strategy struct {
	Type string `bson:"type"`
	// Duration is the linear strategy's interval in seconds.
	Duration int64 `bson:"duration"`
	// RetryCount is the number of attempts in all, the first included.
	RetryCount int32 `bson:"retry_count"`
}

// Signature is how a group's payloads are signed.
type Signature struct {
	Header string `bson:"header"`
	Hash   string `bson:"hash"`
	Format string `bson:"format"`
	// Formats, when set, are all used on every request; Format is then
	// its first entry.
	Formats []string `bson:"formats,omitempty"`
}

// FormatList returns the formats a request is signed in.
func (s Signature) FormatList() []string {
	if len(s.Formats) > 0 {
		return s.Formats
	}
	return []string{s.Format}
}

// DefaultGroupConfig is what a group gets for every field its creator left out.
func DefaultGroupConfig() GroupConfig {
	return GroupConfig{
		Strategy:        Strategy{Type: StrategyLinear, Duration: 100, RetryCount: 10},
		Signature:       Signature{Header: "X-Convoy-Signature", Hash: "SHA256", Format: FormatSimple},
		DisableEndpoint: true,
		ReplayAttacks:   true,
		CircuitBreaker:  CircuitBreaker{}.WithDefaults(),
	}
}

// APIKey grants access to one group. Only the SHA-256 of the key is stored,
// and it is the document id so that authenticating is a lookup by `_id`.
type APIKey struct {
	Hash    string `bson:"_id"`
	UID     string `bson:"uid"`
	GroupID string `bson:"group_id"`
	Name    string `bson:"name"`
	// Role is RoleAdmin or RoleReadOnly; empty (keys made before roles
	// existed) is RoleAdmin.
	Role      string     `bson:"role,omitempty"`
	ExpiresAt *time.Time `bson:"expires_at,omitempty"`
	// LastUsedAt is written at most once a minute per key, off the
	// request path.
	LastUsedAt *time.Time `bson:"last_used_at,omitempty"`
	CreatedAt  time.Time  `bson:"created_at"`
}

// API key roles.
const (
	RoleAdmin    = "admin"
	RoleReadOnly = "read_only"
)

// PortalLink lets its token holder see one application's endpoints, events
// and deliveries (and manage its endpoints when allowed). Only the SHA-256
// of the token is stored, as the document id, so that authenticating is a
// lookup by `_id`.
type PortalLink struct {
	Hash               string    `bson:"_id"`
	UID                string    `bson:"uid"`
	GroupID            string    `bson:"group_id"`
	AppID              string    `bson:"app_id"`
	CanManageEndpoints bool      `bson:"can_manage_endpoints"`
	FrameAncestors     []string  `bson:"frame_ancestors"`
	ExpiresAt          time.Time `bson:"expires_at"`
	CreatedAt          time.Time `bson:"created_at"`
}

// AuditEntry records one change to a group's configuration. Entries are
// only ever inserted. The id is a ULID, so newest first is `_id` descending.
type AuditEntry struct {
	UID     string `bson:"_id"`
	GroupID string `bson:"group_id"`
	// Actor is "admin", an API key's uid or a portal link's uid.
	Actor        string `bson:"actor"`
	Action       string `bson:"action"`
	ResourceType string `bson:"resource_type"`
	ResourceID   string `bson:"resource_id"`
	// Before and After are JSON documents with secrets redacted; empty
	// when there is none.
	Before    string    `bson:"before,omitempty"`
	After     string    `bson:"after,omitempty"`
	CreatedAt time.Time `bson:"created_at"`
}

// Application is a user's application receiving webhooks; it has any number
// of endpoints.
type Application struct {
	UID          string `bson:"_id"`
	GroupID      string `bson:"group_id"`
	Name         string `bson:"name"`
	Secret       string `bson:"secret,omitempty"`
	SupportEmail string `bson:"support_email,omitempty"`
	// OwnerID groups applications of one customer for fan-out events.
	OwnerID string `bson:"owner_id,omitempty"`
	// IsDisabled holds the application's new events back: their
	// deliveries are stored Discarded and not sent.
	IsDisabled bool      `bson:"is_disabled,omitempty"`
	CreatedAt  time.Time `bson:"created_at"`
	UpdatedAt  time.Time `bson:"updated_at"`
}

// Secret signs payloads. A retired secret keeps signing until ExpiresAt.
type Secret struct {
	Value     string     `bson:"value"`
	CreatedAt time.Time  `bson:"created_at"`
	ExpiresAt *time.Time `bson:"expires_at,omitempty"`
}

// Endpoint is a URL that receives an application's events.
type Endpoint struct {
	UID         string `bson:"_id"`
	GroupID     string `bson:"group_id"`
	AppID       string `bson:"app_id"`
	URL         string `bson:"url"`
	Description string `bson:"description,omitempty"`
	// Secrets are newest first; the first is the current one.
	Secrets []Secret `bson:"secrets"`
	// Events are event type patterns: exact, "*" for all, or with "*" wildcards.
	Events            []string      `bson:"events"`
	HTTPTimeout       time.Duration `bson:"http_timeout"`
	RateLimit         int32         `bson:"rate_limit"`
	RateLimitDuration time.Duration `bson:"rate_limit_duration"`
	Status            string        `bson:"status"`
	// Filter is the payload filter as compact JSON ({"body", "headers"});
	// empty matches every event. JSON rather than a document because its
	// keys ($gt, dotted paths) are not valid MongoDB field names.
	Filter string `bson:"filter,omitempty"`
	// Ordered makes the endpoint's deliveries go one at a time, in the order
	// their events were accepted: a failing one holds back those behind it.
	Ordered bool `bson:"ordered,omitempty"`
	// Authentication is nil when the endpoint relies on the signature alone.
	Authentication *EndpointAuthentication `bson:"authentication,omitempty"`
	// Signature overrides the group's signature settings; nil uses them.
	Signature *Signature `bson:"signature,omitempty"`
	// SigningKey is the endpoint's ed25519 private key ("whsk_..."), for
	// the standard-webhooks-asymmetric format. Secret-bearing.
	SigningKey string `bson:"signing_key,omitempty"`
	// Verification is set when the endpoint's group asks for the ownership
	// handshake; nil means none was asked for.
	Verification *EndpointVerification `bson:"verification,omitempty"`
	// NoTraceContext turns off sending the producer's traceparent and
	// tracestate on attempts (the API's forward_trace_context=false); stored
	// negated so that endpoints stored before the option forward.
	NoTraceContext bool `bson:"no_trace_context,omitempty"`
	// CustomHeaders are sent on every attempt to the endpoint; an event's
	// own custom header of the same name wins.
	CustomHeaders map[string]string `bson:"custom_headers,omitempty"`
	CreatedAt     time.Time         `bson:"created_at"`
	UpdatedAt     time.Time         `bson:"updated_at"`
}

// ForwardsTraceContext reports whether attempts carry the producer's W3C
// trace context.
func (e *Endpoint) ForwardsTraceContext() bool { return !e.NoTraceContext }

// Endpoint defaults.
const (
	DefaultHTTPTimeout       = 30 * time.Second
	DefaultRateLimit         = 5000
	DefaultRateLimitDuration = time.Minute
)

// SignatureOf returns the signature settings ep's deliveries use: its own
// or its group's.
func (e *Endpoint) SignatureOf(g *Group) Signature {
	if e.Signature != nil {
		return *e.Signature
	}
	return g.Config.Signature
}

// ValidSecrets returns the secrets still signing at now, newest first.
func (e *Endpoint) ValidSecrets(now time.Time) []Secret {
	out := make([]Secret, 0, len(e.Secrets))
	for _, s := range e.Secrets {
		if s.ExpiresAt == nil || s.ExpiresAt.After(now) {
			out = append(out, s)
		}
	}
	return out
}

// Event is something that happened in a producer's system.
type Event struct {
	UID       string `bson:"_id"`
	GroupID   string `bson:"group_id"`
	AppID     string `bson:"app_id"`
	EventType string `bson:"event_type"`
	// Data is the JSON payload byte for byte as accepted: it is what is sent
	// and signed.
	Data           []byte            `bson:"data"`
	IdempotencyKey string            `bson:"idempotency_key,omitempty"`
	CustomHeaders  map[string]string `bson:"custom_headers,omitempty"`
	// OwnerID is set on a fan-out event (whose AppID is empty, as a
	// broadcast's): planning it again needs the owner's applications.
	OwnerID string `bson:"owner_id,omitempty"`
	// Test marks an event sent by the send-test-event call: it goes to
	// EndpointID only, whatever that endpoint subscribes to, and its
	// delivery is attempted once, never retried.
	Test       bool   `bson:"test,omitempty"`
	EndpointID string `bson:"endpoint_id,omitempty"`
	// MatchedEndpoints counts the endpoints subscribed when it was accepted.
	MatchedEndpoints int32 `bson:"matched_endpoints,omitempty"`
	// TraceParent and TraceState are the producer's W3C trace context as it
	// came with the event (header or gRPC metadata), sent on every attempt.
	TraceParent string    `bson:"trace_parent,omitempty"`
	TraceState  string    `bson:"trace_state,omitempty"`
	CreatedAt   time.Time `bson:"created_at"`
}

// Delivery is one event on its way to one endpoint. Its attempts live inside
// the document, so that recording an attempt and moving the status is one
// single-document write.
type Delivery struct {
	UID        string           `bson:"_id"`
	GroupID    string           `bson:"group_id"`
	EventID    string           `bson:"event_id"`
	AppID      string           `bson:"app_id"`
	EndpointID string           `bson:"endpoint_id"`
	EventType  string           `bson:"event_type"`
	Status     string           `bson:"status"`
	Metadata   DeliveryMetadata `bson:"metadata"`
	// Generation counts manual resends; each starts a fresh attempt budget.
	Generation  int32  `bson:"generation"`
	Description string `bson:"description,omitempty"`
	// Ordered: queued in its endpoint's ordered queue (the endpoint was
	// ordered when the delivery was planned or last resent).
	Ordered   bool      `bson:"ordered,omitempty"`
	Attempts  []Attempt `bson:"attempts,omitempty"`
	CreatedAt time.Time `bson:"created_at"`
	UpdatedAt time.Time `bson:"updated_at"`
}

// DeliveryMetadata says where a delivery stands in its retry budget.
type DeliveryMetadata struct {
	NumTrials       int32      `bson:"num_trials"`
	RetryLimit      int32      `bson:"retry_limit"`
	Strategy        string     `bson:"strategy"`
	IntervalSeconds int64      `bson:"interval_seconds"`
	NextSendTime    *time.Time `bson:"next_send_time,omitempty"`
}

// Attempt is one HTTP request made for a delivery and what came back.
type Attempt struct {
	UID               string            `bson:"uid"`
	URL               string            `bson:"url"`
	Method            string            `bson:"method"`
	IPAddress         string            `bson:"ip_address,omitempty"`
	RequestHeader     map[string]string `bson:"request_http_header,omitempty"`
	ResponseHeader    map[string]string `bson:"response_http_header,omitempty"`
	HTTPStatus        int32             `bson:"http_status"`
	ResponseData      string            `bson:"response_data,omitempty"`
	ResponseTruncated bool              `bson:"response_truncated,omitempty"`
	Error             string            `bson:"error,omitempty"`
	Status            bool              `bson:"status"`
	DurationMs        int64             `bson:"duration_ms"`
	CreatedAt         time.Time         `bson:"created_at"`
}

// MetaEvent is one operational event of a group on its way to the group's
// meta event URL. Like a delivery, its attempts live inside the document.
type MetaEvent struct {
	UID       string            `bson:"_id"`
	GroupID   string            `bson:"group_id"`
	EventType string            `bson:"event_type"`
	Status    string            `bson:"status"`
	Metadata  MetaEventMetadata `bson:"metadata"`
	// Generation counts manual resends; each starts a fresh attempt budget.
	Generation int32     `bson:"generation"`
	Attempts   []Attempt `bson:"attempts,omitempty"`
	CreatedAt  time.Time `bson:"created_at"`
	UpdatedAt  time.Time `bson:"updated_at"`
}

// MetaEventMetadata is a meta event's body and where it stands in its
// retry budget.
type MetaEventMetadata struct {
	// Raw is the JSON body, byte for byte as sent and signed:
	// {"event_type", "data", "created_at"}.
	Raw          string     `bson:"raw"`
	NumTrials    int32      `bson:"num_trials"`
	RetryLimit   int32      `bson:"retry_limit"`
	NextSendTime *time.Time `bson:"next_send_time,omitempty"`
}

// IsFinal reports whether a delivery status is terminal.
func IsFinal(status string) bool {
	return status == StatusSuccess || status == StatusFailure || status == StatusDiscarded
}

// EventType is an entry of a group's event-type catalog. Schema and Example
// are JSON (empty when unset); Schema is a JSON Schema, 2020-12 by default.
type EventType struct {
	UID         string    `bson:"_id"`
	GroupID     string    `bson:"group_id"`
	Name        string    `bson:"name"`
	Description string    `bson:"description,omitempty"`
	Schema      string    `bson:"schema,omitempty"`
	Example     string    `bson:"example,omitempty"`
	Deprecated  bool      `bson:"deprecated"`
	CreatedAt   time.Time `bson:"created_at"`
	UpdatedAt   time.Time `bson:"updated_at"`
}
