package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"net/http"
	"strconv"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// This file holds Convoy v0.5's shapes and the shapers that make them from
// ours; README lists what they leave out and why.

// ---- request bodies only Convoy sends ----

// convoyApplicationInput is Convoy's application body: ours plus a field
// for a feature this service does not have.
type convoyApplicationInput struct {
	applicationInput
	// SlackWebhookURL is accepted and not applied (no Slack notifications).
	SlackWebhookURL *string `json:"slack_webhook_url"`
}

func (in *convoyApplicationInput) ours() any { return &in.applicationInput }

// convoyRole is a Convoy key's role. A key here acts on exactly one group,
// with every right in it (Convoy's "admin" role on that group) or reading
// only ("read_only").
type convoyRole struct {
	Type   string   `json:"type"`
	Groups []string `json:"groups"`
	Apps   []string `json:"apps"`
}

// convoyKeyInput is Convoy's API key body.
type convoyKeyInput struct {
	apiKeyInput
	Role      *convoyRole `json:"role"`
	KeyType   *string     `json:"key_type"`
	ExpiresAt *string     `json:"expires_at"`
}

func (in *convoyKeyInput) ours() any { return &in.apiKeyInput }

func (in *convoyKeyInput) validate() error {
	switch {
	case in.Role == nil || len(in.Role.Groups) != 1:
		return badRequest("role.groups must name exactly one group: a key acts on one group")
	case in.Role.Type != "" && in.Role.Type != "admin" && in.Role.Type != "read_only":
		return badRequest("role.type must be admin or read_only")
	case len(in.Role.Apps) > 0:
		return badRequest("role.apps is not supported: a key acts on its whole group; a portal link acts on one application")
	case in.KeyType != nil && *in.KeyType != "" && *in.KeyType != "api":
		return badRequest("key_type must be api")
	}
	// Our body carries Convoy's role type and expiry under our names.
	if in.Role.Type != "" {
		in.apiKeyInput.Role = &in.Role.Type
	}
	in.apiKeyInput.ExpiresAt = in.ExpiresAt
	return nil
}

// keyGroupFromBody sets the group of a key create from its role.
func keyGroupFromBody(h handler) handler {
	return func(a *API, ctx context.Context, r *http.Request) (any, error) {
		r.SetPathValue("group_id", bodyAs[convoyKeyInput](r).Role.Groups[0])
		return h(a, ctx, r)
	}
}

// ---- views ----

type convoyPagination struct {
	Total     int64 `json:"total"`
	Page      int32 `json:"page"`
	PerPage   int32 `json:"perPage"`
	Prev      int32 `json:"prev"`
	Next      int32 `json:"next"`
	TotalPage int64 `json:"totalPage"`
}

func convoyPaginationOf(p any) convoyPagination {
	v, _ := p.(paginationView)
	out := convoyPagination{Total: v.total, Page: v.page, PerPage: v.PerPage}
	if v.PerPage > 0 {
		out.TotalPage = (v.total + int64(v.PerPage) - 1) / int64(v.PerPage)
	}
	if out.Page > 1 {
		out.Prev = out.Page - 1
	}
	if int64(out.Page) < out.TotalPage {
		out.Next = out.Page + 1
	}
	return out
}

type convoyEndpoint struct {
	UID               string   `json:"uid"`
	TargetURL         string   `json:"target_url"`
	Description       string   `json:"description"`
	Secret            string   `json:"secret"`
	Events            []string `json:"events"`
	HTTPTimeout       string   `json:"http_timeout"`
	RateLimit         int32    `json:"rate_limit"`
	RateLimitDuration string   `json:"rate_limit_duration"`
	Status            string   `json:"status"`
	Ordered           bool     `json:"ordered"`
	CreatedAt         *string  `json:"created_at"`
	UpdatedAt         *string  `json:"updated_at"`
}

func convoyEndpointOf(e endpointView) convoyEndpoint {
	return convoyEndpoint{
		UID: e.UID, TargetURL: e.URL, Description: e.Description, Secret: e.Secret, Events: e.Events,
		HTTPTimeout: e.HTTPTimeout, RateLimit: e.RateLimit, RateLimitDuration: e.RateLimitDuration,
		Status: e.Status, Ordered: e.Ordered, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
}

type convoyApplication struct {
	UID          string           `json:"uid"`
	GroupID      string           `json:"group_id"`
	Name         string           `json:"name"`
	SupportEmail string           `json:"support_email"`
	IsDisabled   bool             `json:"is_disabled"`
	Endpoints    []convoyEndpoint `json:"endpoints"`
	CreatedAt    *string          `json:"created_at"`
	UpdatedAt    *string          `json:"updated_at"`
}

type convoyAppMetadata struct {
	UID          string `json:"uid"`
	Title        string `json:"title"`
	GroupID      string `json:"group_id"`
	SupportEmail string `json:"support_email"`
}

type convoyEvent struct {
	UID              string            `json:"uid"`
	EventType        string            `json:"event_type"`
	MatchedEndpoints int32             `json:"matched_endpoints"`
	AppMetadata      convoyAppMetadata `json:"app_metadata"`
	CreatedAt        *string           `json:"created_at"`
	UpdatedAt        *string           `json:"updated_at"`
	data             []byte
}

// appendJSON adds "data" with the payload bytes untouched, as eventView does.
func (v convoyEvent) appendJSON(dst []byte) ([]byte, error) {
	type fields convoyEvent
	b, err := appendJSON(nil, fields(v))
	if err != nil {
		return dst, err
	}
	dst = append(dst, bytes.TrimSuffix(b, []byte("}"))...)
	dst = append(dst, `,"data":`...)
	dst = appendRawJSON(dst, v.data)
	return append(dst, '}'), nil
}

type convoyEndpointMetadata struct {
	UID               string `json:"uid"`
	TargetURL         string `json:"target_url"`
	Status            string `json:"status"`
	Secret            string `json:"secret"`
	HTTPTimeout       string `json:"http_timeout"`
	RateLimit         int32  `json:"rate_limit"`
	RateLimitDuration string `json:"rate_limit_duration"`
}

type convoyDelivery struct {
	UID           string                 `json:"uid"`
	Status        string                 `json:"status"`
	Description   string                 `json:"description"`
	Metadata      deliveryMetadataView   `json:"metadata"`
	EventMetadata convoyEventMetadata    `json:"event_metadata"`
	AppMetadata   convoyAppMetadata      `json:"app_metadata"`
	Endpoint      convoyEndpointMetadata `json:"endpoint"`
	CreatedAt     *string                `json:"created_at"`
	UpdatedAt     *string                `json:"updated_at"`
}

type convoyEventMetadata struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
}

type convoyAttempt struct {
	UID                string            `json:"uid"`
	MsgID              string            `json:"msg_id"`
	URL                string            `json:"url"`
	Method             string            `json:"method"`
	IPAddress          string            `json:"ip_address"`
	RequestHTTPHeader  map[string]string `json:"request_http_header"`
	ResponseHTTPHeader map[string]string `json:"response_http_header"`
	// HTTPStatus is the status line as Go's http.Response.Status writes
	// it ("200 OK"), as Convoy recorded it; empty when nothing answered.
	HTTPStatus   string  `json:"http_status"`
	ResponseData string  `json:"response_data"`
	Error        string  `json:"error"`
	Status       bool    `json:"status"`
	CreatedAt    *string `json:"created_at"`
	UpdatedAt    *string `json:"updated_at"`
}

func convoyAttemptOf(at attemptView) convoyAttempt {
	line := ""
	if at.HTTPStatus != 0 {
		line = strconv.Itoa(int(at.HTTPStatus))
		if text := http.StatusText(int(at.HTTPStatus)); text != "" {
			line += " " + text
		}
	}
	return convoyAttempt{
		UID: at.UID, MsgID: at.DeliveryID, URL: at.URL, Method: at.Method, IPAddress: at.IPAddress,
		RequestHTTPHeader: at.RequestHTTPHeader, ResponseHTTPHeader: at.ResponseHTTPHeader,
		HTTPStatus: line, ResponseData: at.ResponseData, Error: at.Error, Status: at.Status,
		CreatedAt: at.CreatedAt, UpdatedAt: at.CreatedAt,
	}
}

type convoyKeyRoleView struct {
	Type   string   `json:"type"`
	Groups []string `json:"groups"`
	Apps   []string `json:"apps"`
}

type convoyKey struct {
	UID       string            `json:"uid"`
	Name      string            `json:"name"`
	Role      convoyKeyRoleView `json:"role"`
	KeyType   string            `json:"key_type"`
	Key       string            `json:"key,omitempty"`
	ExpiresAt *string           `json:"expires_at"`
	CreatedAt *string           `json:"created_at"`
	UpdatedAt *string           `json:"updated_at"`
}

func convoyKeyOf(k apiKeyView) convoyKey {
	return convoyKey{
		UID: k.UID, Name: k.Name, KeyType: "api", Key: k.Key, ExpiresAt: k.ExpiresAt, CreatedAt: k.CreatedAt, UpdatedAt: k.CreatedAt,
		Role: convoyKeyRoleView{Type: k.Role, Groups: []string{k.groupID}, Apps: []string{}},
	}
}

type convoyCount struct {
	Num int32 `json:"num"`
}

// ---- shapers ----

// related reads, once per answer, the applications and endpoints Convoy's
// shapes embed. One that is gone leaves its part of the shape empty.
type related struct {
	a         *API
	ctx       context.Context
	apps      map[string]convoyAppMetadata
	endpoints map[string]convoyEndpointMetadata
}

func (a *API) related(ctx context.Context) *related {
	return &related{a: a, ctx: ctx, apps: map[string]convoyAppMetadata{}, endpoints: map[string]convoyEndpointMetadata{}}
}

func (rel *related) app(groupID, appID string) (convoyAppMetadata, error) {
	if m, ok := rel.apps[appID]; ok {
		return m, nil
	}
	m := convoyAppMetadata{UID: appID, GroupID: groupID}
	app, err := rel.a.ingest.GetApplication(rel.ctx, &ingestv1.GetApplicationRequest{GroupId: groupID, AppId: appID})
	switch {
	case status.Code(err) == codes.NotFound:
	case err != nil:
		return m, err
	default:
		m.Title, m.SupportEmail = app.GetName(), app.GetSupportEmail()
	}
	rel.apps[appID] = m
	return m, nil
}

func (rel *related) endpoint(groupID, appID, endpointID string) (convoyEndpointMetadata, error) {
	if m, ok := rel.endpoints[endpointID]; ok {
		return m, nil
	}
	m := convoyEndpointMetadata{UID: endpointID}
	e, err := rel.a.ingest.GetEndpoint(rel.ctx, &ingestv1.GetEndpointRequest{GroupId: groupID, AppId: appID, EndpointId: endpointID})
	switch {
	case status.Code(err) == codes.NotFound:
	case err != nil:
		return m, err
	default:
		v := endpointOut(e)
		m = convoyEndpointMetadata{UID: v.UID, TargetURL: v.URL, Status: v.Status, Secret: v.Secret,
			HTTPTimeout: v.HTTPTimeout, RateLimit: v.RateLimit, RateLimitDuration: v.RateLimitDuration}
	}
	rel.endpoints[endpointID] = m
	return m, nil
}

// endpointsOf reads every endpoint of an application.
func (a *API) endpointsOf(ctx context.Context, groupID, appID string) ([]convoyEndpoint, error) {
	out := []convoyEndpoint{}
	p := &ingestv1.PageRequest{PerPage: maxPerPage}
	for {
		res, err := a.ingest.ListEndpoints(ctx, &ingestv1.ListEndpointsRequest{GroupId: groupID, AppId: appID, Page: p})
		if err != nil {
			return nil, err
		}
		for _, e := range res.GetEndpoints() {
			out = append(out, convoyEndpointOf(endpointOut(e)))
		}
		if !res.GetPage().GetHasNextPage() {
			return out, nil
		}
		p.Cursor = res.GetPage().GetNextPageCursor()
	}
}

func (a *API) convoyApplicationOf(ctx context.Context, app applicationView) (convoyApplication, error) {
	eps, err := a.endpointsOf(ctx, app.GroupID, app.UID)
	if err != nil {
		return convoyApplication{}, err
	}
	return convoyApplication{
		UID: app.UID, GroupID: app.GroupID, Name: app.Name, SupportEmail: app.SupportEmail, IsDisabled: app.IsDisabled,
		Endpoints: eps, CreatedAt: app.CreatedAt, UpdatedAt: app.UpdatedAt,
	}, nil
}

func (rel *related) event(e eventView) (convoyEvent, error) {
	m, err := rel.app(e.GroupID, e.AppID)
	return convoyEvent{
		UID: e.UID, EventType: e.EventType, MatchedEndpoints: e.matched, AppMetadata: m,
		CreatedAt: e.CreatedAt, UpdatedAt: e.CreatedAt, data: e.data,
	}, err
}

func (rel *related) delivery(d deliveryView) (convoyDelivery, error) {
	app, err := rel.app(d.GroupID, d.AppID)
	if err != nil {
		return convoyDelivery{}, err
	}
	ep, err := rel.endpoint(d.GroupID, d.AppID, d.EndpointID)
	return convoyDelivery{
		UID: d.UID, Status: d.Status, Description: d.Description, Metadata: d.Metadata,
		EventMetadata: convoyEventMetadata{UID: d.EventID, Name: d.EventType},
		AppMetadata:   app, Endpoint: ep, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}, err
}

// convoyShape is the one shaper of Convoy's routes: it maps each of our
// views (or a page of them) to Convoy's.
func convoyShape(a *API, ctx context.Context, r *http.Request, v any) (any, error) {
	rel := a.related(ctx)
	switch v := v.(type) {
	case nil:
		return struct{}{}, nil // Convoy answered {} where we answer null
	case applicationView:
		return a.convoyApplicationOf(ctx, v)
	case page[applicationView]:
		return mapPage(v, func(app applicationView) (convoyApplication, error) { return a.convoyApplicationOf(ctx, app) })
	case endpointView:
		return convoyEndpointOf(v), nil
	case page[endpointView]:
		// Convoy listed an application's endpoints whole, as an array.
		if p, _ := v.Pagination.(paginationView); !p.HasNextPage {
			return mapSlice(v.Content, convoyEndpointOf), nil
		}
		return a.endpointsOf(ctx, v.Content[0].GroupID, v.Content[0].AppID)
	case eventView:
		return rel.event(v)
	case page[eventView]:
		return mapPage(v, rel.event)
	case deliveryView:
		return rel.delivery(v)
	case page[deliveryView]:
		return mapPage(v, rel.delivery)
	case attemptView:
		return convoyAttemptOf(v), nil
	case []attemptView:
		return mapSlice(v, convoyAttemptOf), nil
	case apiKeyView:
		return convoyKeyOf(v), nil
	case page[apiKeyView]:
		return mapPage(v, func(k apiKeyView) (convoyKey, error) { return convoyKeyOf(k), nil })
	default:
		return v, nil
	}
}

func mapPage[In, Out any](p page[In], f func(In) (Out, error)) (page[Out], error) {
	out := page[Out]{Content: make([]Out, 0, len(p.Content)), Pagination: convoyPaginationOf(p.Pagination)}
	for _, item := range p.Content {
		v, err := f(item)
		if err != nil {
			return page[Out]{}, err
		}
		out.Content = append(out.Content, v)
	}
	return out, nil
}

// updateAPIKey is Convoy's PUT /security/keys/{id}, which changed a key's
// role. A key's group cannot change here, so the only role accepted is the
// one it has; the key is answered unchanged.
func (a *API) updateAPIKey(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[convoyKeyRoleInput](r)
	k, err := a.ingest.GetAPIKey(ctx, &ingestv1.GetAPIKeyRequest{KeyId: r.PathValue("key_id")})
	if err != nil {
		return nil, err
	}
	if role := in.Role; role != nil {
		if len(role.Groups) > 0 && (len(role.Groups) != 1 || role.Groups[0] != k.GetGroupId()) {
			return nil, badRequest("role.groups: a key's group cannot change; create a key in the other group and revoke this one")
		}
		if role.Type != "" && role.Type != cmp.Or(k.GetRole(), "admin") {
			return nil, badRequest("role.type: a key's role cannot change; create a key with the other role and revoke this one")
		}
		if len(role.Apps) > 0 {
			return nil, badRequest("role.apps is not supported: a key acts on its whole group")
		}
	}
	return apiKeyOut(k), nil
}

// convoyKeyRoleInput is the body of Convoy's key update.
type convoyKeyRoleInput struct {
	Role *convoyRole `json:"role"`
}
