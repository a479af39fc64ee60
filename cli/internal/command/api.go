package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	convoy "convoy/sdk/go"
)

// apiConfig are the flags of a command that calls the HTTP API.
type apiConfig struct {
	url, key, group *string
	json            *bool
}

func apiFlags(f *flags) apiConfig {
	c := apiConfig{
		url:   f.str("url", "CONVOY_URL", "http://localhost:5005", "the API's base URL"),
		key:   f.str("api-key", "CONVOY_API_KEY", "", "an API key of the group (or the admin key)"),
		group: f.str("group", "CONVOY_GROUP_ID", "", "the group"),
		json:  f.Bool("json", false, "print the API's answer as JSON"),
	}
	return c
}

func (c apiConfig) client() *convoy.Client { return convoy.New(*c.url, *c.key) }

// print writes v as JSON, or as the table rows gives.
func (c apiConfig) print(w io.Writer, v any, header string, rows func(tw io.Writer)) error {
	if *c.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	return tw.Flush()
}

func runEventsSend(ctx context.Context, s streams, args []string) error {
	f := newFlags(s, "events send", "events send --app <id> --type <event type> --data '<json>' [flags]")
	api := apiFlags(f)
	app := f.str("app", "CONVOY_APP_ID", "", "the application the event is for")
	typ := f.str("type", "", "", "the event type")
	data := f.str("data", "", "", "the payload: JSON, or @file to read it from a file (@- for stdin)")
	key := f.str("idempotency-key", "", "", "the event's idempotency key (one is generated when absent)")
	var headers headerFlags
	f.Var(&headers, "header", "a custom header sent with the delivery, Name: value (repeatable)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("group", "app", "type", "data", "api-key"); err != nil {
		return err
	}
	payload, err := readData(*data, s)
	if err != nil {
		return err
	}
	in := &convoy.EventInput{AppID: *app, EventType: *typ, Data: payload}
	if len(headers) > 0 {
		in.CustomHeaders = map[string]string(headers)
	}
	var params *convoy.CreateEventParams
	if *key != "" {
		params = &convoy.CreateEventParams{IdempotencyKey: *key}
	}
	ev, err := api.client().CreateEvent(ctx, *api.group, in, params)
	if err != nil {
		return err
	}
	return api.print(s.out, ev, "EVENT\tTYPE\tAPP\tCREATED", func(tw io.Writer) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ev.UID, ev.EventType, ev.AppID, ev.CreatedAt.Format("2006-01-02T15:04:05Z07:00"))
	})
}

// readData reads a payload given inline, from @file or from @- (stdin).
func readData(v string, s streams) (json.RawMessage, error) {
	raw := []byte(v)
	if name, ok := strings.CutPrefix(v, "@"); ok {
		var err error
		if name == "-" {
			raw, err = io.ReadAll(os.Stdin)
		} else {
			raw, err = os.ReadFile(name)
		}
		if err != nil {
			return nil, fmt.Errorf("--data: %w", err)
		}
	}
	if !json.Valid(raw) {
		return nil, errors.New("--data: not valid JSON")
	}
	return json.RawMessage(raw), nil
}

// headerFlags collect repeated --header Name: value flags.
type headerFlags map[string]string

func (h *headerFlags) String() string { return "" }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q: want Name: value", v)
	}
	if *h == nil {
		*h = headerFlags{}
	}
	(*h)[strings.TrimSpace(name)] = strings.TrimSpace(value)
	return nil
}

func runDeliveriesList(ctx context.Context, s streams, args []string) error {
	f := newFlags(s, "deliveries list", "deliveries list [--endpoint <id>] [--event <id>] [--status Failure,Retry] [flags]")
	api := apiFlags(f)
	endpoint := f.str("endpoint", "CONVOY_ENDPOINT_ID", "", "only deliveries to this endpoint")
	event := f.str("event", "", "", "only deliveries of this event")
	app := f.str("app", "", "", "only deliveries of this application")
	st := f.str("status", "", "", "only these statuses, comma separated (Scheduled, Processing, Retry, Success, Failure, Discarded)")
	perPage := f.Int("per-page", 20, "page size, 1 to 100")
	cursor := f.str("cursor", "", "", "the next page's cursor, printed after a page")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("group", "api-key"); err != nil {
		return err
	}
	p := &convoy.ListDeliveriesParams{EndpointID: *endpoint, EventID: *event, AppID: *app, PerPage: *perPage, NextPageCursor: *cursor}
	if *st != "" {
		p.Status = strings.Split(*st, ",")
	}
	page, err := api.client().ListDeliveries(ctx, *api.group, p)
	if err != nil {
		return err
	}
	err = api.print(s.out, page, "DELIVERY\tSTATUS\tTRIALS\tEVENT TYPE\tENDPOINT\tCREATED", func(tw io.Writer) {
		for _, d := range page.Content {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", d.UID, d.Status, d.Metadata.NumTrials, d.EventType, d.EndpointID, d.CreatedAt.Format("2006-01-02T15:04:05Z07:00"))
		}
	})
	if err == nil && !*api.json && page.Pagination.HasNextPage {
		fmt.Fprintf(s.out, "next page: --cursor %s\n", page.Pagination.NextPageCursor)
	}
	return err
}

func runDeliveriesRetry(ctx context.Context, s streams, args []string) error {
	f := newFlags(s, "deliveries retry", "deliveries retry [--force] <delivery id>... [flags]")
	api := apiFlags(f)
	force := f.Bool("force", false, "send again even deliveries that succeeded (forceresend)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("group", "api-key"); err != nil {
		return err
	}
	ids := f.Args()
	if len(ids) == 0 {
		return errors.New("name at least one delivery id")
	}
	c := api.client()
	if *force {
		res, err := c.ForceResendDeliveries(ctx, *api.group, &convoy.IDsInput{IDs: ids})
		if err != nil {
			return err
		}
		return api.print(s.out, res, "RESENT", func(tw io.Writer) { fmt.Fprintf(tw, "%d\n", res.Resent) })
	}
	res, err := c.BatchRetryDeliveries(ctx, *api.group, &convoy.IDsInput{IDs: ids}, nil)
	if err != nil {
		return err
	}
	return api.print(s.out, res, "RETRIED\tIDS", func(tw io.Writer) { fmt.Fprintf(tw, "%d\t%s\n", res.Retried, strings.Join(res.IDs, ",")) })
}

func runEndpointsList(ctx context.Context, s streams, args []string) error {
	f := newFlags(s, "endpoints list", "endpoints list --app <id> [flags]")
	api := apiFlags(f)
	app := f.str("app", "CONVOY_APP_ID", "", "the application")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("group", "app", "api-key"); err != nil {
		return err
	}
	page, err := api.client().ListEndpoints(ctx, *api.group, *app, nil)
	if err != nil {
		return err
	}
	return api.print(s.out, page, "ENDPOINT\tSTATUS\tURL\tEVENTS", func(tw io.Writer) {
		for _, e := range page.Content {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.UID, e.Status, e.URL, strings.Join(e.Events, ","))
		}
	})
}

func runEndpointsCreate(ctx context.Context, s streams, args []string) error {
	f := newFlags(s, "endpoints create", "endpoints create --app <id> --url <url> [flags]")
	api := apiFlags(f)
	app := f.str("app", "CONVOY_APP_ID", "", "the application")
	u := f.str("endpoint-url", "", "", "the endpoint's URL")
	desc := f.str("description", "", "", "a description")
	secret := f.str("secret", "", "", "the signing secret (generated when absent)")
	events := f.str("events", "", "", "event type patterns, comma separated (default all)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.required("group", "app", "endpoint-url", "api-key"); err != nil {
		return err
	}
	in := &convoy.EndpointCreateInput{URL: u}
	if *desc != "" {
		in.Description = desc
	}
	if *secret != "" {
		in.Secret = secret
	}
	if *events != "" {
		in.Events = strings.Split(*events, ",")
	}
	ep, err := api.client().CreateEndpoint(ctx, *api.group, *app, in)
	if err != nil {
		return err
	}
	return api.print(s.out, ep, "ENDPOINT\tSTATUS\tURL\tSECRET", func(tw io.Writer) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ep.UID, ep.Status, ep.URL, ep.Secret)
	})
}
