package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// portalPagePath is where the web console serves an application's portal.
const portalPagePath = "/ui/portal"

type portalLinkInput struct {
	// ExpiresIn is a Go duration ("24h") or whole days ("7d"); default 24h.
	ExpiresIn          *string  `json:"expires_in"`
	CanManageEndpoints *bool    `json:"can_manage_endpoints"`
	FrameAncestors     []string `json:"frame_ancestors"`
}

type portalLinkView struct {
	UID     string `json:"uid"`
	GroupID string `json:"group_id"`
	AppID   string `json:"app_id"`
	// URL and Token are present only in the answer to the link's creation.
	URL                string   `json:"url,omitempty"`
	Token              string   `json:"token,omitempty"`
	ExpiresAt          *string  `json:"expires_at"`
	CanManageEndpoints bool     `json:"can_manage_endpoints"`
	FrameAncestors     []string `json:"frame_ancestors"`
	CreatedAt          *string  `json:"created_at"`
}

func portalLinkOut(l *ingestv1.PortalLink) portalLinkView {
	return portalLinkView{
		UID: l.GetUid(), GroupID: l.GetGroupId(), AppID: l.GetAppId(), Token: l.GetToken(),
		ExpiresAt: timeOut(l.GetExpiresAt()), CanManageEndpoints: l.GetCanManageEndpoints(),
		FrameAncestors: strings0(l.GetFrameAncestors()), CreatedAt: timeOut(l.GetCreatedAt()),
	}
}

func strings0(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *API) createPortalLink(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[portalLinkInput](r)
	req := &ingestv1.CreatePortalLinkRequest{GroupId: r.PathValue("group_id"), AppId: r.PathValue("app_id"), FrameAncestors: in.FrameAncestors}
	if in.ExpiresIn != nil {
		req.ExpiresIn = *in.ExpiresIn
		if req.ExpiresIn == "" {
			return nil, badRequest("expires_in must not be empty: leave it out for 24h")
		}
	}
	if in.CanManageEndpoints != nil {
		req.CanManageEndpoints = *in.CanManageEndpoints
	}
	l, err := a.ingest.CreatePortalLink(ctx, req)
	if err != nil {
		return nil, err
	}
	v := portalLinkOut(l)
	v.URL = a.publicBase(r) + portalPagePath + "?token=" + url.QueryEscape(l.GetToken())
	return v, nil
}

// publicBase is where users reach the gateway: CONVOY_PUBLIC_URL when set
// (behind a proxy the request's own host may be an internal one), else
// the scheme and host the request came in on.
func (a *API) publicBase(r *http.Request) string {
	if a.opts.PublicURL != "" {
		return strings.TrimRight(a.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (a *API) listPortalLinks(ctx context.Context, r *http.Request) (any, error) {
	p, err := pageOnly(r)
	if err != nil {
		return nil, err
	}
	res, err := a.ingest.ListPortalLinks(ctx, &ingestv1.ListPortalLinksRequest{GroupId: r.PathValue("group_id"), AppId: r.PathValue("app_id"), Page: p})
	if err != nil {
		return nil, err
	}
	return page[portalLinkView]{Content: mapSlice(res.GetLinks(), portalLinkOut), Pagination: paginationOf(res.GetPage(), p)}, nil
}

func (a *API) revokePortalLink(ctx context.Context, r *http.Request) (any, error) {
	_, err := a.ingest.RevokePortalLink(ctx, &ingestv1.RevokePortalLinkRequest{
		GroupId: r.PathValue("group_id"), AppId: r.PathValue("app_id"), PortalLinkId: r.PathValue("portal_link_id"),
	})
	return nil, err
}

type portalSessionView struct {
	UID                string   `json:"uid"`
	GroupID            string   `json:"group_id"`
	AppID              string   `json:"app_id"`
	AppName            string   `json:"app_name"`
	CanManageEndpoints bool     `json:"can_manage_endpoints"`
	ExpiresAt          *string  `json:"expires_at"`
	FrameAncestors     []string `json:"frame_ancestors"`
}

func (a *API) getPortalSession(ctx context.Context, _ *http.Request) (any, error) {
	s, err := a.ingest.GetPortalSession(ctx, &ingestv1.GetPortalSessionRequest{})
	if err != nil {
		return nil, err
	}
	return portalSessionView{
		UID: s.GetUid(), GroupID: s.GetGroupId(), AppID: s.GetAppId(), AppName: s.GetAppName(),
		CanManageEndpoints: s.GetCanManageEndpoints(), ExpiresAt: timeOut(s.GetExpiresAt()),
		FrameAncestors: strings0(s.GetFrameAncestors()),
	}, nil
}
