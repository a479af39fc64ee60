package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"convoy/core/secretbox"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// collEncryption holds one document, encryptionStateID: which keys may have
// sealed stored secrets, and the last key rotation's progress.
const (
	collEncryption    = "encryption"
	encryptionStateID = "state"
)

// Rotation statuses.
const (
	RotationIdle    = "idle" // never asked for
	RotationPending = "pending"
	RotationRunning = "running"
	RotationDone    = "done"
	RotationFailed  = "failed"
)

// ErrKeyringMismatch is returned by CheckKeyring when the configured keys
// cannot open every stored secret.
var ErrKeyringMismatch = errors.New("encryption keys do not match the store")

// ErrRotationRunning is returned when a rotation is asked for while one is
// pending or running.
var ErrRotationRunning = errors.New("a key rotation is already pending or running")

// EncryptionState is what the store records about its encryption.
type EncryptionState struct {
	ID string `bson:"_id"`
	// KeyIDs are the keys that may have sealed a stored value: every
	// service adds its active key at start, and a finished rotation leaves
	// only the key it sealed with. A service refuses to start without one
	// of them.
	KeyIDs   []string `bson:"key_ids"`
	Rotation Rotation `bson:"rotation"`
}

// Rotation is a key rotation's progress.
type Rotation struct {
	Status string `bson:"status,omitempty"`
	// ActiveKeyID is the key the documents are being sealed with.
	ActiveKeyID string     `bson:"active_key_id,omitempty"`
	Total       int64      `bson:"total"`
	Done        int64      `bson:"done"`
	RequestedAt *time.Time `bson:"requested_at,omitempty"`
	StartedAt   *time.Time `bson:"started_at,omitempty"`
	FinishedAt  *time.Time `bson:"finished_at,omitempty"`
	Error       string     `bson:"error,omitempty"`
}

// EncryptionState reads the store's encryption state (Rotation.Status is
// RotationIdle when none was ever asked for).
func (s *Store) EncryptionState(ctx context.Context) (*EncryptionState, error) {
	var st EncryptionState
	err := findByID(ctx, s.coll(collEncryption), encryptionStateID, &st)
	if errors.Is(err, ErrNotFound) {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("read encryption state: %w", err)
	}
	if st.Rotation.Status == "" {
		st.Rotation.Status = RotationIdle
	}
	return &st, nil
}

// CheckKeyring makes sure the store's keyring can open every stored secret
// (as far as the recorded key ids tell) and records its active key as one
// that may seal. A service calls it at start: without a keyring, or with one
// lacking a recorded key, it must not run, since it could not read the
// secrets sealed with it.
func (s *Store) CheckKeyring(ctx context.Context) error {
	st, err := s.EncryptionState(ctx)
	if err != nil {
		return err
	}
	var missing []string
	for _, id := range st.KeyIDs {
		if !s.keyring.Has(id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		if s.keyring == nil {
			return fmt.Errorf("%w: the store holds secrets encrypted with key(s) %v and no encryption key is configured (set CONVOY_ENCRYPTION_KEYS or CONVOY_ENCRYPTION_KEY_FILE)", ErrKeyringMismatch, missing)
		}
		return fmt.Errorf("%w: the store may hold secrets encrypted with key(s) %v, which are not configured: keep them until a key rotation has finished", ErrKeyringMismatch, missing)
	}
	if s.keyring == nil || slices.Contains(st.KeyIDs, s.keyring.ActiveID()) {
		return nil
	}
	_, err = s.coll(collEncryption).UpdateOne(ctx, byID(encryptionStateID),
		bson.D{{Key: "$addToSet", Value: bson.D{{Key: "key_ids", Value: s.keyring.ActiveID()}}}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("record encryption key: %w", err)
	}
	return nil
}

// RequestRotation asks for the stored secrets to be sealed again with
// activeKeyID (scheduler-service runs it: see Reseal). It returns
// ErrRotationRunning when one is pending or running.
func (s *Store) RequestRotation(ctx context.Context, activeKeyID string) (*EncryptionState, error) {
	at := now()
	notBusy := bson.D{{Key: "_id", Value: encryptionStateID}, {Key: "rotation.status", Value: bson.D{{Key: "$nin", Value: bson.A{RotationPending, RotationRunning}}}}}
	set := bson.D{{Key: "$set", Value: bson.D{{Key: "rotation", Value: Rotation{Status: RotationPending, ActiveKeyID: activeKeyID, RequestedAt: &at}}}}}
	// The collection holds one document, so the status condition costs
	// nothing even where it scans.
	_, err := s.coll(collEncryption).UpdateOne(ctx, notBusy, set, options.UpdateOne().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return nil, ErrRotationRunning // the document exists and is busy: the upsert tried to insert it again
	}
	if err != nil {
		return nil, fmt.Errorf("request key rotation: %w", err)
	}
	return s.EncryptionState(ctx)
}

// SetRotation records a rotation's progress.
func (s *Store) SetRotation(ctx context.Context, r Rotation) error {
	_, err := s.coll(collEncryption).UpdateOne(ctx, byID(encryptionStateID),
		bson.D{{Key: "$set", Value: bson.D{{Key: "rotation", Value: r}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("record key rotation: %w", err)
	}
	return nil
}

// FinishRotation records a finished rotation: every stored secret is now
// sealed with its active key, the only one left that may have sealed one.
func (s *Store) FinishRotation(ctx context.Context, r Rotation) error {
	_, err := s.coll(collEncryption).UpdateOne(ctx, byID(encryptionStateID),
		bson.D{{Key: "$set", Value: bson.D{{Key: "rotation", Value: r}, {Key: "key_ids", Value: []string{r.ActiveKeyID}}}}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("record key rotation: %w", err)
	}
	return nil
}

// SealedDocumentCount estimates how many documents a rotation reads.
func (s *Store) SealedDocumentCount(ctx context.Context) (int64, error) {
	var n int64
	for _, d := range sealedDocs {
		c, err := s.coll(d.coll).EstimatedDocumentCount(ctx)
		if err != nil {
			return 0, fmt.Errorf("count %s: %w", d.coll, err)
		}
		n += c
	}
	return n, nil
}

// A rotation lists ids defaultRotateList at a time (each listing is a scan of the
// collection on the embedded store, so fewer and larger is what keeps a
// pass linear there) and reports progress every rotateProgress documents.
const (
	defaultRotateList = 1000
	rotateProgress    = 100
)

// Reseal seals every stored secret of sealedDocs that is not sealed with
// the active key (plaintext ones included) again with it, calling progress
// every rotateProgress documents with the number read so far (an error it
// returns stops the pass). It lists ids in `_id` order and writes one
// document at a time, keyed by its `_id`, so it neither holds a long cursor
// nor sends a bulk update; it is idempotent, and a pass run again (after a
// crash) skips what is done.
func (s *Store) Reseal(ctx context.Context, progress func(done int64) error) error {
	if s.keyring == nil {
		return errors.New("no encryption key configured")
	}
	rotateList := s.rotateList
	if rotateList <= 0 {
		rotateList = defaultRotateList
	}
	var done int64
	for _, d := range sealedDocs {
		after := ""
		for {
			filter := bson.D{}
			if after != "" {
				filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}
			}
			// The listing carries the sealed values, so documents already
			// sealed with the active key are passed over without a read.
			projection := bson.D{{Key: "_id", Value: 1}}
			for _, p := range d.paths {
				projection = append(projection, bson.E{Key: p, Value: 1})
			}
			cur, err := s.coll(d.coll).Find(ctx, filter, options.Find().
				SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(rotateList)).SetProjection(projection))
			if err != nil {
				return fmt.Errorf("list %s: %w", d.coll, err)
			}
			var page []bson.Raw
			if err := cur.All(ctx, &page); err != nil {
				return fmt.Errorf("list %s: %w", d.coll, err)
			}
			for i, raw := range page {
				id, ok := raw.Lookup("_id").StringValueOK()
				if !ok {
					return fmt.Errorf("list %s: an _id that is not a string", d.coll)
				}
				if d.needsReseal(raw, s.keyring.ActiveID()) {
					if err := s.resealOne(ctx, d, id); err != nil {
						return err
					}
				}
				done++
				if (i+1)%rotateProgress == 0 || i == len(page)-1 {
					if err := progress(done); err != nil {
						return err
					}
				}
			}
			if len(page) == 0 {
				if err := progress(done); err != nil {
					return err
				}
			}
			if len(page) < rotateList {
				break
			}
			after = page[len(page)-1].Lookup("_id").StringValue()
		}
	}
	return nil
}

// resealOne seals one document's secrets with the active key, unless they
// are already. The write sets only the paths holding them (the rest of the
// document, fields this version does not know included, is left as stored)
// and is keyed by `_id` alone, the one filter the embedded store does not
// scan for: it returns the document as it was just before, so a writer that
// changed the secrets between this read and this write is noticed. Its
// values are then put back (the same way, until what comes back is what was
// written) and the document is read again. Until that repair, readers may
// see the previous secret for a moment; a crash inside that window, within
// milliseconds of a concurrent secret change, would keep the previous one.
func (s *Store) resealOne(ctx context.Context, d sealedDoc, id string) error {
	c := s.coll(d.coll)
	swap := func(set bson.D, unset bson.D) (bson.Raw, error) {
		update := bson.D{}
		if len(set) > 0 {
			update = append(update, bson.E{Key: "$set", Value: set})
		}
		if len(unset) > 0 {
			update = append(update, bson.E{Key: "$unset", Value: unset})
		}
		before, err := c.FindOneAndUpdate(ctx, byID(id), update,
			options.FindOneAndUpdate().SetReturnDocument(options.Before)).Raw()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, nil
		}
		return before, err
	}
	for range 5 {
		res := c.FindOne(ctx, byID(id))
		raw, err := res.Raw()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return fmt.Errorf("read %s %s: %w", d.coll, id, err)
		}
		if !d.needsReseal(raw, s.keyring.ActiveID()) {
			return nil
		}
		doc := reflect.New(d.typ).Interface()
		if err := res.Decode(doc); err != nil { // opens with any configured key
			return fmt.Errorf("read %s %s: %w", d.coll, id, err)
		}
		var buf bytes.Buffer
		enc := bson.NewEncoder(bson.NewDocumentWriter(&buf))
		enc.SetRegistry(s.registry)
		if err := enc.Encode(doc); err != nil { // seals with the active key
			return fmt.Errorf("seal %s %s: %w", d.coll, id, err)
		}
		sealed := bson.Raw(buf.Bytes())
		var paths []string
		set := bson.D{}
		for _, p := range d.paths {
			keys := strings.Split(p, ".")
			if _, err := raw.LookupErr(keys...); err != nil {
				continue // absent: nothing sealed in it
			}
			paths = append(paths, p)
			set = append(set, bson.E{Key: p, Value: sealed.Lookup(keys...)})
		}
		if s.beforeReseal != nil {
			s.beforeReseal(id)
		}
		before, err := swap(set, nil)
		if err != nil {
			return fmt.Errorf("reseal %s %s: %w", d.coll, id, err)
		}
		if before == nil || slices.EqualFunc(valuesAt(before, paths), valuesAt(raw, paths), sameValue) {
			return nil // deleted meanwhile, or resealed as read
		}
		// A writer came between the read and the write: give it back its
		// values (or those of a writer after it), then start again from
		// what is stored.
		wrote := valuesAt(sealed, paths)
		for range 5 {
			theirs := valuesAt(before, paths)
			restore, unset := bson.D{}, bson.D{}
			for i, p := range paths {
				if theirs[i] != nil {
					restore = append(restore, bson.E{Key: p, Value: *theirs[i]})
				} else {
					unset = append(unset, bson.E{Key: p, Value: ""})
				}
			}
			again, err := swap(restore, unset)
			if err != nil {
				return fmt.Errorf("reseal %s %s: restore a concurrent change: %w", d.coll, id, err)
			}
			if again == nil || slices.EqualFunc(valuesAt(again, paths), wrote, sameValue) {
				break
			}
			before, wrote = again, theirs
		}
	}
	return fmt.Errorf("reseal %s %s: it keeps changing", d.coll, id)
}

// valuesAt returns doc's value at each path, nil where there is none.
func valuesAt(doc bson.Raw, paths []string) []*bson.RawValue {
	out := make([]*bson.RawValue, len(paths))
	for i, p := range paths {
		if v, err := doc.LookupErr(strings.Split(p, ".")...); err == nil {
			out[i] = &v
		}
	}
	return out
}

func sameValue(a, b *bson.RawValue) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}

// Keyring is the store's keyring (nil when none is configured).
func (s *Store) Keyring() *secretbox.Keyring { return s.keyring }
