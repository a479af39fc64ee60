package httpapi

import (
	"bytes"
	"encoding/json"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// authenticationBody is an endpoint's authentication as sent and answered,
// in Convoy's field names. Credentials are write-only: answers carry
// "[redacted]" in their place, and an update that sends "[redacted]" back
// keeps the stored value.
type authenticationBody struct {
	Type   string          `json:"type"`
	APIKey *apiKeyAuthBody `json:"api_key,omitempty"`
	Basic  *basicAuthBody  `json:"basic,omitempty"`
	OAuth2 *oauth2AuthBody `json:"oauth2,omitempty"`
	MTLS   *mtlsAuthBody   `json:"mtls,omitempty"`
}

type apiKeyAuthBody struct {
	HeaderName  string `json:"header_name"`
	HeaderValue string `json:"header_value"`
}

type basicAuthBody struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type oauth2AuthBody struct {
	TokenURL     string   `json:"token_url"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Scopes       []string `json:"scopes,omitempty"`
	Audience     string   `json:"audience,omitempty"`
}

type mtlsAuthBody struct {
	ClientCert string `json:"client_cert"`
	ClientKey  string `json:"client_key"`
	CACert     string `json:"ca_cert,omitempty"`
}

// authenticationField tells an absent authentication (left as is) from a
// null one (removed). The body's fields are promoted so unknown keys inside
// are named by their path like any other.
type authenticationField struct {
	authenticationBody
	present, null bool
}

func (f *authenticationField) UnmarshalJSON(b []byte) (err error) {
	f.present = true
	f.null, err = decodeNullable(b, &f.authenticationBody)
	return err
}

// decodeNullable decodes an object field's value into v, unless it is null.
// Unknown keys are refused: the outer decoder's setting does not reach a
// custom unmarshaller.
func decodeNullable(b []byte, v any) (null bool, err error) {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return true, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return false, dec.Decode(v)
}

// proto returns the authentication to send to ingest: nil when absent, an
// empty type (none) when null.
func (f *authenticationField) proto() *ingestv1.EndpointAuthentication {
	switch {
	case !f.present:
		return nil
	case f.null:
		return &ingestv1.EndpointAuthentication{}
	}
	b := f.authenticationBody
	out := &ingestv1.EndpointAuthentication{Type: b.Type}
	if b.APIKey != nil {
		out.ApiKey = &ingestv1.ApiKeyAuthentication{HeaderName: b.APIKey.HeaderName, HeaderValue: b.APIKey.HeaderValue}
	}
	if b.Basic != nil {
		out.Basic = &ingestv1.BasicAuthentication{Username: b.Basic.Username, Password: b.Basic.Password}
	}
	if b.OAuth2 != nil {
		out.Oauth2 = &ingestv1.OAuth2Authentication{
			TokenUrl: b.OAuth2.TokenURL, ClientId: b.OAuth2.ClientID, ClientSecret: b.OAuth2.ClientSecret,
			Scopes: b.OAuth2.Scopes, Audience: b.OAuth2.Audience,
		}
	}
	if b.MTLS != nil {
		out.Mtls = &ingestv1.MTLSAuthentication{ClientCert: b.MTLS.ClientCert, ClientKey: b.MTLS.ClientKey, CaCert: b.MTLS.CACert}
	}
	return out
}

// authenticationOut answers an endpoint's authentication as ingest redacted
// it; nil (null) when the endpoint has none.
func authenticationOut(a *ingestv1.EndpointAuthentication) *authenticationBody {
	if a == nil || a.GetType() == "" {
		return nil
	}
	out := &authenticationBody{Type: a.GetType()}
	if k := a.GetApiKey(); k != nil {
		out.APIKey = &apiKeyAuthBody{HeaderName: k.GetHeaderName(), HeaderValue: k.GetHeaderValue()}
	}
	if b := a.GetBasic(); b != nil {
		out.Basic = &basicAuthBody{Username: b.GetUsername(), Password: b.GetPassword()}
	}
	if o := a.GetOauth2(); o != nil {
		out.OAuth2 = &oauth2AuthBody{
			TokenURL: o.GetTokenUrl(), ClientID: o.GetClientId(), ClientSecret: o.GetClientSecret(),
			Scopes: o.GetScopes(), Audience: o.GetAudience(),
		}
	}
	if m := a.GetMtls(); m != nil {
		out.MTLS = &mtlsAuthBody{ClientCert: m.GetClientCert(), ClientKey: m.GetClientKey(), CACert: m.GetCaCert()}
	}
	return out
}
