// Package embedded runs real NATS (JetStream) and FerretDB (the MongoDB wire protocol on SQLite)
// servers inside the current process, for the local dev stack and for tests. Nothing here is a
// mock: clients talk to them through the ordinary nats.go and mongo-driver clients.
//
// # FerretDB and the _id index
//
// FerretDB v1 looks documents up by `_ferretdb_sjson->'$._id' = ?` (see IDIndexExpr) while its
// own _id_ index is on a different expression, so SQLite would scan the whole collection for
// every find, update or delete by _id. StartFerretDB therefore runs an indexer that creates an
// index on exactly that expression, directly in each database file, for every collection: once
// at start and then every second, and on demand with EnsureIDIndexes. Each pass lists the
// collections over the Mongo protocol and opens a database file only when one is new to it.
// Only one process may use a Dir at a time.
//
// Only a filter that is exactly {_id: <string or ObjectID>} is pushed down to SQLite; any other
// filter reads every document of the collection, so hot paths should address documents by _id
// alone. The indexer also creates the list indexes of package convoy/core/store/sqliteindex,
// which the store reads directly from these files for its lists, sweeps and retention.
//
// # Durability
//
// FerretDB's SQLite files use WAL. This package adds synchronous=NORMAL (FerretOptions
// SQLitePragmas overrides it): a commit is written to the WAL but not fsynced, the WAL is synced
// at checkpoints. A crash or kill of the process loses nothing that was acknowledged, and the
// database is never corrupted; only a power loss or kernel crash can lose the last commits.
// Measured on 2 cores with the _id index and 10,000 ~1 KiB documents, NORMAL is as fast as FULL
// for one writer (about 950 updates/s, CPU-bound) and faster under concurrency: about 2,000 vs
// 1,000 UpdateOne/s with 8 writers, 1,250 vs 950 documents/s in 50-update bulk writes, 13,500 vs
// 11,500 documents/s in InsertMany of 100 (bench_test.go).
//
// The embedded NATS server uses the JetStream file store defaults: acknowledged messages survive
// a process crash; they are fsynced every two minutes, so a power loss can lose recent ones.
package embedded
