package grpcapi

import (
	"context"
	"strings"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// CreateApplication creates an application in a group.
func (s *Server) CreateApplication(ctx context.Context, req *ingestv1.CreateApplicationRequest) (*ingestv1.Application, error) {
	if _, err := s.group(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	if err := firstError(validateName("name", req.Name), validateSecret("secret", req.Secret), validateEmail("support_email", req.SupportEmail), validateOwnerID(req.OwnerId)); err != nil {
		return nil, s.toStatus(ctx, "application", err)
	}
	at := now()
	a := &model.Application{
		UID: ids.New(), GroupID: req.GroupId, Name: strings.TrimSpace(req.Name),
		Secret: req.Secret, SupportEmail: req.SupportEmail, OwnerID: strings.TrimSpace(req.OwnerId), IsDisabled: req.IsDisabled,
		CreatedAt: at, UpdatedAt: at,
	}
	if err := s.store.CreateApplication(ctx, a); err != nil {
		return nil, s.toStatus(ctx, "application", err)
	}
	s.audit(ctx, a.GroupID, "create", "application", a.UID, "", auditDocument(a))
	return appPB(a), nil
}

// ListApplications lists a group's applications, newest first.
func (s *Server) ListApplications(ctx context.Context, req *ingestv1.ListApplicationsRequest) (*ingestv1.ListApplicationsResponse, error) {
	if _, err := s.group(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	p, err := page(req.Page)
	if err != nil {
		return nil, s.toStatus(ctx, "application", err)
	}
	if err := validateOwnerID(req.OwnerId); err != nil {
		return nil, s.toStatus(ctx, "application", err)
	}
	apps, info, err := s.store.ListApplications(ctx, req.GroupId, store.ApplicationFilter{NameContains: req.NameContains, OwnerID: strings.TrimSpace(req.OwnerId)}, p)
	if err != nil {
		return nil, s.toStatus(ctx, "application", err)
	}
	out := &ingestv1.ListApplicationsResponse{Page: pageInfo(p, info)}
	for i := range apps {
		out.Applications = append(out.Applications, appPB(&apps[i]))
	}
	return out, nil
}

// GetApplication returns one application.
func (s *Server) GetApplication(ctx context.Context, req *ingestv1.GetApplicationRequest) (*ingestv1.Application, error) {
	a, err := s.app(ctx, &req.GroupId, req.AppId)
	if err != nil {
		return nil, err
	}
	return appPB(a), nil
}

// UpdateApplication changes the fields that are set.
func (s *Server) UpdateApplication(ctx context.Context, req *ingestv1.UpdateApplicationRequest) (*ingestv1.Application, error) {
	a, err := s.app(ctx, &req.GroupId, req.AppId)
	if err != nil {
		return nil, err
	}
	before := auditDocument(a)
	if req.Name != nil {
		if err := validateName("name", *req.Name); err != nil {
			return nil, s.toStatus(ctx, "application", err)
		}
		a.Name = strings.TrimSpace(*req.Name)
	}
	if req.Secret != nil {
		if err := validateSecret("secret", *req.Secret); err != nil {
			return nil, s.toStatus(ctx, "application", err)
		}
		a.Secret = *req.Secret
	}
	if req.SupportEmail != nil {
		if err := validateEmail("support_email", *req.SupportEmail); err != nil {
			return nil, s.toStatus(ctx, "application", err)
		}
		a.SupportEmail = *req.SupportEmail
	}
	if req.OwnerId != nil {
		if err := validateOwnerID(*req.OwnerId); err != nil {
			return nil, s.toStatus(ctx, "application", err)
		}
		a.OwnerID = strings.TrimSpace(*req.OwnerId)
	}
	if req.IsDisabled != nil {
		a.IsDisabled = *req.IsDisabled
	}
	a.UpdatedAt = now()
	if err := s.store.ReplaceApplication(ctx, a); err != nil {
		return nil, s.toStatus(ctx, "application", err)
	}
	s.apps.Forget(a.UID)
	s.routesChanged(ctx, a.GroupID)
	s.audit(ctx, a.GroupID, "update", "application", a.UID, before, auditDocument(a))
	return appPB(a), nil
}

// DeleteApplication deletes an application and its endpoints.
func (s *Server) DeleteApplication(ctx context.Context, req *ingestv1.DeleteApplicationRequest) (*ingestv1.DeleteApplicationResponse, error) {
	a, err := s.app(ctx, &req.GroupId, req.AppId)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteApplication(ctx, req.GroupId, req.AppId); err != nil {
		return nil, s.toStatus(ctx, "application", err)
	}
	s.audit(ctx, a.GroupID, "delete", "application", a.UID, auditDocument(a), "")
	s.apps.Forget(req.AppId)
	s.endpoints.Forget(req.AppId)
	s.routesChanged(ctx, req.GroupId)
	return &ingestv1.DeleteApplicationResponse{}, nil
}

// app authenticates a call and loads an application of the group fresh.
func (s *Server) app(ctx context.Context, groupID *string, appID string) (*model.Application, error) {
	if err := s.inGroup(ctx, groupID); err != nil {
		return nil, err
	}
	if err := s.inApp(ctx, appID, "application"); err != nil {
		return nil, err
	}
	a, err := s.store.GetApplication(ctx, *groupID, appID)
	return a, s.toStatus(ctx, "application", err)
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
