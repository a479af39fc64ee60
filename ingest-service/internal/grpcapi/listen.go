package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"convoy/core/ids"
	"convoy/core/listener"
	"convoy/core/model"
	"convoy/core/store"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// listening is what the Listen calls need: the NATS connection the
// dispatchers' requests arrive on and the session bucket.
type listening struct {
	nc *nats.Conn
	js jetstream.JetStream
	// stopping is closed when the service stops: open streams end, so
	// that they do not hold the graceful stop up.
	stopping chan struct{}
	stopOnce sync.Once

	mu sync.Mutex
	kv jetstream.KeyValue
}

// bucket finds the session bucket, creating it the first time (the
// dispatcher creates it too; whichever starts first).
func (l *listening) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kv != nil {
		return l.kv, nil
	}
	kv, err := listener.EnsureBucket(ctx, l.js, 0)
	if err != nil {
		return nil, err
	}
	l.kv = kv
	return kv, nil
}

// StopListening ends every open Listen stream (their listeners reconnect
// to another replica); call it before a graceful stop.
func (s *Server) StopListening() {
	if s.listen != nil {
		s.listen.stopOnce.Do(func() { close(s.listen.stopping) })
	}
}

// catchUpLimit bounds how many deliveries one reconnect sends again.
const catchUpLimit = 1000

// errDisconnected is the answer to attempts handed to a stream that ended
// before its listener reported.
const errDisconnected = "listener disconnected"

// Listen attaches a listener to an endpoint: the dispatchers hand the
// endpoint's attempts to this stream until it ends.
func (s *Server) Listen(req *ingestv1.ListenRequest, stream ingestv1.IngestService_ListenServer) error {
	ctx := stream.Context()
	if s.listen == nil {
		return status.Error(codes.Unavailable, "listening needs NATS")
	}
	g, ep, err := s.listenTarget(ctx, &req.GroupId, req.EndpointId)
	if err != nil {
		return err
	}
	cursor := now()
	if req.Cursor != "" {
		if cursor, err = time.Parse(time.RFC3339Nano, req.Cursor); err != nil {
			return status.Error(codes.InvalidArgument, "cursor: not a cursor from a ListenReady (RFC 3339 time)")
		}
	}
	kv, err := s.listen.bucket(ctx)
	if err != nil {
		return status.Error(codes.Unavailable, err.Error())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Subscribe before registering, so that no attempt the registration
	// draws finds nobody; the channel is the stream's backlog.
	inbox := make(chan *nats.Msg, 256)
	sub, err := s.listen.nc.ChanQueueSubscribe(listener.Subject(ep.UID), listener.Queue, inbox)
	if err != nil {
		return status.Error(codes.Unavailable, fmt.Sprintf("subscribe: %v", err))
	}
	pending := pendingReplies{}
	defer func() {
		_ = sub.Unsubscribe()
		// Whatever was handed here and not answered is answered now, so
		// that its attempt is recorded as failed (and retried) at once
		// rather than when the dispatcher stops waiting.
		for {
			select {
			case m := <-inbox:
				var d ingestv1.ListenDelivery
				if proto.Unmarshal(m.Data, &d) == nil {
					pending.add(m.Reply, d.DeliveryId, time.Now().Add(time.Minute))
				}
			default:
				pending.fail(s.listen.nc, errDisconnected)
				return
			}
		}
	}()
	session := ids.New()
	if err := listener.Register(ctx, kv, ep.UID, session); err != nil {
		return status.Error(codes.Unavailable, err.Error())
	}
	log := s.log.With(zap.String("endpoint_id", ep.UID), zap.String("session_id", session))
	log.Info("listener attached")
	defer log.Info("listener detached")

	var resent int32
	if req.Cursor != "" {
		n, err := s.resendSince(ctx, g, ep.UID, cursor)
		if err != nil {
			return err
		}
		resent = n
	}
	ready := &ingestv1.ListenMessage{Message: &ingestv1.ListenMessage_Ready{Ready: &ingestv1.ListenReady{
		Cursor: cursor.UTC().Format(time.RFC3339Nano), Resent: resent,
	}}}
	if err := stream.Send(ready); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.listen.stopping:
			return status.Error(codes.Unavailable, "ingest-service is stopping: reconnect")
		case m := <-inbox:
			var d ingestv1.ListenDelivery
			if m.Reply == "" || proto.Unmarshal(m.Data, &d) != nil {
				continue
			}
			d.ReplyToken = m.Reply
			pending.add(m.Reply, d.DeliveryId, time.Now().Add(time.Duration(d.TimeoutMs)*time.Millisecond+time.Minute))
			if err := stream.Send(&ingestv1.ListenMessage{Message: &ingestv1.ListenMessage_Delivery{Delivery: &d}}); err != nil {
				return err
			}
		}
	}
}

// ReportListenOutcome answers an attempt handed to a listener with what its
// local process answered.
func (s *Server) ReportListenOutcome(ctx context.Context, req *ingestv1.ReportListenOutcomeRequest) (*ingestv1.ReportListenOutcomeResponse, error) {
	if s.listen == nil {
		return nil, status.Error(codes.Unavailable, "listening needs NATS")
	}
	if _, _, err := s.listenTarget(ctx, &req.GroupId, req.EndpointId); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(req.ReplyToken, nats.InboxPrefix) || strings.ContainsAny(req.ReplyToken, " *>") {
		return nil, status.Error(codes.InvalidArgument, "reply_token: not a token from a ListenDelivery")
	}
	if req.Outcome == nil || req.Outcome.DeliveryId == "" {
		return nil, status.Error(codes.InvalidArgument, "outcome.delivery_id is required")
	}
	data, err := proto.Marshal(req.Outcome)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "outcome: "+err.Error())
	}
	if err := s.listen.nc.Publish(req.ReplyToken, data); err != nil {
		return nil, status.Error(codes.Unavailable, fmt.Sprintf("publish outcome: %v", err))
	}
	return &ingestv1.ReportListenOutcomeResponse{}, nil
}

// listenTarget authenticates a listen call and finds its endpoint in the
// caller's group.
func (s *Server) listenTarget(ctx context.Context, groupID *string, endpointID string) (*model.Group, *model.Endpoint, error) {
	g, err := s.group(ctx, groupID)
	if err != nil {
		return nil, nil, err
	}
	if endpointID == "" {
		return nil, nil, status.Error(codes.InvalidArgument, "endpoint_id is required")
	}
	ep, err := s.store.EndpointByID(ctx, endpointID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && ep.GroupID != g.UID) {
		return nil, nil, notFound("endpoint")
	}
	if err != nil {
		return nil, nil, s.toStatus(ctx, "endpoint", err)
	}
	return g, ep, nil
}

// resendSince restarts the endpoint's Failure deliveries created since the
// cursor, so that a reconnecting listener receives what it missed: they are
// queued again and, this stream being registered already, handed to it.
// Deliveries in Retry are left to their pending retry, which reaches the
// listener when it is due: restarting them would race that retry.
func (s *Server) resendSince(ctx context.Context, g *model.Group, endpointID string, cursor time.Time) (int32, error) {
	f := store.DeliveryFilter{EndpointID: endpointID, Statuses: []string{model.StatusFailure}, Start: cursor}
	var missed []model.Delivery
	p := store.Page{PerPage: 100}
	for len(missed) < catchUpLimit {
		ds, info, err := s.store.ListDeliveries(ctx, g.UID, f, p)
		if err != nil {
			return 0, s.toStatus(ctx, "deliveries", err)
		}
		missed = append(missed, ds...)
		if !info.HasNext {
			break
		}
		p.Cursor = info.NextCursor
	}
	r := s.resender(g)
	resent, err := r.each(ctx, missed, f.Statuses)
	if err != nil {
		return 0, s.toStatus(ctx, "delivery", err)
	}
	return int32(len(resent)), nil
}

// pendingReplies are the reply subjects of attempts handed down one stream,
// with their delivery and when the dispatcher stops waiting for each.
type pendingReplies map[string]pendingReply

type pendingReply struct {
	deliveryID string
	until      time.Time
}

func (p pendingReplies) add(reply, deliveryID string, until time.Time) {
	if reply == "" {
		return
	}
	now := time.Now()
	if len(p) > 1000 {
		for r, w := range p {
			if w.until.Before(now) {
				delete(p, r)
			}
		}
	}
	p[reply] = pendingReply{deliveryID: deliveryID, until: until}
}

// fail answers every reply still awaited with the error. An attempt the
// listener did report is answered already; a second answer is dropped.
func (p pendingReplies) fail(nc *nats.Conn, reason string) {
	now := time.Now()
	for r, w := range p {
		if w.until.After(now) {
			data, _ := proto.Marshal(&ingestv1.ListenOutcome{DeliveryId: w.deliveryID, Error: reason})
			_ = nc.Publish(r, data)
		}
	}
}
