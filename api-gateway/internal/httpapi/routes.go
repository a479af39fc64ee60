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

// public reports whether the route is open without credentials. Every route
// acting on tenant data lives under /api/v1/groups and forwards the caller's
// Authorization; a new route elsewhere forwards nothing, so it fails closed
// at ingest-service rather than open.
func (rt route) public() bool {
	return !strings.HasPrefix(rt.path, "/api/v1/groups")
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
)

func routes() []route {
	const ok, created = http.StatusOK, http.StatusCreated
	return []route{
		{"GET", "/health", "health", ok, "ingest service is serving", accepts{}, (*API).readiness},
		{"GET", "/healthz", "liveness", ok, "api gateway is running", accepts{}, (*API).liveness},
		{"GET", "/readyz", "readiness", ok, "ingest service is serving", accepts{}, (*API).readiness},
		{"GET", "/api/v1/openapi.json", "openapi", ok, "", accepts{}, (*API).openapi},

		{"POST", "/api/v1/groups", "createGroup", created, "Group created successfully", accepts{body: groupInput{}}, (*API).createGroup},
		{"GET", "/api/v1/groups", "listGroups", ok, "Groups fetched successfully", accepts{query: cursorPaging}, (*API).listGroups},
		{"GET", groupPath, "getGroup", ok, "Group fetched successfully", accepts{}, (*API).getGroup},
		{"PUT", groupPath, "updateGroup", ok, "Group updated successfully", accepts{body: groupInput{}}, (*API).updateGroup},
		{"DELETE", groupPath, "deleteGroup", ok, "Group deleted successfully", accepts{}, (*API).deleteGroup},

		{"POST", groupPath + "/keys", "createAPIKey", created, "API key created successfully", accepts{body: apiKeyInput{}}, (*API).createAPIKey},
		{"GET", groupPath + "/keys", "listAPIKeys", ok, "API keys fetched successfully", accepts{query: cursorPaging}, (*API).listAPIKeys},
		{"DELETE", groupPath + "/keys/{key_id}", "revokeAPIKey", ok, "API key revoked successfully", accepts{}, (*API).revokeAPIKey},

		{"POST", groupPath + "/applications", "createApplication", created, "App created successfully", accepts{body: applicationInput{}}, (*API).createApplication},
		{"GET", groupPath + "/applications", "listApplications", ok, "Apps fetched successfully", accepts{query: cursorPaging}, (*API).listApplications},
		{"GET", appPath, "getApplication", ok, "App fetched successfully", accepts{}, (*API).getApplication},
		{"PUT", appPath, "updateApplication", ok, "App updated successfully", accepts{body: applicationInput{}}, (*API).updateApplication},
		{"DELETE", appPath, "deleteApplication", ok, "App deleted successfully", accepts{}, (*API).deleteApplication},

		{"POST", appPath + "/endpoints", "createEndpoint", created, "App endpoint created successfully", accepts{body: endpointCreateInput{}}, (*API).createEndpoint},
		{"GET", appPath + "/endpoints", "listEndpoints", ok, "App endpoints fetched successfully", accepts{query: cursorPaging}, (*API).listEndpoints},
		{"GET", endpointPath, "getEndpoint", ok, "App endpoint fetched successfully", accepts{}, (*API).getEndpoint},
		{"PUT", endpointPath, "updateEndpoint", ok, "App endpoint updated successfully", accepts{body: endpointUpdateInput{}}, (*API).updateEndpoint},
		{"DELETE", endpointPath, "deleteEndpoint", ok, "App endpoint deleted successfully", accepts{}, (*API).deleteEndpoint},
		{"POST", endpointPath + "/expire_secret", "expireSecret", ok, "Endpoint secret expired successfully", accepts{body: expireSecretInput{}}, (*API).expireSecret},

		{"POST", groupPath + "/events", "createEvent", created, "App event created successfully", accepts{body: eventInput{}}, (*API).createEvent},
		{"GET", groupPath + "/events", "listEvents", ok, "App events fetched successfully", accepts{query: params(eventFilters, cursorPaging)}, (*API).listEvents},
		{"GET", groupPath + "/events/{event_id}", "getEvent", ok, "App event fetched successfully", accepts{}, (*API).getEvent},

		{"GET", deliveryPath, "listDeliveries", ok, "Event deliveries fetched successfully", accepts{query: params(deliveryFilters, cursorPaging)}, (*API).listDeliveries},
		{"GET", deliveryPath + "/{delivery_id}", "getDelivery", ok, "Event delivery fetched successfully", accepts{}, (*API).getDelivery},
		{"GET", deliveryPath + "/{delivery_id}/deliveryattempts", "listAttempts", ok, "Delivery attempts fetched successfully", accepts{}, (*API).listAttempts},
		{"PUT", deliveryPath + "/{delivery_id}/resend", "resendDelivery", ok, "Event delivery resent successfully", accepts{}, (*API).resendDelivery},
		{"POST", deliveryPath + "/batchretry", "batchRetryDeliveries", ok, "Event deliveries retried successfully", accepts{query: deliveryFilters, body: idsInput{}}, (*API).batchRetryDeliveries},
		{"POST", deliveryPath + "/forceresend", "forceResendDeliveries", ok, "Event deliveries resent successfully", accepts{body: idsInput{}}, (*API).forceResendDeliveries},
	}
}
