// Package embeddedtest gives tests of any module a private NATS (JetStream) and MongoDB-protocol
// server in one call, started in-process by package embedded under the test's temp dir.
package embeddedtest

import (
	"path/filepath"
	"testing"

	"convoy/core/embedded"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ForTest starts an embedded NATS with JetStream and an embedded FerretDB, both on free loopback
// ports and storing under t.TempDir(), and returns their URIs. Both stop in t.Cleanup. Clients
// the test creates after this call and closes in its own t.Cleanup are closed first, which keeps
// FerretDB's shutdown fast (it gives connected clients 3 s to leave).
func ForTest(t testing.TB) (mongoURI, natsURL string) {
	t.Helper()
	dir := t.TempDir() // before the servers, so that it is removed after they stop

	n, err := embedded.StartNATS(embedded.NATSOptions{Dir: filepath.Join(dir, "nats"), Port: -1})
	if err != nil {
		t.Fatalf("embeddedtest: %v", err)
	}
	t.Cleanup(n.Shutdown)

	f, err := embedded.StartFerretDB(t.Context(), embedded.FerretOptions{Dir: filepath.Join(dir, "ferretdb")})
	if err != nil {
		t.Fatalf("embeddedtest: %v", err)
	}
	t.Cleanup(f.Close)

	return f.URI(), n.URL()
}

// FerretDB starts an embedded FerretDB alone, storing under t.TempDir(), for tests that also read
// its SQLite files (its Dir). It stops in t.Cleanup.
func FerretDB(t testing.TB) *embedded.FerretDB {
	t.Helper()
	dir := t.TempDir()
	f, err := embedded.StartFerretDB(t.Context(), embedded.FerretOptions{Dir: filepath.Join(dir, "ferretdb")})
	if err != nil {
		t.Fatalf("embeddedtest: %v", err)
	}
	t.Cleanup(f.Close)
	return f
}

// JetStream starts only an embedded NATS with JetStream, under t.TempDir(),
// and returns a client for it; both stop in t.Cleanup.
func JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	n, err := embedded.StartNATS(embedded.NATSOptions{Dir: filepath.Join(t.TempDir(), "nats"), Port: -1})
	if err != nil {
		t.Fatalf("embeddedtest: %v", err)
	}
	t.Cleanup(n.Shutdown)
	nc, err := nats.Connect(n.URL())
	if err != nil {
		t.Fatalf("embeddedtest: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("embeddedtest: %v", err)
	}
	return js
}
