package grpcapi

import (
	"slices"
	"strings"
	"testing"

	"convoy/core/model"
	ingestv1 "convoy/proto/convoy/ingest/v1"
)

func TestSignatureSettings(t *testing.T) {
	group := model.DefaultGroupConfig().Signature
	for _, tc := range []struct {
		name        string
		in          *ingestv1.SignatureConfig
		base        model.Signature
		wantFormat  string
		wantFormats []string
		wantHeader  string
		wantErr     string
	}{
		{name: "fields left out take the base", in: &ingestv1.SignatureConfig{Hash: "SHA512"}, base: group, wantFormat: "simple", wantHeader: "X-Convoy-Signature"},
		{name: "formats list, first is format", in: &ingestv1.SignatureConfig{Formats: []string{"advanced", "standard-webhooks", "advanced"}}, base: group,
			wantFormat: "advanced", wantFormats: []string{"advanced", "standard-webhooks"}, wantHeader: "X-Convoy-Signature"},
		{name: "a format alone replaces a list", in: &ingestv1.SignatureConfig{Format: "standard-webhooks-asymmetric"},
			base: model.Signature{Header: "X-Sig", Hash: "SHA256", Format: "advanced", Formats: []string{"advanced", "standard-webhooks"}}, wantFormat: "standard-webhooks-asymmetric", wantHeader: "X-Sig"},
		{name: "unknown format", in: &ingestv1.SignatureConfig{Formats: []string{"advanced", "v2"}}, base: group, wantErr: "signature.formats entries must be among"},
		{name: "simple with advanced", in: &ingestv1.SignatureConfig{Formats: []string{"simple", "advanced"}}, base: group, wantErr: "signature.formats cannot hold both simple and advanced"},
		{name: "bad header", in: &ingestv1.SignatureConfig{Header: "Content-Type"}, base: group, wantErr: "signature.header"},
		{name: "bad hash", in: &ingestv1.SignatureConfig{Hash: "CRC32"}, base: group, wantErr: "signature.hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := signatureOverride(tc.in, tc.base)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Format != tc.wantFormat || !slices.Equal(got.Formats, tc.wantFormats) || got.Header != tc.wantHeader {
				t.Fatalf("got %+v", got)
			}
		})
	}
	// The base is not changed by an override.
	if group.Formats != nil || group.Format != "simple" {
		t.Fatalf("group settings changed: %+v", group)
	}
}

func TestGroupSignatureFormats(t *testing.T) {
	cfg, err := applyGroupConfig(model.DefaultGroupConfig(), &ingestv1.GroupConfigInput{SetSignatureFormats: true, SignatureFormats: []string{"standard-webhooks", "standard-webhooks-asymmetric"}})
	if err != nil || cfg.Signature.Format != "standard-webhooks" || len(cfg.Signature.Formats) != 2 {
		t.Fatalf("cfg %+v, %v", cfg.Signature, err)
	}
	// Setting format alone goes back to one format.
	f := "advanced"
	cfg, err = applyGroupConfig(cfg, &ingestv1.GroupConfigInput{SignatureFormat: &f})
	if err != nil || cfg.Signature.Format != "advanced" || cfg.Signature.Formats != nil {
		t.Fatalf("cfg %+v, %v", cfg.Signature, err)
	}
	if _, err := applyGroupConfig(cfg, &ingestv1.GroupConfigInput{SetSignatureFormats: true, SignatureFormats: []string{"simple", "advanced"}}); err == nil ||
		!strings.HasPrefix(err.Error(), "config.signature.formats") {
		t.Fatalf("err = %v", err)
	}
}
