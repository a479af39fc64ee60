// Command receiver is a webhook endpoint for trying Convoy locally: it prints
// every delivery it gets and, given the endpoint's secret, says whether the
// signature is valid (checked with convoy/core/verify, as a receiver would).
//
//	go run convoy/deploy/cmd/receiver -addr 127.0.0.1:9000 -secret <endpoint secret>
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sort"

	"convoy/core/verify"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen address")
	secret := flag.String("secret", os.Getenv("CONVOY_ENDPOINT_SECRET"), "endpoint secret, to verify signatures")
	format := flag.String("format", "simple", "signature format: simple, advanced or standard-webhooks")
	hash := flag.String("hash", "SHA256", "hash function of the group")
	status := flag.Int("status", 200, "HTTP status to answer with")
	flag.Parse()

	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		fmt.Printf("---- %s %s\n", r.Method, r.URL.Path)
		names := make([]string, 0, len(r.Header))
		for k := range r.Header {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Printf("%s: %s\n", k, r.Header.Get(k))
		}
		fmt.Printf("\n%s\n", body)
		if *secret != "" {
			err := verify.Verify(verify.Options{Format: *format, Hash: *hash, ReplayAttacks: r.Header.Get("Convoy-Timestamp") != ""},
				[]string{*secret}, r.Header, body)
			if err != nil {
				fmt.Printf("signature: INVALID (%v)\n", err)
			} else {
				fmt.Println("signature: valid")
			}
		}
		w.WriteHeader(*status)
	})
	log.Printf("receiver listening on http://%s (answering %d)", *addr, *status)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
