package grpcapi

import (
	"encoding/json"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"convoy/core/hmacs"
	"convoy/core/metaevent"
	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/store"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/protobuf/proto"
)

var formats = []string{model.FormatSimple, model.FormatAdvanced, model.FormatStandardWebhooks, model.FormatStandardWebhooksAsymmetric}

// applyGroupConfig overlays what the caller set onto cfg and validates the
// result.
func applyGroupConfig(cfg model.GroupConfig, in *ingestv1.GroupConfigInput) (model.GroupConfig, error) {
	// A group stored before the circuit breaker existed has it zero, which
	// means the defaults: a partial update starts from those.
	cfg.CircuitBreaker = cfg.CircuitBreaker.WithDefaults()
	if in != nil {
		if in.StrategyType != nil {
			cfg.Strategy.Type = *in.StrategyType
		}
		if in.StrategyDuration != nil {
			cfg.Strategy.Duration = *in.StrategyDuration
		}
		if in.RetryCount != nil {
			cfg.Strategy.RetryCount = *in.RetryCount
		}
		if in.SignatureHeader != nil {
			cfg.Signature.Header = *in.SignatureHeader
		}
		if in.SignatureHash != nil {
			cfg.Signature.Hash = *in.SignatureHash
		}
		if in.SignatureFormat != nil {
			// A single format replaces a list.
			cfg.Signature.Format, cfg.Signature.Formats = *in.SignatureFormat, nil
		}
		if in.SetSignatureFormats {
			cfg.Signature.Formats = in.SignatureFormats
		}
		if in.DisableEndpoint != nil {
			cfg.DisableEndpoint = *in.DisableEndpoint
		}
		if in.ReplayAttacks != nil {
			cfg.ReplayAttacks = *in.ReplayAttacks
		}
		if in.RetentionPolicy != nil {
			cfg.RetentionPolicy = strings.TrimSpace(*in.RetentionPolicy)
		}
		if in.EnforceEventTypes != nil {
			cfg.EnforceEventTypes = *in.EnforceEventTypes
		}
		if in.VerifyEndpoints != nil {
			cfg.VerifyEndpoints = *in.VerifyEndpoints
		}
		applyMetaEventConfig(&cfg.MetaEvent, in)
		if err := applyCircuitBreaker(&cfg.CircuitBreaker, in); err != nil {
			return cfg, err
		}
	}
	switch {
	case cfg.Strategy.Type != model.StrategyLinear && cfg.Strategy.Type != model.StrategyExponential:
		return cfg, invalidf("config.strategy.type must be one of %s, %s", model.StrategyLinear, model.StrategyExponential)
	case cfg.Strategy.Duration < 1 || cfg.Strategy.Duration > 86400:
		return cfg, invalidf("config.strategy.duration must be between 1 and 86400 seconds")
	case cfg.Strategy.RetryCount < 1 || cfg.Strategy.RetryCount > 100:
		return cfg, invalidf("config.strategy.retry_count must be between 1 and 100")
	}
	if err := validateSignature("config.signature", &cfg.Signature); err != nil {
		return cfg, err
	}
	if cfg.RetentionPolicy != "" {
		d, err := time.ParseDuration(cfg.RetentionPolicy)
		if err != nil || d < time.Minute {
			return cfg, invalidf("config.retention_policy must be a duration of at least 1m, such as 720h")
		}
	}
	if err := validateMetaEventConfig(&cfg.MetaEvent, cfg.Signature.Format); err != nil {
		return cfg, err
	}
	if err := validateCircuitBreaker(cfg.CircuitBreaker); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// validateSignature checks signature settings (a group's, or an
// endpoint's override, named by prefix) and makes Format the first of
// Formats when a list is set.
func validateSignature(prefix string, sig *model.Signature) error {
	switch {
	case !validHeaderName(sig.Header):
		return invalidf("%s.header must be a valid HTTP header name", prefix)
	case !slices.Contains(hmacs.Names, sig.Hash):
		return invalidf("%s.hash must be one of %s", prefix, strings.Join(hmacs.Names, ", "))
	}
	if len(sig.Formats) == 0 {
		sig.Formats = nil
		if !slices.Contains(formats, sig.Format) {
			return invalidf("%s.format must be one of %s", prefix, strings.Join(formats, ", "))
		}
		return nil
	}
	var list []string
	for _, f := range sig.Formats {
		if !slices.Contains(formats, f) {
			return invalidf("%s.formats entries must be among %s", prefix, strings.Join(formats, ", "))
		}
		if !slices.Contains(list, f) {
			list = append(list, f)
		}
	}
	if slices.Contains(list, model.FormatSimple) && slices.Contains(list, model.FormatAdvanced) {
		// Both write the one signature header.
		return invalidf("%s.formats cannot hold both simple and advanced: both use %s.header", prefix, prefix)
	}
	sig.Formats, sig.Format = list, list[0]
	return nil
}

// applyCircuitBreaker overlays the circuit breaker settings the caller set;
// only a duration that does not parse is an error here, the ranges are
// checked on the result.
func applyCircuitBreaker(c *model.CircuitBreaker, in *ingestv1.GroupConfigInput) error {
	if in.CircuitBreakerFailureThreshold != nil {
		c.FailureThreshold = *in.CircuitBreakerFailureThreshold
	}
	if in.CircuitBreakerMinRequests != nil {
		c.MinRequests = *in.CircuitBreakerMinRequests
	}
	for _, f := range []struct {
		name string
		in   *string
		out  *time.Duration
	}{
		{"config.circuit_breaker.window", in.CircuitBreakerWindow, &c.Window},
		{"config.circuit_breaker.cooldown", in.CircuitBreakerCooldown, &c.Cooldown},
	} {
		if f.in == nil {
			continue
		}
		d, err := time.ParseDuration(strings.TrimSpace(*f.in))
		if err != nil {
			return invalidf("%s must be a duration such as 1m or 30s", f.name)
		}
		*f.out = d
	}
	return nil
}

// Bounds of the circuit breaker settings.
const (
	minCircuitDuration = time.Second
	maxCircuitDuration = 24 * time.Hour
)

func validateCircuitBreaker(c model.CircuitBreaker) error {
	switch {
	case c.FailureThreshold < 1 || c.FailureThreshold > 100:
		return invalidf("config.circuit_breaker.failure_threshold must be a percentage from 1 to 100")
	case c.MinRequests < 1:
		return invalidf("config.circuit_breaker.min_requests must be at least 1")
	case c.Window < minCircuitDuration || c.Window > maxCircuitDuration:
		return invalidf("config.circuit_breaker.window must be a duration from %s to %s, such as 1m", minCircuitDuration, maxCircuitDuration)
	case c.Cooldown < minCircuitDuration || c.Cooldown > maxCircuitDuration:
		return invalidf("config.circuit_breaker.cooldown must be a duration from %s to %s, such as 30s", minCircuitDuration, maxCircuitDuration)
	}
	return nil
}

// applyMetaEventConfig overlays the meta event settings the caller set.
func applyMetaEventConfig(m *model.MetaEventConfig, in *ingestv1.GroupConfigInput) {
	if in.MetaEventIsEnabled != nil {
		m.IsEnabled = *in.MetaEventIsEnabled
	}
	if in.MetaEventUrl != nil {
		m.URL = strings.TrimSpace(*in.MetaEventUrl)
	}
	if in.MetaEventSecret != nil {
		m.Secret = *in.MetaEventSecret
	}
	if in.SetMetaEventTypes {
		m.EventTypes = in.MetaEventTypes
	}
}

// validateMetaEventConfig checks a group's meta event settings and gives it
// a secret, in the shape the signature format expects, when it has none.
func validateMetaEventConfig(m *model.MetaEventConfig, format string) error {
	if m.URL != "" {
		if err := validateURLField("config.meta_event.url", m.URL); err != nil {
			return err
		}
	}
	if m.IsEnabled && m.URL == "" {
		return invalidf("config.meta_event.url is required when config.meta_event.is_enabled is true")
	}
	if err := validateSecret("config.meta_event.secret", m.Secret); err != nil {
		return err
	}
	var unknown []string
	for _, t := range m.EventTypes {
		if !metaevent.Known(t) {
			unknown = append(unknown, strconv.Quote(t))
		}
	}
	if len(unknown) > 0 {
		return invalidf("config.meta_event.event_types has unknown types %s; known types are %s",
			strings.Join(unknown, ", "), strings.Join(metaevent.Types, ", "))
	}
	var types []string // nil: every type
	for _, t := range m.EventTypes {
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	m.EventTypes = types
	if m.Secret == "" {
		m.Secret = newSecret(format)
	}
	return nil
}

// reservedHeaders are ours; a custom header or signature header may not
// replace them.
var reservedHeaders = []string{
	"Content-Type", "Content-Length", "User-Agent", "Host", "Convoy-Timestamp",
	"X-Convoy-Event-Id", "X-Convoy-Event-Type", "X-Convoy-Delivery-Id", "X-Convoy-Idempotency-Key",
	"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature",
}

func validHeaderName(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return !slices.Contains(reservedHeaders, http.CanonicalHeaderKey(name))
}

func validateName(field, name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return invalidf("%s is required", field)
	}
	if len(name) > 200 {
		return invalidf("%s must be at most 200 characters", field)
	}
	return nil
}

func validateOwnerID(v string) error {
	if len(v) > 200 {
		return invalidf("owner_id must be at most 200 characters")
	}
	return nil
}

func validateEmail(field, v string) error {
	if v == "" {
		return nil
	}
	if _, err := mail.ParseAddress(v); err != nil {
		return invalidf("%s must be an email address", field)
	}
	return nil
}

func validateURL(raw string) error { return validateURLField("url", raw) }

// validateURLField checks a URL Convoy posts to. Where it may point is
// checked at each attempt, on the address dialled (the outbound guard).
func validateURLField(field, raw string) error {
	if strings.TrimSpace(raw) == "" {
		return invalidf("%s is required", field)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalidf("%s is not a valid URL", field)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return invalidf("%s must be http or https", field)
	}
	if u.Hostname() == "" {
		return invalidf("%s must have a host", field)
	}
	if u.User != nil {
		return invalidf("%s must not contain credentials", field)
	}
	return nil
}

func validateSecret(field, s string) error {
	if s == "" {
		return nil
	}
	if len(s) < 8 || len(s) > 256 {
		return invalidf("%s must be 8 to 256 characters", field)
	}
	return nil
}

func validateEvents(events []string) ([]string, error) {
	if len(events) == 0 {
		return []string{"*"}, nil
	}
	if len(events) > 100 {
		return nil, invalidf("events must list at most 100 event types")
	}
	for _, e := range events {
		if strings.TrimSpace(e) == "" || len(e) > 200 {
			return nil, invalidf("events entries must be non-empty event types of at most 200 characters")
		}
	}
	return events, nil
}

func parseDuration(field, v string, def, lo, hi time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		return 0, invalidf("%s must be a duration from %s to %s, such as %s", field, lo, hi, def)
	}
	return d, nil
}

func validateEvent(req *ingestv1.CreateEventRequest) error {
	if req.AppId == "" {
		return invalidf("app_id is required")
	}
	return validateEventFields(req.EventType, req.Data, req.IdempotencyKey, req.CustomHeaders)
}

// validateEventFields checks what every kind of event (single, broadcast,
// fan-out) carries.
func validateEventFields(eventType string, data []byte, key string, headers map[string]string) error {
	switch {
	case strings.TrimSpace(eventType) == "":
		return invalidf("event_type is required")
	case len(eventType) > 200:
		return invalidf("event_type must be at most 200 characters")
	case len(data) == 0:
		return invalidf("data is required")
	case !json.Valid(data):
		return invalidf("data must be valid JSON")
	case len(key) > 255:
		return invalidf("idempotency_key must be at most 255 characters")
	}
	return validateCustomHeaders(headers)
}

// hopByHopHeaders belong to one connection, not to a request: a custom
// header may not set them.
var hopByHopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// validateCustomHeaders checks an event's or an endpoint's custom headers:
// at most 50, valid names that are neither ours (ids, signature) nor
// hop-by-hop, single-line values.
func validateCustomHeaders(headers map[string]string) error {
	if len(headers) > 50 {
		return invalidf("custom_headers must have at most 50 entries")
	}
	for k, v := range headers {
		c := http.CanonicalHeaderKey(k)
		if !validHeaderName(k) || c == "X-Convoy-Signature" || slices.Contains(hopByHopHeaders, c) {
			return invalidf("custom_headers key %q must be a valid HTTP header name, not one of Convoy's own nor a hop-by-hop one", k)
		}
		if strings.ContainsAny(v, "\r\n") || len(v) > 4096 {
			return invalidf("custom_headers value of %q must be one line of at most 4096 characters", k)
		}
	}
	return nil
}

// maxTaskBytes bounds one dispatch task, which carries the event's data and
// custom headers: NATS's default max_payload (1 MiB) less room for the
// message headers. An event whose task the queue would refuse must be
// refused here: accepted, it would be stored but its deliveries never queued,
// and its failed publish would fail every other event of the same batch.
const maxTaskBytes = 1<<20 - 8<<10

// validateTaskSize checks that ev's dispatch tasks fit on the queue.
func validateTaskSize(ev *model.Event) error {
	// The delivery adds the same few bytes to every endpoint's task.
	d := &model.Delivery{UID: ev.UID, EndpointID: ev.UID, Metadata: model.DeliveryMetadata{NumTrials: 1 << 30, RetryLimit: 1 << 30}, Generation: 1 << 30}
	if n := proto.Size(queue.NewTask(ev, d)); n > maxTaskBytes {
		return invalidf("data is too large: data and custom_headers together must stay under %d bytes, this event takes %d", maxTaskBytes, n)
	}
	return nil
}

func page(p *ingestv1.PageRequest) (store.Page, error) {
	if p == nil {
		return store.Page{PerPage: 20}, nil
	}
	n := int(p.PerPage)
	if n == 0 {
		n = 20
	}
	if n < 1 || n > 100 {
		return store.Page{}, invalidf("per_page must be between 1 and 100")
	}
	switch {
	case p.Page < 0:
		return store.Page{}, invalidf("page must be 1 or more")
	case p.Page > 0 && p.Cursor != "":
		return store.Page{}, invalidf("page and cursor exclude each other")
	case p.Ascending && p.Page == 0:
		return store.Page{}, invalidf("ascending order needs a page number")
	}
	return store.Page{PerPage: n, Cursor: p.Cursor, Number: int(p.Page), Ascending: p.Ascending}, nil
}

func pageInfo(p store.Page, info store.PageInfo) *ingestv1.PageInfo {
	out := &ingestv1.PageInfo{PerPage: int32(p.PerPage), HasNextPage: info.HasNext, NextPageCursor: info.NextCursor}
	if p.Number > 0 {
		out.Total, out.Page = info.Total, int32(p.Number)
	}
	return out
}

func validateStatuses(statuses []string) error {
	for _, s := range statuses {
		if !slices.Contains(model.DeliveryStatuses, s) {
			return invalidf("status must be one of %s", strings.Join(model.DeliveryStatuses, ", "))
		}
	}
	return nil
}
