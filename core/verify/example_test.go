package verify_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"convoy/core/verify"
)

// A receiver's handler for an endpoint configured with the advanced format,
// SHA256 and the default header. It reads the raw body first and verifies
// those exact bytes before decoding anything.
func Example() {
	const secret = "8cPOWzxGcmJ7ZOKVr5mh6jxBVCiBfHYqHpiXDNzAZR4"
	opts := verify.Options{Format: verify.FormatAdvanced, Hash: "SHA256"}

	receive := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if err := verify.Verify(opts, []string{secret}, r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		// The body is authentic and recent: decode and process it here.
		w.WriteHeader(http.StatusNoContent)
	}

	// What Convoy sends: t=<unix seconds>,v1=<hex HMAC of "<t>,<body>">.
	deliver := func(body string) *http.Request {
		t := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(t + "," + body))
		req := httptest.NewRequest(http.MethodPost, "/webhooks", bytes.NewBufferString(body))
		req.Header.Set("X-Convoy-Signature", "t="+t+",v1="+hex.EncodeToString(mac.Sum(nil)))
		return req
	}

	genuine := deliver(`{"event_type":"invoice.paid"}`)
	rec := httptest.NewRecorder()
	receive(rec, genuine)
	fmt.Println("genuine:", rec.Code)

	forged := deliver(`{"event_type":"invoice.paid"}`)
	forged.Body = io.NopCloser(bytes.NewBufferString(`{"event_type":"invoice.refunded"}`))
	rec = httptest.NewRecorder()
	receive(rec, forged)
	fmt.Print("forged: ", rec.Code, " ", rec.Body.String())

	// Output:
	// genuine: 204
	// forged: 401 signature does not match
}
