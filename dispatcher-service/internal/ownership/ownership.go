// Package ownership runs the endpoint ownership handshake of the CloudEvents
// "HTTP 1.1 Web Hooks for Event Delivery" specification (section 4, abuse
// protection) for groups that ask for it: an OPTIONS request carrying
// WebHook-Request-Origin, which the endpoint must answer with a matching
// WebHook-Allowed-Origin before it receives anything. Until then the
// endpoint is pending and its deliveries are held; once it passes, they are
// sent. Only OPTIONS is ever sent: never a GET.
package ownership

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/store"
	"convoy/dispatcher-service/internal/outbound"
	queuev1 "convoy/proto/convoy/queue/v1"

	"go.uber.org/zap"
)

// Handshake headers, as the specification spells them.
const (
	HeaderRequestOrigin = "WebHook-Request-Origin"
	HeaderRequestRate   = "WebHook-Request-Rate"
	HeaderAllowedOrigin = "WebHook-Allowed-Origin"
	HeaderAllowedRate   = "WebHook-Allowed-Rate"
)

// Timings of the verifier.
const (
	// maxBackoff bounds the wait between two failed handshakes.
	maxBackoff = time.Hour
	// releaseWindow is how long after verification held deliveries keep
	// being looked for: a dispatcher whose endpoint cache still said
	// pending may hold one more for up to its cache lifetime.
	releaseWindow = 10 * time.Second
	// orphanAge is when a work item without its endpoint is dropped: the
	// item is written just before the endpoint.
	orphanAge        = time.Minute
	handshakeTimeout = 10 * time.Second
	// lease is how long one dispatcher holds an item it works.
	lease        = time.Minute
	batch        = 100
	releaseBatch = 500
)

// Store is what the verifier reads and writes.
type Store interface {
	ListVerifications(ctx context.Context, limit int) ([]model.PendingVerification, error)
	PutVerification(ctx context.Context, v *model.PendingVerification) error
	ClaimVerification(ctx context.Context, endpointID string, until time.Time) (bool, error)
	DeleteVerification(ctx context.Context, endpointID string) error
	EndpointByID(ctx context.Context, id string) (*model.Endpoint, error)
	SetEndpointVerification(ctx context.Context, endpointID string, v model.EndpointVerification, status string, rateLimit *int32, rateWindow time.Duration) error
	GetGroup(ctx context.Context, id string) (*model.Group, error)
	GetEvent(ctx context.Context, groupID, id string) (*model.Event, error)
	DeliveriesOfEndpoint(ctx context.Context, endpointID, status string, limit int) ([]model.Delivery, error)
	RestartDelivery(ctx context.Context, id string, retryLimit int32, strategy string, interval int64, ordered bool) (*model.Delivery, error)
}

// Prober sends the validation request; *outbound.Client satisfies it, so the
// handshake passes the same address guard as a delivery.
type Prober interface {
	Options(ctx context.Context, url string, header http.Header, timeout time.Duration) outbound.Result
}

// Publisher queues released deliveries.
type Publisher interface {
	PublishTasks(ctx context.Context, tasks []*queuev1.DeliveryTask) error
}

// Options configure a Verifier.
type Options struct {
	// Origin is sent as WebHook-Request-Origin: the name receivers allow.
	Origin string
	// Interval is how often the work list is read; the first retry of a
	// failed handshake waits this long, doubling after each failure.
	Interval time.Duration
}

// Verifier runs handshakes and releases held deliveries.
type Verifier struct {
	store Store
	probe Prober
	pub   Publisher
	opts  Options
	log   *zap.Logger
	now   func() time.Time
}

// New returns a Verifier.
func New(st Store, probe Prober, pub Publisher, opts Options, log *zap.Logger) *Verifier {
	return &Verifier{store: st, probe: probe, pub: pub, opts: opts, log: log, now: time.Now}
}

// Run works the list every Interval until ctx ends.
func (v *Verifier) Run(ctx context.Context) error {
	t := time.NewTicker(v.opts.Interval)
	defer t.Stop()
	for {
		if err := v.Tick(ctx); err != nil && ctx.Err() == nil {
			v.log.Warn("endpoint verification pass failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick makes one pass over the work list.
func (v *Verifier) Tick(ctx context.Context) error {
	items, err := v.store.ListVerifications(ctx, batch)
	if err != nil {
		return fmt.Errorf("list pending verifications: %w", err)
	}
	for i := range items {
		if err := v.one(ctx, &items[i]); err != nil {
			v.log.Warn("endpoint verification", zap.String("endpoint_id", items[i].EndpointID), zap.Error(err))
		}
	}
	return nil
}

func (v *Verifier) one(ctx context.Context, item *model.PendingVerification) error {
	now := v.now()
	if item.VerifiedAt == nil && now.Before(item.NextAttemptAt) {
		return nil
	}
	until := now.Add(lease)
	claimed, err := v.store.ClaimVerification(ctx, item.EndpointID, until)
	if err != nil || !claimed {
		return err // another dispatcher works it
	}
	item.LeaseUntil = &until
	done, err := v.work(ctx, item, now)
	if done {
		return err
	}
	// Given back at the end of the pass, so the next pass (here or on
	// another replica) need not wait for the lease to run out.
	item.LeaseUntil = nil
	if perr := v.store.PutVerification(context.WithoutCancel(ctx), item); perr != nil && err == nil {
		err = fmt.Errorf("give back lease: %w", perr)
	}
	return err
}

// work handles one claimed item; done reports that the item was deleted.
func (v *Verifier) work(ctx context.Context, item *model.PendingVerification, now time.Time) (done bool, err error) {
	ep, err := v.store.EndpointByID(ctx, item.EndpointID)
	if errors.Is(err, store.ErrNotFound) {
		if now.Sub(item.CreatedAt) > orphanAge {
			return true, v.store.DeleteVerification(ctx, item.EndpointID)
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if item.VerifiedAt == nil && !v.handshake(ctx, ep, item, now) {
		return false, nil
	}
	// Verified: send what was held, until no dispatcher can still be
	// holding for it.
	if err := v.release(ctx, ep); err != nil {
		return false, err
	}
	if now.Sub(*item.VerifiedAt) > releaseWindow {
		return true, v.store.DeleteVerification(ctx, item.EndpointID)
	}
	return false, nil
}

// handshake validates ep and records the outcome; it reports whether ep is
// verified now.
func (v *Verifier) handshake(ctx context.Context, ep *model.Endpoint, item *model.PendingVerification, now time.Time) bool {
	state := model.EndpointVerification{}
	if ep.Verification != nil {
		state = *ep.Verification
	}
	at := now.UTC()
	state.Attempts++
	state.LastAttemptAt = &at
	allowed, err := v.validate(ctx, ep)
	log := v.log.With(zap.String("endpoint_id", ep.UID), zap.Int32("attempt", state.Attempts))
	if err != nil {
		state.LastError = err.Error()
		if err := v.store.SetEndpointVerification(ctx, ep.UID, state, "", nil, 0); err != nil {
			log.Warn("record failed handshake", zap.Error(err))
			return false
		}
		backoff := min(time.Duration(float64(v.opts.Interval)*math.Pow(2, float64(state.Attempts-1))), maxBackoff)
		item.NextAttemptAt = now.Add(backoff)
		if err := v.store.PutVerification(ctx, item); err != nil {
			log.Warn("schedule next handshake", zap.Error(err))
		}
		log.Info("endpoint ownership handshake failed", zap.String("error", state.LastError), zap.Duration("retry_in", backoff))
		return false
	}
	state.Verified, state.VerifiedAt, state.LastError = true, &at, ""
	status := ""
	if ep.Status == model.EndpointPending {
		// A user who disabled it meanwhile keeps it disabled.
		status = model.EndpointActive
	}
	if err := v.store.SetEndpointVerification(ctx, ep.UID, state, status, allowed, time.Minute); err != nil {
		log.Warn("record passed handshake", zap.Error(err))
		return false
	}
	item.VerifiedAt = &at
	if err := v.store.PutVerification(ctx, item); err != nil {
		// The next pass makes the handshake again and then releases.
		log.Warn("mark verification passed", zap.Error(err))
		return false
	}
	log.Info("endpoint ownership verified")
	return true
}

// validate sends the validation request. It returns the rate the endpoint
// allows (requests per minute; nil for no limit given or "*"), or why the
// endpoint did not pass.
func (v *Verifier) validate(ctx context.Context, ep *model.Endpoint) (*int32, error) {
	h := http.Header{}
	h.Set(HeaderRequestOrigin, v.opts.Origin)
	h.Set(HeaderRequestRate, strconv.FormatInt(perMinute(ep), 10))
	res := v.probe.Options(ctx, ep.URL, h, min(ep.HTTPTimeout, handshakeTimeout))
	switch {
	case res.Err != nil:
		var blocked *outbound.BlockedError
		if errors.As(res.Err, &blocked) {
			return nil, errors.New("refused to connect: " + res.Err.Error())
		}
		return nil, res.Err
	case res.StatusCode < 200 || res.StatusCode > 299:
		return nil, fmt.Errorf("validation request answered %d %s", res.StatusCode, http.StatusText(res.StatusCode))
	}
	origin := strings.TrimSpace(res.Header.Get(HeaderAllowedOrigin))
	if origin == "" {
		return nil, fmt.Errorf("validation answer has no %s header", HeaderAllowedOrigin)
	}
	if origin != "*" && !strings.EqualFold(origin, v.opts.Origin) {
		return nil, fmt.Errorf("%s is %q, not %q or *", HeaderAllowedOrigin, clip(origin), v.opts.Origin)
	}
	rate := strings.TrimSpace(res.Header.Get(HeaderAllowedRate))
	if rate == "" || rate == "*" {
		return nil, nil
	}
	n, err := strconv.ParseInt(rate, 10, 32)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("%s is %q, not a positive number of requests per minute or *", HeaderAllowedRate, clip(rate))
	}
	r := int32(n)
	return &r, nil
}

// release queues ep's held deliveries again, each with a fresh attempt
// budget.
func (v *Verifier) release(ctx context.Context, ep *model.Endpoint) error {
	g, err := v.store.GetGroup(ctx, ep.GroupID)
	if err != nil {
		return err
	}
	st := g.Config.Strategy
	events := map[string]*model.Event{}
	for {
		ds, err := v.store.DeliveriesOfEndpoint(ctx, ep.UID, model.StatusDiscarded, releaseBatch)
		if err != nil || len(ds) == 0 {
			return err
		}
		tasks := make([]*queuev1.DeliveryTask, 0, len(ds))
		for i := range ds {
			ev, ok := events[ds[i].EventID]
			if !ok {
				if ev, err = v.store.GetEvent(ctx, ds[i].GroupID, ds[i].EventID); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						continue // removed by retention
					}
					return err
				}
				events[ds[i].EventID] = ev
			}
			d, err := v.store.RestartDelivery(ctx, ds[i].UID, st.RetryCount, st.Type, st.Duration, ep.Ordered)
			if err != nil {
				return err
			}
			tasks = append(tasks, queue.NewTask(ev, d))
		}
		if len(tasks) == 0 {
			return nil
		}
		if err := v.pub.PublishTasks(ctx, tasks); err != nil {
			// Restarted but not queued: the sweep finds them as it finds
			// any delivery a crash left unqueued.
			return err
		}
		v.log.Info("released held deliveries", zap.String("endpoint_id", ep.UID), zap.Int("count", len(tasks)))
		if len(ds) < releaseBatch {
			return nil
		}
	}
}

// perMinute is the endpoint's rate limit in requests per minute, as
// WebHook-Request-Rate states it.
func perMinute(ep *model.Endpoint) int64 {
	if ep.RateLimitDuration <= 0 {
		return int64(ep.RateLimit)
	}
	return max(1, int64(math.Ceil(float64(ep.RateLimit)*float64(time.Minute)/float64(ep.RateLimitDuration))))
}

func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
