package model

// Endpoint authentication types.
const (
	AuthAPIKey = "api_key"
	AuthBasic  = "basic"
	AuthOAuth2 = "oauth2"
	AuthMTLS   = "mtls"
)

// AuthTypes lists every endpoint authentication type, for validation.
var AuthTypes = []string{AuthAPIKey, AuthBasic, AuthOAuth2, AuthMTLS}

// Redacted is what the API answers in place of a credential: credentials
// are write-only. Sent back unchanged in an update it keeps the stored
// value.
const Redacted = "[redacted]"

// EndpointAuthentication is how the dispatcher proves itself to an
// endpoint, besides the payload signature. Exactly the member named by Type
// is set.
//
// Secret-bearing fields (credentials, stored as given): APIKeyAuth.HeaderValue,
// BasicAuth.Password, OAuth2Auth.ClientSecret, MTLSAuth.ClientKey.
type EndpointAuthentication struct {
	Type   string      `bson:"type"`
	APIKey *APIKeyAuth `bson:"api_key,omitempty"`
	Basic  *BasicAuth  `bson:"basic,omitempty"`
	OAuth2 *OAuth2Auth `bson:"oauth2,omitempty"`
	MTLS   *MTLSAuth   `bson:"mtls,omitempty"`
}

// APIKeyAuth sends a fixed header with every request.
type APIKeyAuth struct {
	HeaderName  string `bson:"header_name"`
	HeaderValue string `bson:"header_value"` // secret
}

// BasicAuth sends HTTP Basic credentials with every request.
type BasicAuth struct {
	Username string `bson:"username"`
	Password string `bson:"password"` // secret
}

// OAuth2Auth fetches a bearer token with the client-credentials grant and
// sends it with every request.
type OAuth2Auth struct {
	TokenURL     string   `bson:"token_url"`
	ClientID     string   `bson:"client_id"`
	ClientSecret string   `bson:"client_secret"` // secret
	Scopes       []string `bson:"scopes,omitempty"`
	Audience     string   `bson:"audience,omitempty"`
}

// MTLSAuth presents a client certificate on the TLS connection; CACert, when
// set, is the only CA the endpoint's certificate may chain to. All PEM.
type MTLSAuth struct {
	ClientCert string `bson:"client_cert"`
	ClientKey  string `bson:"client_key"` // secret
	CACert     string `bson:"ca_cert,omitempty"`
}
