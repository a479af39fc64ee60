package embedded_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"convoy/core/embedded"
)

func startFerret(t *testing.T, opts embedded.FerretOptions) *embedded.FerretDB {
	t.Helper()
	f, err := embedded.StartFerretDB(t.Context(), opts)
	if err != nil {
		t.Fatalf("start ferretdb: %v", err)
	}
	t.Cleanup(f.Close)
	return f
}

func startNATS(t *testing.T, dir string) *embedded.NATS {
	t.Helper()
	n, err := embedded.StartNATS(embedded.NATSOptions{Dir: dir, Port: -1})
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	t.Cleanup(n.Shutdown)
	return n
}

// mongoClient connects and disconnects in Cleanup, which runs before the server's Close.
func mongoClient(t testing.TB, uri string) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatalf("connect mongo: %v", err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

func natsConn(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func TestServersServeAndKeepDataAcrossRestart(t *testing.T) {
	ferretDir, natsDir := t.TempDir(), t.TempDir()
	ctx := t.Context()

	// First life: write one document and publish one message.
	f := startFerret(t, embedded.FerretOptions{Dir: ferretDir})
	n := startNATS(t, natsDir)

	mc := mongoClient(t, f.URI())
	coll := mc.Database("convoy").Collection("events")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "evt_1"}, {Key: "body", Value: "hello"}}); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var got bson.M
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "evt_1"}}).Decode(&got); err != nil {
		t.Fatalf("find: %v", err)
	}
	if got["body"] != "hello" {
		t.Fatalf("body = %v, want hello", got["body"])
	}

	nc := natsConn(t, n.URL())
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"events.>"}})
	if err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if _, err := js.Publish(ctx, "events.created", []byte("evt_1")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: "worker", AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatalf("create consumer: %v", err)
	}
	received := make(chan string, 1)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		received <- string(m.Data())
	})
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	select {
	case data := <-received:
		if data != "evt_1" {
			t.Fatalf("consumed %q, want evt_1", data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message consumed")
	}
	cc.Stop()

	// Stop everything, clients first, then start again on the same directories.
	_ = mc.Disconnect(ctx)
	nc.Close()
	f.Close()
	n.Shutdown()

	f2 := startFerret(t, embedded.FerretOptions{Dir: ferretDir})
	n2 := startNATS(t, natsDir)

	// The start itself indexed the collection the first life created.
	var indexed int
	err = openSQLite(t, filepath.Join(ferretDir, "convoy.sqlite")).QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE ?`,
		embedded.IDIndexPrefix+"events%").Scan(&indexed)
	if err != nil || indexed != 1 {
		t.Fatalf("_id index after restart: %d, %v", indexed, err)
	}

	got = nil
	err = mongoClient(t, f2.URI()).Database("convoy").Collection("events").
		FindOne(ctx, bson.D{{Key: "_id", Value: "evt_1"}}).Decode(&got)
	if err != nil || got["body"] != "hello" {
		t.Fatalf("after restart: doc %v, err %v", got, err)
	}

	js2, err := jetstream.New(natsConn(t, n2.URL()))
	if err != nil {
		t.Fatal(err)
	}
	stream2, err := js2.Stream(ctx, "EVENTS")
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	msg, err := stream2.GetMsg(ctx, 1)
	if err != nil || string(msg.Data) != "evt_1" {
		t.Fatalf("after restart: msg %v, err %v", msg, err)
	}
	info, err := js2.Consumer(ctx, "EVENTS", "worker")
	if err != nil {
		t.Fatalf("consumer after restart: %v", err)
	}
	if ci := info.CachedInfo(); ci.AckFloor.Stream != 1 {
		t.Fatalf("consumer ack floor = %d after restart, want 1", ci.AckFloor.Stream)
	}
}

func TestStartRejectsMissingDir(t *testing.T) {
	if _, err := embedded.StartNATS(embedded.NATSOptions{}); err == nil {
		t.Error("StartNATS without Dir: want error")
	}
	if _, err := embedded.StartFerretDB(t.Context(), embedded.FerretOptions{}); err == nil {
		t.Error("StartFerretDB without Dir: want error")
	}
}

func TestNATSCluster(t *testing.T) {
	start := time.Now()
	c, err := embedded.StartNATSCluster(t.TempDir(), 3)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(c.Shutdown)
	t.Logf("cluster ready in %s: %s", time.Since(start).Round(time.Millisecond), c.URLs())

	ctx := t.Context()
	js, err := jetstream.New(natsConn(t, c.URLs()))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "DELIVERIES", Subjects: []string{"deliveries.>"}, Replicas: 3,
	})
	if err != nil {
		t.Fatalf("create R3 stream: %v", err)
	}
	ack, err := js.Publish(ctx, "deliveries.due", []byte("dlv_1"))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if ack.Sequence != 1 {
		t.Fatalf("ack sequence = %d, want 1", ack.Sequence)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream cluster info = %+v, want a leader and 2 replicas", info.Cluster)
	}
	for i := range 3 {
		if !c.Node(i).Server().JetStreamIsClustered() {
			t.Errorf("node %d is not clustered", i)
		}
	}
}

func TestStartNATSFailsFastWhenPortIsTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	_, err = embedded.StartNATS(embedded.NATSOptions{Dir: t.TempDir(), Port: l.Addr().(*net.TCPAddr).Port})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("err = %v, want address already in use", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %s to fail", d)
	}
}
