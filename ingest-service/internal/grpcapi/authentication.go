package grpcapi

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"

	"convoy/core/model"
	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// Bounds of authentication settings.
const (
	maxCredential = 4096
	maxPEM        = 64 << 10
	maxScopes     = 50
)

// authenticationIn validates an endpoint's authentication as sent. A
// credential sent as model.Redacted keeps stored's value of the same type,
// so a client can send back what it read. A nil or empty-type input means
// none.
func authenticationIn(in *ingestv1.EndpointAuthentication, stored *model.EndpointAuthentication) (*model.EndpointAuthentication, error) {
	if in == nil || in.Type == "" {
		if in != nil && (in.ApiKey != nil || in.Basic != nil || in.Oauth2 != nil || in.Mtls != nil) {
			return nil, invalidf("authentication.type is required (one of %s)", strings.Join(model.AuthTypes, ", "))
		}
		return nil, nil
	}
	if !slices.Contains(model.AuthTypes, in.Type) {
		return nil, invalidf("authentication.type must be one of %s", strings.Join(model.AuthTypes, ", "))
	}
	members := map[string]bool{
		model.AuthAPIKey: in.ApiKey != nil, model.AuthBasic: in.Basic != nil,
		model.AuthOAuth2: in.Oauth2 != nil, model.AuthMTLS: in.Mtls != nil,
	}
	for _, t := range model.AuthTypes {
		switch {
		case t == in.Type && !members[t]:
			return nil, invalidf("authentication.%s is required when authentication.type is %s", t, t)
		case t != in.Type && members[t]:
			return nil, invalidf("authentication.%s is not allowed when authentication.type is %s", t, in.Type)
		}
	}
	var old model.EndpointAuthentication
	if stored != nil && stored.Type == in.Type {
		old = *stored
	}
	out := &model.EndpointAuthentication{Type: in.Type}
	switch in.Type {
	case model.AuthAPIKey:
		a := &model.APIKeyAuth{HeaderName: strings.TrimSpace(in.ApiKey.HeaderName), HeaderValue: in.ApiKey.HeaderValue}
		if old.APIKey != nil {
			a.HeaderValue = keep(a.HeaderValue, old.APIKey.HeaderValue)
		}
		if !validHeaderName(a.HeaderName) {
			return nil, invalidf("authentication.api_key.header_name must be a valid HTTP header name that is not one of Convoy's")
		}
		if err := credential("authentication.api_key.header_value", a.HeaderValue); err != nil {
			return nil, err
		}
		if strings.ContainsAny(a.HeaderValue, "\r\n") {
			return nil, invalidf("authentication.api_key.header_value must not contain line breaks")
		}
		out.APIKey = a
	case model.AuthBasic:
		b := &model.BasicAuth{Username: in.Basic.Username, Password: in.Basic.Password}
		if old.Basic != nil {
			b.Password = keep(b.Password, old.Basic.Password)
		}
		if err := credential("authentication.basic.username", b.Username); err != nil {
			return nil, err
		}
		if strings.Contains(b.Username, ":") {
			// RFC 7617: the first colon ends the user-id.
			return nil, invalidf("authentication.basic.username must not contain a colon")
		}
		if err := credential("authentication.basic.password", b.Password); err != nil {
			return nil, err
		}
		out.Basic = b
	case model.AuthOAuth2:
		o := &model.OAuth2Auth{
			TokenURL: strings.TrimSpace(in.Oauth2.TokenUrl), ClientID: in.Oauth2.ClientId, ClientSecret: in.Oauth2.ClientSecret,
			Scopes: in.Oauth2.Scopes, Audience: strings.TrimSpace(in.Oauth2.Audience),
		}
		if old.OAuth2 != nil {
			o.ClientSecret = keep(o.ClientSecret, old.OAuth2.ClientSecret)
		}
		if err := validateURLField("authentication.oauth2.token_url", o.TokenURL); err != nil {
			return nil, err
		}
		if err := credential("authentication.oauth2.client_id", o.ClientID); err != nil {
			return nil, err
		}
		if err := credential("authentication.oauth2.client_secret", o.ClientSecret); err != nil {
			return nil, err
		}
		if len(o.Scopes) > maxScopes {
			return nil, invalidf("authentication.oauth2.scopes must list at most %d scopes", maxScopes)
		}
		for _, sc := range o.Scopes {
			// RFC 6749 3.3: scope tokens are joined by spaces.
			if sc == "" || strings.ContainsAny(sc, " \"\\") || len(sc) > 200 {
				return nil, invalidf("authentication.oauth2.scopes entries must be non-empty, without spaces, quotes or backslashes")
			}
		}
		if len(o.Audience) > 1000 {
			return nil, invalidf("authentication.oauth2.audience must be at most 1000 characters")
		}
		out.OAuth2 = o
	case model.AuthMTLS:
		m := &model.MTLSAuth{ClientCert: in.Mtls.ClientCert, ClientKey: in.Mtls.ClientKey, CACert: in.Mtls.CaCert}
		if old.MTLS != nil {
			m.ClientKey = keep(m.ClientKey, old.MTLS.ClientKey)
		}
		if err := validateMTLS(m); err != nil {
			return nil, err
		}
		out.MTLS = m
	}
	return out, nil
}

// validateMTLS checks that the PEM blocks parse and that the key is the
// certificate's, so a mistake shows at create rather than as failed
// attempts.
func validateMTLS(m *model.MTLSAuth) error {
	for _, f := range []struct{ name, v string }{
		{"authentication.mtls.client_cert", m.ClientCert},
		{"authentication.mtls.client_key", m.ClientKey},
	} {
		if strings.TrimSpace(f.v) == "" {
			return invalidf("%s is required", f.name)
		}
		if len(f.v) > maxPEM {
			return invalidf("%s must be at most %d bytes", f.name, maxPEM)
		}
	}
	if !certsPEM(m.ClientCert) {
		return invalidf("authentication.mtls.client_cert must be a PEM certificate")
	}
	if b, _ := pem.Decode([]byte(m.ClientKey)); b == nil || !strings.Contains(b.Type, "PRIVATE KEY") {
		return invalidf("authentication.mtls.client_key must be a PEM private key")
	}
	if _, err := tls.X509KeyPair([]byte(m.ClientCert), []byte(m.ClientKey)); err != nil {
		// The parse error says nothing about the key's bytes; ours is plainer.
		return invalidf("authentication.mtls.client_key does not match authentication.mtls.client_cert or is not a supported key")
	}
	if m.CACert != "" {
		if len(m.CACert) > maxPEM {
			return invalidf("authentication.mtls.ca_cert must be at most %d bytes", maxPEM)
		}
		if !certsPEM(m.CACert) || !x509.NewCertPool().AppendCertsFromPEM([]byte(m.CACert)) {
			return invalidf("authentication.mtls.ca_cert must be PEM certificates")
		}
	}
	return nil
}

// certsPEM reports whether s holds at least one PEM certificate and every
// certificate block parses.
func certsPEM(s string) bool {
	rest, n := []byte(s), 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return n > 0
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return false
		}
		n++
	}
}

func credential(field, v string) error {
	switch {
	case v == "":
		return invalidf("%s is required", field)
	case v == model.Redacted:
		return invalidf("%s is %s: send the value itself", field, model.Redacted)
	case len(v) > maxCredential:
		return invalidf("%s must be at most %d characters", field, maxCredential)
	}
	return nil
}

// keep returns stored when v is the redaction placeholder.
func keep(v, stored string) string {
	if v == model.Redacted && stored != "" {
		return stored
	}
	return v
}

// authenticationPB answers an endpoint's authentication with every
// credential redacted.
func authenticationPB(a *model.EndpointAuthentication) *ingestv1.EndpointAuthentication {
	if a == nil {
		return nil
	}
	out := &ingestv1.EndpointAuthentication{Type: a.Type}
	switch {
	case a.APIKey != nil:
		out.ApiKey = &ingestv1.ApiKeyAuthentication{HeaderName: a.APIKey.HeaderName, HeaderValue: model.Redacted}
	case a.Basic != nil:
		out.Basic = &ingestv1.BasicAuthentication{Username: a.Basic.Username, Password: model.Redacted}
	case a.OAuth2 != nil:
		out.Oauth2 = &ingestv1.OAuth2Authentication{
			TokenUrl: a.OAuth2.TokenURL, ClientId: a.OAuth2.ClientID, ClientSecret: model.Redacted,
			Scopes: a.OAuth2.Scopes, Audience: a.OAuth2.Audience,
		}
	case a.MTLS != nil:
		out.Mtls = &ingestv1.MTLSAuthentication{ClientCert: a.MTLS.ClientCert, ClientKey: model.Redacted, CaCert: a.MTLS.CACert}
	}
	return out
}
