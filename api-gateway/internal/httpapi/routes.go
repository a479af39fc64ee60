package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"strings"
)

// route is one row of the route table. The same table registers the mux
// and is checked against openapi.json by the tests, so the two cannot
// drift apart.
type route struct {
	method string
	// path is both the ServeMux pattern and the OpenAPI path template.
	path        string
	operationID string
	// status and message are what a success answers.
	status  int
	message string
	// in is what the route reads from the query and body; anything else
	// is refused with a 400 naming it.
	in     accepts
	handle func(a *API, ctx context.Context, r *http.Request) (any, error)
}

// credentialed are the path prefixes of every route that acts on data:
// tenant data under /api/v1/groups and Convoy v0.5's top-level paths,
// operator data under /api/v1/admin, a portal link's own under
// /api/v1/portal.
var credentialed = []string{
	"/api/v1/groups", "/api/v1/admin", "/api/v1/portal",
	"/api/v1/applications", "/api/v1/events", "/api/v1/eventdeliveries", "/api/v1/security",
}

// public reports whether the route is open without credentials. A route
// under a credentialed prefix forwards the caller's Authorization; a new
// route elsewhere forwards nothing, so it fails closed at ingest-service
// rather than open.
func (rt route) public() bool {
	for _, p := range credentialed {
		if rt.path == p || strings.HasPrefix(rt.path, p+"/") {
			return false
		}
	}
	return true
}

var wildcard = regexp.MustCompile(`\{([a-z_]+)\}`)

// pathParams lists the route's {wildcards}.
func (rt route) pathParams() []string {
	var names []string
	for _, m := range wildcard.FindAllStringSubmatch(rt.path, -1) {
		names = append(names, m[1])
	}
	return names
}

const (
	groupPath    = "/api/v1/groups/{group_id}"
	appPath      = groupPath + "/applications/{app_id}"
	endpointPath = appPath + "/endpoints/{endpoint_id}"
	deliveryPath = groupPath + "/eventdeliveries"

	// Convoy v0.5's paths: the group is the groupId parameter or the key's.
	convoyAppsPath       = "/api/v1/applications"
	convoyAppPath        = convoyAppsPath + "/{app_id}"
	convoyEndpointPath   = convoyAppPath + "/endpoints/{endpoint_id}"
	convoyEventsPath     = "/api/v1/events"
	convoyDeliveriesPath = "/api/v1/eventdeliveries"
	convoyDeliveryPath   = convoyDeliveriesPath + "/{delivery_id}"
	convoyKeysPath       = "/api/v1/security/keys"

	metaPath  = groupPath + "/meta-events"
	adminPath = "/api/v1/admin"
)

// Convoy v0.5's query parameters, by our names (queryAliases has Convoy's).
var (
	convoyGroup    = []string{"group_id"}
	convoyPaging   = []string{"per_page", "page", "sort"}
	convoyFilters  = []string{"app_id", "event_id", "endpoint_id", "status", "start_date", "end_date"}
	convoyCountQry = params(convoyGroup, convoyFilters, convoyPaging)
)

func routes() []route {
	const ok, created = http.StatusOK, http.StatusCreated
	return []route{
		{"GET", "/health", "health", ok, "ingest service is serving", accepts{}, (*API).readiness},
		{"GET", "/api/v1/openapi.json", "openapi", ok, "", accepts{}, (*API).openapi},

		{"POST", "/api/v1/groups", "createGroup", created, "Group created successfully", accepts{body: groupInput{}}, (*API).createGroup},
		{"GET", "/api/v1/groups", "listGroups", ok, "Groups fetched successfully", accepts{query: params(cursorPaging, []string{"name"})}, (*API).listGroups},
		{"GET", groupPath, "getGroup", ok, "Group fetched successfully", accepts{}, (*API).getGroup},
		{"PUT", groupPath, "updateGroup", ok, "Group updated successfully", accepts{body: groupInput{}}, (*API).updateGroup},
		{"DELETE", groupPath, "deleteGroup", ok, "Group deleted successfully", accepts{}, (*API).deleteGroup},

		{"POST", groupPath + "/keys", "createAPIKey", created, "API key created successfully", accepts{body: apiKeyInput{}}, (*API).createAPIKey},
		{"GET", groupPath + "/keys", "listAPIKeys", ok, "API keys fetched successfully", accepts{query: cursorPaging}, (*API).listAPIKeys},
		{"DELETE", groupPath + "/keys/{key_id}", "revokeAPIKey", ok, "API key revoked successfully", accepts{}, (*API).revokeAPIKey},

		{"POST", groupPath + "/applications", "createApplication", created, "App created successfully", accepts{body: applicationInput{}}, (*API).createApplication},
		{"GET", groupPath + "/applications", "listApplications", ok, "Apps fetched successfully", accepts{query: params(cursorPaging, []string{"owner_id", "q"})}, (*API).listApplications},
		{"GET", appPath, "getApplication", ok, "App fetched successfully", accepts{}, (*API).getApplication},
		{"PUT", appPath, "updateApplication", ok, "App updated successfully", accepts{body: applicationInput{}}, (*API).updateApplication},
		{"DELETE", appPath, "deleteApplication", ok, "App deleted successfully", accepts{}, (*API).deleteApplication},

		{"POST", appPath + "/portal_links", "createPortalLink", created, "Portal link created successfully", accepts{body: portalLinkInput{}}, (*API).createPortalLink},
		{"GET", appPath + "/portal_links", "listPortalLinks", ok, "Portal links fetched successfully", accepts{query: cursorPaging}, (*API).listPortalLinks},
		{"DELETE", appPath + "/portal_links/{portal_link_id}", "revokePortalLink", ok, "Portal link revoked successfully", accepts{}, (*API).revokePortalLink},
		{"GET", "/api/v1/portal/session", "getPortalSession", ok, "Portal session fetched successfully", accepts{}, (*API).getPortalSession},

		{"POST", appPath + "/endpoints", "createEndpoint", created, "App endpoint created successfully", accepts{body: endpointCreateInput{}}, (*API).createEndpoint},
		{"GET", appPath + "/endpoints", "listEndpoints", ok, "App endpoints fetched successfully", accepts{query: cursorPaging}, (*API).listEndpoints},
		{"GET", endpointPath, "getEndpoint", ok, "App endpoint fetched successfully", accepts{}, (*API).getEndpoint},
		{"PUT", endpointPath, "updateEndpoint", ok, "App endpoint updated successfully", accepts{body: endpointUpdateInput{}}, (*API).updateEndpoint},
		{"DELETE", endpointPath, "deleteEndpoint", ok, "App endpoint deleted successfully", accepts{}, (*API).deleteEndpoint},
		{"POST", endpointPath + "/expire_secret", "expireSecret", ok, "Endpoint secret expired successfully", accepts{body: expireSecretInput{}}, (*API).expireSecret},
		{"POST", endpointPath + "/test", "sendTestEvent", created, "Test event sent successfully", accepts{body: testEventInput{}}, (*API).sendTestEvent},
		{"GET", endpointPath + "/public_key", "getEndpointPublicKey", ok, "Endpoint public key fetched successfully", accepts{}, (*API).getEndpointPublicKey},
		{"GET", endpointPath + "/stats", "getEndpointStats", ok, "Endpoint stats fetched successfully", accepts{query: []string{"window"}}, (*API).getEndpointStats},

		{"POST", groupPath + "/events", "createEvent", created, "App event created successfully", accepts{body: eventInput{}}, (*API).createEvent},
		{"GET", groupPath + "/events", "listEvents", ok, "App events fetched successfully", accepts{query: params(eventFilters, cursorPaging)}, (*API).listEvents},
		{"GET", groupPath + "/events/{event_id}", "getEvent", ok, "App event fetched successfully", accepts{}, (*API).getEvent},
		{"POST", groupPath + "/events/broadcast", "broadcastEvent", created, "Broadcast event created successfully", accepts{body: broadcastInput{}}, (*API).broadcastEvent},
		{"POST", groupPath + "/events/fanout", "fanoutEvent", created, "Fanout event created successfully", accepts{body: fanoutInput{}}, (*API).fanoutEvent},
		{"POST", groupPath + "/events/precheck", "precheckEvent", ok, "Event prechecked successfully", accepts{body: precheckInput{}}, (*API).precheckEvent},
		{"POST", groupPath + "/filters/test", "testFilter", ok, "Filter tested successfully", accepts{body: filterTestInput{}}, (*API).testFilter},

		{"POST", groupPath + "/event-types", "createEventType", created, "Event type created successfully", accepts{body: eventTypeInput{}}, (*API).createEventType},
		{"GET", groupPath + "/event-types", "listEventTypes", ok, "Event types fetched successfully", accepts{query: cursorPaging}, (*API).listEventTypes},
		{"GET", groupPath + "/event-types/{event_type_id}", "getEventType", ok, "Event type fetched successfully", accepts{}, (*API).getEventType},
		{"PUT", groupPath + "/event-types/{event_type_id}", "updateEventType", ok, "Event type updated successfully", accepts{body: eventTypeInput{}}, (*API).updateEventType},
		{"DELETE", groupPath + "/event-types/{event_type_id}", "deleteEventType", ok, "Event type deleted successfully", accepts{}, (*API).deleteEventType},

		{"GET", deliveryPath, "listDeliveries", ok, "Event deliveries fetched successfully", accepts{query: params(deliveryFilters, cursorPaging)}, (*API).listDeliveries},
		{"GET", deliveryPath + "/{delivery_id}", "getDelivery", ok, "Event delivery fetched successfully", accepts{}, (*API).getDelivery},
		{"GET", deliveryPath + "/countbatchretryevents", "countBatchRetryDeliveries", ok, "Event deliveries counted successfully", accepts{query: deliveryFilters}, (*API).countBatchRetryDeliveries},
		{"GET", deliveryPath + "/counts", "countDeliveries", ok, "Event deliveries counted successfully", accepts{query: deliveryCountFilters}, (*API).countDeliveries},
		{"GET", deliveryPath + "/{delivery_id}/deliveryattempts", "listAttempts", ok, "Delivery attempts fetched successfully", accepts{}, (*API).listAttempts},
		{"GET", deliveryPath + "/{delivery_id}/deliveryattempts/{attempt_id}", "getAttempt", ok, "Delivery attempt fetched successfully", accepts{}, (*API).getAttempt},
		{"PUT", deliveryPath + "/{delivery_id}/resend", "resendDelivery", ok, "Event delivery resent successfully", accepts{}, (*API).resendDelivery},
		{"POST", deliveryPath + "/batchretry", "batchRetryDeliveries", ok, "Event deliveries retried successfully", accepts{query: deliveryFilters, body: idsInput{}}, (*API).batchRetryDeliveries},
		{"POST", deliveryPath + "/forceresend", "forceResendDeliveries", ok, "Event deliveries resent successfully", accepts{body: idsInput{}}, (*API).forceResendDeliveries},

		{"GET", metaPath, "listMetaEvents", ok, "Meta events fetched successfully", accepts{query: cursorPaging}, (*API).listMetaEvents},
		{"GET", metaPath + "/{meta_event_id}", "getMetaEvent", ok, "Meta event fetched successfully", accepts{}, (*API).getMetaEvent},
		{"PUT", metaPath + "/{meta_event_id}/resend", "resendMetaEvent", ok, "Meta event resent successfully", accepts{}, (*API).resendMetaEvent},
		{"GET", groupPath + "/audit_log", "listAuditLog", ok, "Audit log fetched successfully", accepts{query: cursorPaging}, (*API).listAuditLog},
		{"GET", adminPath + "/audit_log", "listAllAuditLog", ok, "Audit log fetched successfully", accepts{query: cursorPaging}, (*API).listAuditLog},
		{"GET", adminPath + "/deadletters", "listDeadLetters", ok, "Dead letters fetched successfully", accepts{query: cursorPaging}, (*API).listDeadLetters},
		{"POST", adminPath + "/deadletters/redrive", "redriveDeadLetters", ok, "Dead letters redriven successfully", accepts{body: redriveInput{}}, (*API).redriveDeadLetters},
		{"GET", adminPath + "/encryption", "getEncryption", ok, "Encryption status fetched successfully", accepts{}, (*API).getEncryption},
		{"POST", adminPath + "/encryption/rotate", "rotateEncryption", http.StatusAccepted, "Key rotation started", accepts{}, (*API).rotateEncryption},

		// Convoy v0.5's API (its groups routes are ours above). Convoy
		// answered 200 on create.
		{"GET", convoyAppsPath, "convoyListApplications", ok, "Apps fetched successfully", accepts{query: params(convoyGroup, convoyPaging, []string{"q"})}, convoy((*API).listApplications, convoyShape)},
		{"POST", convoyAppsPath, "convoyCreateApplication", ok, "App created successfully", accepts{query: convoyGroup, body: convoyApplicationInput{}}, convoy((*API).createApplication, convoyShape)},
		{"GET", convoyAppPath, "convoyGetApplication", ok, "App fetched successfully", accepts{query: convoyGroup}, convoy((*API).getApplication, convoyShape)},
		{"PUT", convoyAppPath, "convoyUpdateApplication", ok, "App updated successfully", accepts{query: convoyGroup, body: convoyApplicationInput{}}, convoy((*API).updateApplication, convoyShape)},
		{"DELETE", convoyAppPath, "convoyDeleteApplication", ok, "App deleted successfully", accepts{query: convoyGroup}, convoy((*API).deleteApplication, convoyShape)},
		{"GET", convoyAppPath + "/endpoints", "convoyListEndpoints", ok, "App endpoints fetched successfully", accepts{query: convoyGroup}, convoy((*API).listEndpoints, convoyShape)},
		{"POST", convoyAppPath + "/endpoints", "convoyCreateEndpoint", ok, "App endpoint created successfully", accepts{query: convoyGroup, body: endpointCreateInput{}}, convoy((*API).createEndpoint, convoyShape)},
		{"GET", convoyEndpointPath, "convoyGetEndpoint", ok, "App endpoint fetched successfully", accepts{query: convoyGroup}, convoy((*API).getEndpoint, convoyShape)},
		{"PUT", convoyEndpointPath, "convoyUpdateEndpoint", ok, "App endpoint updated successfully", accepts{query: convoyGroup, body: endpointUpdateInput{}}, convoy((*API).updateEndpoint, convoyShape)},
		{"DELETE", convoyEndpointPath, "convoyDeleteEndpoint", ok, "App endpoint deleted successfully", accepts{query: convoyGroup}, convoy((*API).deleteEndpoint, convoyShape)},

		{"GET", convoyEventsPath, "convoyListEvents", ok, "App events fetched successfully", accepts{query: params(convoyGroup, eventFilters, convoyPaging)}, convoy((*API).listEvents, convoyShape)},
		{"POST", convoyEventsPath, "convoyCreateEvent", ok, "App event created successfully", accepts{query: convoyGroup, body: eventInput{}}, convoy((*API).createEvent, convoyShape)},
		{"GET", convoyEventsPath + "/{event_id}", "convoyGetEvent", ok, "App event fetched successfully", accepts{query: convoyGroup}, convoy((*API).getEvent, convoyShape)},

		{"GET", convoyDeliveriesPath, "convoyListDeliveries", ok, "Event deliveries fetched successfully", accepts{query: params(convoyGroup, convoyFilters, convoyPaging)}, convoy((*API).listDeliveries, convoyShape)},
		{"POST", convoyDeliveriesPath + "/batchretry", "convoyBatchRetryDeliveries", ok, "Event deliveries retried successfully", accepts{query: params(convoyGroup, convoyFilters), body: idsInput{}}, convoy((*API).batchRetryDeliveries, convoyShape)},
		// Convoy's Go SDK of v0.5's time sends batchretry as a PUT.
		{"PUT", convoyDeliveriesPath + "/batchretry", "convoyBatchRetryDeliveriesPut", ok, "Event deliveries retried successfully", accepts{query: params(convoyGroup, convoyFilters), body: idsInput{}}, convoy((*API).batchRetryDeliveries, convoyShape)},
		{"GET", convoyDeliveriesPath + "/countbatchretryevents", "convoyCountBatchRetryDeliveries", ok, "Event deliveries counted successfully", accepts{query: convoyCountQry}, convoy((*API).countBatchRetryDeliveries, convoyShape)},
		{"POST", convoyDeliveriesPath + "/forceresend", "convoyForceResendDeliveries", ok, "Event deliveries resent successfully", accepts{query: convoyGroup, body: idsInput{}}, convoy((*API).forceResendDeliveries, convoyShape)},
		{"GET", convoyDeliveryPath, "convoyGetDelivery", ok, "Event delivery fetched successfully", accepts{query: convoyGroup}, convoy((*API).getDelivery, convoyShape)},
		{"PUT", convoyDeliveryPath + "/resend", "convoyResendDelivery", ok, "Event delivery resent successfully", accepts{query: convoyGroup}, convoy((*API).resendDelivery, convoyShape)},
		{"GET", convoyDeliveryPath + "/deliveryattempts", "convoyListAttempts", ok, "Delivery attempts fetched successfully", accepts{query: convoyGroup}, convoy((*API).listAttempts, convoyShape)},
		{"GET", convoyDeliveryPath + "/deliveryattempts/{attempt_id}", "convoyGetAttempt", ok, "Delivery attempt fetched successfully", accepts{query: convoyGroup}, convoy((*API).getAttempt, convoyShape)},

		{"POST", convoyKeysPath, "convoyCreateAPIKey", ok, "API key created successfully", accepts{body: convoyKeyInput{}}, convoy(keyGroupFromBody((*API).createAPIKey), convoyShape)},
		{"GET", convoyKeysPath, "convoyListAPIKeys", ok, "API keys fetched successfully", accepts{query: convoyPaging}, convoy((*API).listAPIKeys, convoyShape)},
		{"GET", convoyKeysPath + "/{key_id}", "convoyGetAPIKey", ok, "API key fetched successfully", accepts{}, convoy((*API).getAPIKey, convoyShape)},
		{"PUT", convoyKeysPath + "/{key_id}", "convoyUpdateAPIKey", ok, "API key updated successfully", accepts{body: convoyKeyRoleInput{}}, convoy((*API).updateAPIKey, convoyShape)},
		{"PUT", convoyKeysPath + "/{key_id}/revoke", "convoyRevokeAPIKey", ok, "API key revoked successfully", accepts{}, convoy((*API).revokeAPIKey, convoyShape)},
	}
}
