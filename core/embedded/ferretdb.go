package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// defaultPragmas are added to FerretDB's SQLite URI. FerretDB already sets WAL mode and a busy
// timeout; synchronous=NORMAL drops the fsync from every commit (WAL is synced at checkpoints
// instead). See the package comment for what that means for durability.
var defaultPragmas = []string{"synchronous(normal)"}

// indexInterval is how often the _id indexer looks for new collections. Each look lists
// databases, which FerretDB answers by sizing every one of them: cheap when idle, not under
// load. Services create their collections at start, before traffic, so a few seconds until
// their index exists costs nothing.
const indexInterval = 3 * time.Second

// ferretNewMu serializes ferretdb.New, which writes a package-level version field in FerretDB.
var ferretNewMu sync.Mutex

// FerretOptions configures an embedded FerretDB.
type FerretOptions struct {
	// Dir holds one SQLite file per database. Required; created if missing.
	Dir string
	// Addr to listen on; default "127.0.0.1:0" (a free port).
	Addr string
	// Logger for FerretDB; default QuietLogger(os.Stderr, slog.LevelError): errors only, because
	// FerretDB logs every failed command (a duplicate key, say) as a warning. A logger of one's
	// own should format With attributes lazily too (see QuietLogger).
	Logger *slog.Logger
	// SQLitePragmas are extra "_pragma" values for FerretDB's SQLite URI, e.g. "synchronous(full)".
	// Nil means the package default, synchronous(normal).
	SQLitePragmas []string
}

// FerretDB is a running embedded FerretDB (MongoDB wire protocol on SQLite) plus the indexer
// that keeps an _id index FerretDB's own queries can use on every collection.
type FerretDB struct {
	fdb       *ferretdb.FerretDB
	dir       string
	log       *slog.Logger
	idx       *idIndexer
	closeOnce sync.Once

	cancelIndexer context.CancelFunc // nil until the indexer loop runs
	cancelRun     context.CancelFunc

	runDone     chan struct{} // closed when FerretDB's Run has returned
	indexerDone chan struct{} // closed when the indexer loop has returned
}

// StartFerretDB starts FerretDB with the SQLite backend in this process, creates the _id indexes
// missing from existing collections, and returns once it accepts connections. ctx bounds the
// start only; the server runs until Close.
func StartFerretDB(ctx context.Context, opts FerretOptions) (*FerretDB, error) {
	if opts.Dir == "" {
		return nil, errors.New("start ferretdb: Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start ferretdb: %w", err)
	}
	if strings.ContainsAny(dir, "?#") {
		return nil, fmt.Errorf("start ferretdb: Dir %q must not contain '?' or '#'", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start ferretdb: %w", err)
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	logger := opts.Logger
	if logger == nil {
		logger = QuietLogger(os.Stderr, slog.LevelError)
	}
	pragmas := opts.SQLitePragmas
	if pragmas == nil {
		pragmas = defaultPragmas
	}

	ferretNewMu.Lock()
	fdb, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL(dir, pragmas),
	})
	ferretNewMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("start ferretdb: %w", err)
	}

	// FerretDB outlives ctx, which only bounds the start; Close stops it.
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	f := &FerretDB{
		fdb: fdb, dir: dir, log: logger, cancelRun: cancelRun,
		runDone: make(chan struct{}), indexerDone: make(chan struct{}),
	}
	go func() {
		defer close(f.runDone)
		_ = fdb.Run(runCtx)
	}()

	// The indexer learns about collections through the Mongo protocol, like any client.
	client, err := mongo.Connect(options.Client().ApplyURI(fdb.MongoDBURI()).
		SetDirect(true).SetAppName("convoy-embedded-indexer"))
	if err != nil {
		close(f.indexerDone)
		f.Close()
		return nil, fmt.Errorf("start ferretdb: indexer client: %w", err)
	}
	f.idx = &idIndexer{client: client, dir: dir}

	// Index what a previous run left before anyone else connects, then keep up with new collections.
	if err := f.EnsureIDIndexes(ctx); err != nil {
		if ctx.Err() != nil {
			close(f.indexerDone)
			f.Close()
			return nil, fmt.Errorf("start ferretdb: %w", ctx.Err())
		}
		logger.Warn("ensure _id indexes", "error", err)
	}
	indexCtx, cancelIndexer := context.WithCancel(runCtx)
	f.cancelIndexer = cancelIndexer
	go func() {
		defer close(f.indexerDone)
		f.runIndexer(indexCtx)
	}()
	return f, nil
}

// sqliteURL builds FerretDB's SQLite directory URI. FerretDB keeps its own defaults (busy
// timeout, WAL) for pragmas not given here.
func sqliteURL(dir string, pragmas []string) string {
	u := "file:" + dir + "/"
	for i, p := range pragmas {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "_pragma=" + p
	}
	return u
}

// URI returns a mongodb:// URI for the listener, usable by mongo-driver.
func (f *FerretDB) URI() string { return f.fdb.MongoDBURI() }

// Dir returns the absolute directory holding the SQLite files.
func (f *FerretDB) Dir() string { return f.dir }

// Close stops accepting connections and returns once FerretDB has stopped and closed its
// databases. Clients still connected get up to 3 s to disconnect (FerretDB's own grace period),
// so disconnect clients first.
func (f *FerretDB) Close() {
	f.closeOnce.Do(func() {
		// The indexer's client goes first: FerretDB would wait for it like for any client.
		if f.cancelIndexer != nil {
			f.cancelIndexer()
		}
		<-f.indexerDone
		if f.idx != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = f.idx.client.Disconnect(ctx)
			cancel()
		}
		f.cancelRun()
	})
	<-f.runDone
}
