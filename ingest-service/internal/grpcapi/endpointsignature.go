package grpcapi

import (
	"context"

	"convoy/core/model"
	"convoy/core/signingkey"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// signatureOverride applies an endpoint's signature settings as sent onto
// base (its current override, or its group's settings): fields left empty
// keep base's. A format alone replaces a list.
func signatureOverride(in *ingestv1.SignatureConfig, base model.Signature) (*model.Signature, error) {
	out := base
	out.Formats = append([]string(nil), base.Formats...)
	if in.Header != "" {
		out.Header = in.Header
	}
	if in.Hash != "" {
		out.Hash = in.Hash
	}
	if in.Format != "" {
		out.Format, out.Formats = in.Format, nil
	}
	if len(in.Formats) > 0 {
		out.Formats = in.Formats
	}
	if err := validateSignature("signature", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ensureSigningKey gives e an ed25519 key pair if it has none: every
// endpoint has one, so enabling the asymmetric format later needs no step
// per endpoint.
func ensureSigningKey(e *model.Endpoint) error {
	if e.SigningKey != "" {
		return nil
	}
	private, _, err := signingkey.New()
	if err != nil {
		return status.Error(codes.Internal, "generate signing key")
	}
	e.SigningKey = private
	return nil
}

// GetEndpointPublicKey returns the key receivers verify the endpoint's
// standard-webhooks-asymmetric signatures with. An endpoint stored before
// key pairs existed gets its pair now.
func (s *Server) GetEndpointPublicKey(ctx context.Context, req *ingestv1.GetEndpointPublicKeyRequest) (*ingestv1.EndpointPublicKey, error) {
	e, err := s.endpoint(ctx, &req.GroupId, req.AppId, req.EndpointId)
	if err != nil {
		return nil, err
	}
	if e.SigningKey == "" {
		if err := ensureSigningKey(e); err != nil {
			return nil, err
		}
		e.UpdatedAt = now()
		if err := s.store.ReplaceEndpoint(ctx, e); err != nil {
			return nil, s.toStatus(ctx, "endpoint", err)
		}
		s.endpoints.Forget(e.AppID)
	}
	public, err := signingkey.Public(e.SigningKey)
	if err != nil {
		return nil, status.Error(codes.Internal, "endpoint signing key does not load")
	}
	return &ingestv1.EndpointPublicKey{EndpointId: e.UID, PublicKey: public}, nil
}
