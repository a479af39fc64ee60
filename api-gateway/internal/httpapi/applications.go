package httpapi

import (
	"context"
	"net/http"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

type applicationInput struct {
	Name         *string `json:"name"`
	Secret       *string `json:"secret"`
	SupportEmail *string `json:"support_email"`
	// IsDisabled holds new events back (Convoy's name and meaning).
	IsDisabled *bool `json:"is_disabled"`
}

type applicationView struct {
	UID          string  `json:"uid"`
	GroupID      string  `json:"group_id"`
	Name         string  `json:"name"`
	SupportEmail string  `json:"support_email"`
	IsDisabled   bool    `json:"is_disabled"`
	CreatedAt    *string `json:"created_at"`
	UpdatedAt    *string `json:"updated_at"`
}

func applicationOut(app *ingestv1.Application) applicationView {
	return applicationView{
		UID:          app.GetUid(),
		GroupID:      app.GetGroupId(),
		Name:         app.GetName(),
		SupportEmail: app.GetSupportEmail(),
		IsDisabled:   app.GetIsDisabled(),
		CreatedAt:    timeOut(app.GetCreatedAt()),
		UpdatedAt:    timeOut(app.GetUpdatedAt()),
	}
}

func (a *API) createApplication(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[applicationInput](r)
	app, err := a.ingest.CreateApplication(ctx, &ingestv1.CreateApplicationRequest{
		GroupId:      r.PathValue("group_id"),
		Name:         deref(in.Name),
		Secret:       deref(in.Secret),
		SupportEmail: deref(in.SupportEmail),
		IsDisabled:   deref(in.IsDisabled),
	})
	if err != nil {
		return nil, err
	}
	return applicationOut(app), nil
}

func (a *API) listApplications(ctx context.Context, r *http.Request) (any, error) {
	q, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	req := &ingestv1.ListApplicationsRequest{GroupId: r.PathValue("group_id"), NameContains: q.single("q"), Page: q.page()}
	if err := q.err(); err != nil {
		return nil, err
	}
	p := req.Page
	res, err := a.ingest.ListApplications(ctx, req)
	if err != nil {
		return nil, err
	}
	return page[applicationView]{Content: mapSlice(res.GetApplications(), applicationOut), Pagination: paginationOf(res.GetPage(), p)}, nil
}

func (a *API) getApplication(ctx context.Context, r *http.Request) (any, error) {
	app, err := a.ingest.GetApplication(ctx, &ingestv1.GetApplicationRequest{GroupId: r.PathValue("group_id"), AppId: r.PathValue("app_id")})
	if err != nil {
		return nil, err
	}
	return applicationOut(app), nil
}

func (a *API) updateApplication(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[applicationInput](r)
	app, err := a.ingest.UpdateApplication(ctx, &ingestv1.UpdateApplicationRequest{
		GroupId:      r.PathValue("group_id"),
		AppId:        r.PathValue("app_id"),
		Name:         in.Name,
		Secret:       in.Secret,
		SupportEmail: in.SupportEmail,
		IsDisabled:   in.IsDisabled,
	})
	if err != nil {
		return nil, err
	}
	return applicationOut(app), nil
}

func (a *API) deleteApplication(ctx context.Context, r *http.Request) (any, error) {
	_, err := a.ingest.DeleteApplication(ctx, &ingestv1.DeleteApplicationRequest{GroupId: r.PathValue("group_id"), AppId: r.PathValue("app_id")})
	return nil, err
}
