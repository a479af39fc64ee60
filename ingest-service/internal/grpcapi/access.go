package grpcapi

import (
	"context"
	"strings"

	"convoy/ingest-service/internal/auth"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// access is who may make a call, beyond being authenticated.
type access int

const (
	// adminOnly: the admin key.
	adminOnly access = iota
	// groupRead: any key of the group, read-only ones included.
	groupRead
	// groupWrite: the group's keys with the admin role.
	groupWrite
	// appRead: groupRead, and a portal token on its own application.
	appRead
	// appResend: groupWrite, and a portal token on its own application's
	// deliveries (resending changes no configuration).
	appResend
	// endpointWrite: groupWrite, and a portal token that may manage
	// endpoints, on its own application's.
	endpointWrite
	// portalOnly: a portal token.
	portalOnly
)

// methodAccess is the policy of every IngestService call, by method name.
// A method missing here is admin-only: a new call fails closed.
var methodAccess = map[string]access{
	// A group key lists its own group only (the handler narrows the list).
	"CreateGroup": adminOnly, "ListGroups": groupRead, "GetGroup": groupRead, "UpdateGroup": groupWrite, "DeleteGroup": groupWrite,

	"CreateAPIKey": adminOnly, "ListAPIKeys": adminOnly, "GetAPIKey": adminOnly, "RevokeAPIKey": adminOnly,

	"CreateApplication": groupWrite, "ListApplications": groupRead, "GetApplication": appRead,
	"UpdateApplication": groupWrite, "DeleteApplication": groupWrite,

	"CreateEndpoint": endpointWrite, "ListEndpoints": appRead, "GetEndpoint": appRead, "UpdateEndpoint": endpointWrite,
	"DeleteEndpoint": endpointWrite, "ExpireSecret": endpointWrite, "GetEndpointStats": appRead,
	"GetEndpointPublicKey": appRead,

	"CreateEvent": groupWrite, "ListEvents": appRead, "GetEvent": appRead, "BroadcastEvent": groupWrite,
	"FanoutEvent": groupWrite, "PrecheckEvent": groupWrite, "TestFilter": groupWrite,
	// A test event goes to one endpoint of the application: a portal link
	// that manages its endpoints may send one to check them.
	"SendTestEvent": endpointWrite,

	"CreateEventType": groupWrite, "ListEventTypes": groupRead, "GetEventType": groupRead,
	"UpdateEventType": groupWrite, "DeleteEventType": groupWrite,

	"ListDeliveries": appRead, "GetDelivery": appRead, "ListAttempts": appRead, "GetAttempt": appRead,
	"ResendDelivery": appResend, "BatchRetryDeliveries": appResend, "CountBatchRetryDeliveries": appRead,
	"ForceResendDeliveries": appResend, "CountDeliveries": appRead,

	"ListMetaEvents": groupRead, "GetMetaEvent": groupRead, "ResendMetaEvent": groupWrite,

	"ListDeadLetters": adminOnly, "RedriveDeadLetters": adminOnly,

	"CreatePortalLink": groupWrite, "ListPortalLinks": groupRead, "RevokePortalLink": groupWrite,
	"GetPortalSession": portalOnly,

	// A listener takes the endpoint's attempts and answers them: it acts
	// for the group, as a write.
	"Listen": groupWrite, "ReportListenOutcome": groupWrite,

	// The group's log is the group's; every group's is the admin's (the
	// handler checks which is asked for).
	"ListAuditLog": groupRead,
}

// methodName is the short name of the call ctx serves ("" outside gRPC).
func methodName(ctx context.Context) string {
	full, _ := grpc.Method(ctx)
	prefix := "/" + ingestv1.IngestService_ServiceDesc.ServiceName + "/"
	if !strings.HasPrefix(full, prefix) {
		return ""
	}
	return strings.TrimPrefix(full, prefix)
}

// caller authenticates the call and checks the method's policy against the
// caller's kind. Scoping to a group or an application is the handlers'.
func (s *Server) caller(ctx context.Context) (auth.Principal, error) {
	p, err := s.auth.Authenticate(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	if err := allowed(p, methodName(ctx)); err != nil {
		return auth.Principal{}, err
	}
	if err := s.limit(ctx, p); err != nil {
		return auth.Principal{}, err
	}
	return p, nil
}

func allowed(p auth.Principal, method string) error {
	a, ok := methodAccess[method]
	if !ok {
		a = adminOnly
	}
	if p.Admin {
		if a == portalOnly {
			return status.Error(codes.Unauthenticated, "this call needs a portal link's token")
		}
		return nil
	}
	if p.Portal != nil {
		switch {
		case a == appRead || a == appResend || a == portalOnly:
			return nil
		case a == endpointWrite && p.Portal.CanManageEndpoints:
			return nil
		case a == endpointWrite:
			return status.Error(codes.PermissionDenied, "this portal link may not manage endpoints")
		}
		return status.Error(codes.PermissionDenied, "a portal link may act only on its application's endpoints, events and deliveries")
	}
	switch a {
	case adminOnly:
		return status.Error(codes.PermissionDenied, "this operation needs the admin API key")
	case portalOnly:
		return status.Error(codes.Unauthenticated, "this call needs a portal link's token")
	case groupWrite, appResend, endpointWrite:
		if p.ReadOnly {
			return status.Error(codes.PermissionDenied, "this API key is read-only")
		}
	}
	return nil
}

// portalApp is the application a portal token is bound to, or "" for
// every other caller. Handlers of appRead, appResend and endpointWrite
// calls answer NotFound for any other application's data.
func (s *Server) portalApp(ctx context.Context) (string, error) {
	p, err := s.auth.Authenticate(ctx)
	if err != nil {
		return "", err
	}
	if p.Portal == nil {
		return "", nil
	}
	return p.Portal.AppID, nil
}

// inApp checks that a portal caller names its own application.
func (s *Server) inApp(ctx context.Context, appID string, what string) error {
	scope, err := s.portalApp(ctx)
	if err != nil {
		return err
	}
	if scope != "" && scope != appID {
		return notFound(what)
	}
	return nil
}

// forceApp narrows a list filter to a portal caller's application, whatever
// the request named: a portal token never lists another application's data.
func (s *Server) forceApp(ctx context.Context, appID *string) error {
	scope, err := s.portalApp(ctx)
	if err != nil || scope == "" {
		return err
	}
	if *appID != "" && *appID != scope {
		return notFound("application")
	}
	*appID = scope
	return nil
}
