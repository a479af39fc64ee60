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
	handle  func(a *API, ctx context.Context, r *http.Request) (any, error)
}

// credentialed are the path prefixes of every route that acts on data:
// tenant data under /api/v1/groups, operator data under /api/v1/admin.
var credentialed = []string{"/api/v1/groups", "/api/v1/admin"}

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
	metaPath     = groupPath + "/meta-events"
	adminPath    = "/api/v1/admin"
)

func routes() []route {
	const ok, created = http.StatusOK, http.StatusCreated
	return []route{
		{"GET", "/health", "health", ok, "ingest service is serving", (*API).readiness},
		{"GET", "/api/v1/openapi.json", "openapi", ok, "", (*API).openapi},

		{"POST", "/api/v1/groups", "createGroup", created, "Group created successfully", (*API).createGroup},
		{"GET", "/api/v1/groups", "listGroups", ok, "Groups fetched successfully", (*API).listGroups},
		{"GET", groupPath, "getGroup", ok, "Group fetched successfully", (*API).getGroup},
		{"PUT", groupPath, "updateGroup", ok, "Group updated successfully", (*API).updateGroup},
		{"DELETE", groupPath, "deleteGroup", ok, "Group deleted successfully", (*API).deleteGroup},

		{"POST", groupPath + "/keys", "createAPIKey", created, "API key created successfully", (*API).createAPIKey},
		{"GET", groupPath + "/keys", "listAPIKeys", ok, "API keys fetched successfully", (*API).listAPIKeys},
		{"DELETE", groupPath + "/keys/{key_id}", "revokeAPIKey", ok, "API key revoked successfully", (*API).revokeAPIKey},

		{"POST", groupPath + "/applications", "createApplication", created, "App created successfully", (*API).createApplication},
		{"GET", groupPath + "/applications", "listApplications", ok, "Apps fetched successfully", (*API).listApplications},
		{"GET", appPath, "getApplication", ok, "App fetched successfully", (*API).getApplication},
		{"PUT", appPath, "updateApplication", ok, "App updated successfully", (*API).updateApplication},
		{"DELETE", appPath, "deleteApplication", ok, "App deleted successfully", (*API).deleteApplication},

		{"POST", appPath + "/endpoints", "createEndpoint", created, "App endpoint created successfully", (*API).createEndpoint},
		{"GET", appPath + "/endpoints", "listEndpoints", ok, "App endpoints fetched successfully", (*API).listEndpoints},
		{"GET", endpointPath, "getEndpoint", ok, "App endpoint fetched successfully", (*API).getEndpoint},
		{"PUT", endpointPath, "updateEndpoint", ok, "App endpoint updated successfully", (*API).updateEndpoint},
		{"DELETE", endpointPath, "deleteEndpoint", ok, "App endpoint deleted successfully", (*API).deleteEndpoint},
		{"POST", endpointPath + "/expire_secret", "expireSecret", ok, "Endpoint secret expired successfully", (*API).expireSecret},
		{"GET", endpointPath + "/stats", "getEndpointStats", ok, "Endpoint stats fetched successfully", (*API).getEndpointStats},

		{"POST", groupPath + "/events", "createEvent", created, "App event created successfully", (*API).createEvent},
		{"GET", groupPath + "/events", "listEvents", ok, "App events fetched successfully", (*API).listEvents},
		{"GET", groupPath + "/events/{event_id}", "getEvent", ok, "App event fetched successfully", (*API).getEvent},

		{"GET", deliveryPath, "listDeliveries", ok, "Event deliveries fetched successfully", (*API).listDeliveries},
		{"GET", deliveryPath + "/{delivery_id}", "getDelivery", ok, "Event delivery fetched successfully", (*API).getDelivery},
		{"GET", deliveryPath + "/{delivery_id}/deliveryattempts", "listAttempts", ok, "Delivery attempts fetched successfully", (*API).listAttempts},
		{"PUT", deliveryPath + "/{delivery_id}/resend", "resendDelivery", ok, "Event delivery resent successfully", (*API).resendDelivery},
		{"POST", deliveryPath + "/batchretry", "batchRetryDeliveries", ok, "Event deliveries retried successfully", (*API).batchRetryDeliveries},
		{"POST", deliveryPath + "/forceresend", "forceResendDeliveries", ok, "Event deliveries resent successfully", (*API).forceResendDeliveries},

		{"GET", metaPath, "listMetaEvents", ok, "Meta events fetched successfully", (*API).listMetaEvents},
		{"GET", metaPath + "/{meta_event_id}", "getMetaEvent", ok, "Meta event fetched successfully", (*API).getMetaEvent},
		{"PUT", metaPath + "/{meta_event_id}/resend", "resendMetaEvent", ok, "Meta event resent successfully", (*API).resendMetaEvent},
		{"GET", adminPath + "/deadletters", "listDeadLetters", ok, "Dead letters fetched successfully", (*API).listDeadLetters},
		{"POST", adminPath + "/deadletters/redrive", "redriveDeadLetters", ok, "Dead letters redriven successfully", (*API).redriveDeadLetters},
	}
}
