package model

import "time"

// EndpointVerification is where an endpoint stands in the ownership
// handshake (CloudEvents webhook abuse protection): until it is Verified,
// the endpoint is pending and its deliveries are held.
type EndpointVerification struct {
	Verified      bool       `bson:"verified"`
	VerifiedAt    *time.Time `bson:"verified_at,omitempty"`
	LastAttemptAt *time.Time `bson:"last_attempt_at,omitempty"`
	// LastError says why the last handshake failed; empty once verified.
	LastError string `bson:"last_error,omitempty"`
	Attempts  int32  `bson:"attempts"`
}

// Unverified reports whether e waits on the ownership handshake.
func (e *Endpoint) Unverified() bool {
	return e.Verification != nil && !e.Verification.Verified
}

// PendingVerification is the work list of the handshake: one small
// document per endpoint still to verify, or verified with held deliveries
// still to release, so that finding them never scans the endpoints.
type PendingVerification struct {
	EndpointID string    `bson:"_id"`
	GroupID    string    `bson:"group_id"`
	CreatedAt  time.Time `bson:"created_at"`
	// NextAttemptAt spaces failed handshakes out.
	NextAttemptAt time.Time `bson:"next_attempt_at"`
	// VerifiedAt is set once the handshake passed; the document stays
	// until the held deliveries are released.
	VerifiedAt *time.Time `bson:"verified_at,omitempty"`
	// LeaseUntil is until when one dispatcher works the item: replicas
	// must not both release the held deliveries (each would send them).
	LeaseUntil *time.Time `bson:"lease_until,omitempty"`
}
