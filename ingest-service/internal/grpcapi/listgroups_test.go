package grpcapi_test

import (
	"testing"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// A group key's group list is its own group alone, whatever other groups
// exist, kept or dropped by the name filter, on one page; the admin's list
// still holds every group.
func TestListGroupsForAGroupKey(t *testing.T) {
	h := newHarness(t)
	mine, theirs := h.group(t, "mine"), h.group(t, "theirs")
	key := h.as(h.keyOf(t, mine.Uid))
	list := func(req *ingestv1.ListGroupsRequest) []string {
		var out []string
		for _, g := range must(h.api.ListGroups(key, req))(t).Groups {
			out = append(out, g.Uid)
		}
		return out
	}
	if got := list(&ingestv1.ListGroupsRequest{}); len(got) != 1 || got[0] != mine.Uid {
		t.Errorf("group key's list %v, want only %s", got, mine.Uid)
	}
	if got := list(&ingestv1.ListGroupsRequest{Name: "mine"}); len(got) != 1 {
		t.Errorf("by its own name: %v, want its group", got)
	}
	if got := list(&ingestv1.ListGroupsRequest{Name: "theirs"}); len(got) != 0 {
		t.Errorf("by the other group's name: %v, want none", got)
	}
	cursor := must(h.api.ListGroups(h.admin, &ingestv1.ListGroupsRequest{Page: &ingestv1.PageRequest{PerPage: 1}}))(t).Page.NextPageCursor
	if cursor == "" {
		t.Fatal("the admin's one-group page has no next page")
	}
	if got := list(&ingestv1.ListGroupsRequest{Page: &ingestv1.PageRequest{Cursor: cursor}}); len(got) != 0 {
		t.Errorf("a next page: %v, want none", got)
	}
	res := must(h.api.ListGroups(key, &ingestv1.ListGroupsRequest{}))(t)
	if res.Page.HasNextPage {
		t.Errorf("page %v, want no next page", res.Page)
	}
	all := map[string]bool{}
	for _, g := range must(h.api.ListGroups(h.admin, &ingestv1.ListGroupsRequest{Page: &ingestv1.PageRequest{PerPage: 100}}))(t).Groups {
		all[g.Uid] = true
	}
	if !all[mine.Uid] || !all[theirs.Uid] {
		t.Errorf("the admin's list lacks a group: %v", all)
	}
}
