package metaevent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"convoy/core/cache"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/store"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// GroupReader reads a group's settings.
type GroupReader interface {
	GetGroup(ctx context.Context, id string) (*model.Group, error)
}

// Publisher puts a message on a stream and waits for the server to store it
// (jetstream.JetStream is one).
type Publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// GroupCacheTTL bounds how long a change of a group's meta event settings
// may take to reach an emitter on another replica.
const GroupCacheTTL = time.Second

// Emitter sends meta events. It is safe for concurrent use, and a nil
// *Emitter emits nothing, so a service or test without meta events can pass
// one.
type Emitter struct {
	groups GroupReader
	cache  *cache.TTL[string, *model.Group]
	pub    Publisher
	now    func() time.Time
}

// New returns an Emitter reading groups from groups (through a cache) and
// publishing with pub.
func New(groups GroupReader, pub Publisher) *Emitter {
	return &Emitter{groups: groups, cache: cache.New[string, *model.Group](GroupCacheTTL), pub: pub, now: time.Now}
}

// Emit sends a meta event of eventType with data (JSON-encoded as the
// body's "data") to the group, if the group wants it. It returns once the
// event is durably queued, or at once when the group does not want it. A
// group that no longer exists wants nothing.
func (e *Emitter) Emit(ctx context.Context, groupID, eventType string, data any) error {
	return e.emit(ctx, groupID, eventType, "", data)
}

// EmitOnce is Emit for an occurrence that more than one process, or a
// redelivered task, may report: calls with the same group, type and key
// within the queue's duplicate window (queue.DuplicateWindow) send one meta
// event. key names the occurrence, for example "<delivery id>.<generation>.<attempt>".
func (e *Emitter) EmitOnce(ctx context.Context, groupID, eventType, key string, data any) error {
	if key == "" {
		return errors.New("emit meta event: empty key")
	}
	return e.emit(ctx, groupID, eventType, key, data)
}

func (e *Emitter) emit(ctx context.Context, groupID, eventType, key string, data any) error {
	if e == nil {
		return nil
	}
	if !Known(eventType) {
		return fmt.Errorf("emit meta event: unknown type %q", eventType)
	}
	g, err := e.cache.Get(ctx, groupID, func(ctx context.Context) (*model.Group, error) { return e.groups.GetGroup(ctx, groupID) })
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("emit meta event: read group: %w", err)
	}
	if !Wanted(g.Config.MetaEvent, eventType) {
		return nil
	}
	// The store keeps milliseconds: the body's created_at and the stored
	// one must read the same.
	at := e.now().UTC().Truncate(time.Millisecond)
	raw, err := json.Marshal(body{EventType: eventType, Data: data, CreatedAt: at})
	if err != nil {
		return fmt.Errorf("encode meta event data: %w", err)
	}
	t := &Task{
		UID: ids.New(), GroupID: groupID, EventType: eventType, Body: raw, CreatedAt: at,
		RetryLimit: max(g.Config.Strategy.RetryCount, 1),
	}
	msgID := t.UID
	if key != "" {
		msgID = "once." + groupID + "." + eventType + "." + key
	}
	return e.publish(ctx, t, msgID)
}

// Resend queues a stored meta event's current attempt budget (after
// store.RestartMetaEvent), whatever the group's settings say now: the
// dispatcher checks them when it sends.
func (e *Emitter) Resend(ctx context.Context, m *model.MetaEvent) error {
	if e == nil {
		return errors.New("resend meta event: meta events are not configured")
	}
	return e.publish(ctx, TaskOf(m), m.UID+".g"+strconv.Itoa(int(m.Generation)))
}

// Forget drops the cached group, so this replica applies a settings change
// at once.
func (e *Emitter) Forget(groupID string) {
	if e != nil {
		e.cache.Forget(groupID)
	}
}

func (e *Emitter) publish(ctx context.Context, t *Task, msgID string) error {
	data, err := t.Encode()
	if err != nil {
		return err
	}
	_, err = e.pub.PublishMsg(ctx, &nats.Msg{Subject: queue.MetaSubject(t.UID), Data: data},
		jetstream.WithMsgID(msgID), jetstream.WithExpectStream(queue.StreamMeta))
	if err != nil {
		return fmt.Errorf("publish meta event: %w", err)
	}
	return nil
}
