package grpcapi_test

import (
	"maps"
	"testing"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// An endpoint's custom headers are kept on create, shown on every read, left
// alone by an update that does not set them, replaced by one that does and
// removed by an empty set.
func TestEndpointCustomHeaders(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "headers").Uid
	app := h.app(t, g, "a").Uid
	want := map[string]string{"X-Api-Key": "k1", "X-Region": "eu"}
	ep := must(h.api.CreateEndpoint(h.admin, &ingestv1.CreateEndpointRequest{GroupId: g, AppId: app, Url: "https://example.com/hook", CustomHeaders: want}))(t)
	get := func() map[string]string {
		return must(h.api.GetEndpoint(h.admin, &ingestv1.GetEndpointRequest{GroupId: g, AppId: app, EndpointId: ep.Uid}))(t).CustomHeaders
	}
	if !maps.Equal(ep.CustomHeaders, want) || !maps.Equal(get(), want) {
		t.Fatalf("created %v, read %v, want %v", ep.CustomHeaders, get(), want)
	}
	update := func(req *ingestv1.UpdateEndpointRequest) {
		req.GroupId, req.AppId, req.EndpointId = g, app, ep.Uid
		must(h.api.UpdateEndpoint(h.admin, req))(t)
	}
	update(&ingestv1.UpdateEndpointRequest{Description: new(string)})
	if got := get(); !maps.Equal(got, want) {
		t.Fatalf("after an update without them: %v, want %v", got, want)
	}
	update(&ingestv1.UpdateEndpointRequest{SetCustomHeaders: true, CustomHeaders: map[string]string{"X-Other": "o"}})
	if got := get(); !maps.Equal(got, map[string]string{"X-Other": "o"}) {
		t.Fatalf("after replacing them: %v", got)
	}
	update(&ingestv1.UpdateEndpointRequest{SetCustomHeaders: true})
	if got := get(); len(got) != 0 {
		t.Fatalf("after removing them: %v", got)
	}
}
