package mitm

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func pemTypes(t *testing.T, data []byte) []string {
	t.Helper()
	var types []string
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		types = append(types, b.Type)
	}
	if len(bytes.TrimSpace(data)) != 0 {
		t.Errorf("trailing non-PEM data in bundle: %q", data)
	}
	return types
}

func TestBundle(t *testing.T) {
	c := newTestCA(t)
	sys, err := NewCA([]string{"system.example"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A system bundle with comments, two certificates and a stray key.
	sysPEM := append([]byte("# system roots\n"), sys.CertPEM()...)
	sysPEM = append(sysPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte("not a key")})...)
	sysPEM = append(sysPEM, newTestCA(t).CertPEM()...)
	system := write("system.crt", sysPEM)
	empty := write("empty.crt", []byte("# nothing here\n"))
	missing := filepath.Join(dir, "missing.crt")

	tests := []struct {
		name       string
		candidates []string
		wantCerts  int
		wantSystem bool
		wantErr    bool
	}{
		{"first candidate", []string{system, missing}, 3, true, false},
		{"skips missing", []string{missing, system}, 3, true, false},
		{"skips empty", []string{empty, system}, 3, true, false},
		{"none exist", []string{missing, filepath.Join(dir, "also-missing")}, 1, false, false},
		{"no candidates", nil, 1, false, false},
		{"unreadable fails", []string{dir, system}, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Bundle(c, tt.candidates)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Bundle: got %d bytes, want error", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("Bundle: got %v, want bundle", err)
			}
			if strings.Contains(string(got), "PRIVATE KEY") {
				t.Error("bundle contains a PRIVATE KEY block")
			}
			types := pemTypes(t, got)
			if len(types) != tt.wantCerts {
				t.Errorf("blocks: got %d (%v), want %d certificates", len(types), types, tt.wantCerts)
			}
			for _, ty := range types {
				if ty != "CERTIFICATE" {
					t.Errorf("block type: got %q, want CERTIFICATE", ty)
				}
			}
			if !bytes.HasSuffix(got, c.CertPEM()) {
				t.Error("bundle does not end with the CA certificate")
			}
			if !tt.wantSystem && !bytes.Equal(got, c.CertPEM()) {
				t.Errorf("bundle without system roots: got %q, want the CA alone", got)
			}
			if tt.wantSystem && !bytes.HasPrefix(got, sys.CertPEM()) {
				t.Error("bundle does not start with the system certificates")
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(got) {
				t.Fatal("bundle is not parseable by x509.CertPool")
			}
			// With the bundle alone as roots, the CA's leaves verify, and
			// the system root's leaves verify only if it was included.
			for _, v := range []struct {
				ca   *CA
				host string
				want bool
			}{{c, "api.example.com", true}, {sys, "system.example", tt.wantSystem}} {
				leaf, err := v.ca.Leaf(v.host)
				if err != nil {
					t.Fatal(err)
				}
				_, verr := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: v.host, Roots: pool})
				if (verr == nil) != v.want {
					t.Errorf("verify %s with bundle: got error %v, want trusted=%v", v.host, verr, v.want)
				}
			}
		})
	}
}

func TestTrustEnv(t *testing.T) {
	got := TrustEnv("/run/airlock/bundle.pem", "/run/airlock/ca.pem")
	want := []string{
		"AWS_CA_BUNDLE=/run/airlock/bundle.pem",
		"CARGO_HTTP_CAINFO=/run/airlock/bundle.pem",
		"CURL_CA_BUNDLE=/run/airlock/bundle.pem",
		"GIT_SSL_CAINFO=/run/airlock/bundle.pem",
		"NODE_EXTRA_CA_CERTS=/run/airlock/ca.pem",
		"PIP_CERT=/run/airlock/bundle.pem",
		"REQUESTS_CA_BUNDLE=/run/airlock/bundle.pem",
		"SSL_CERT_FILE=/run/airlock/bundle.pem",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("TrustEnv:\ngot  %q\nwant %q", got, want)
	}
	for _, kv := range got {
		if strings.HasPrefix(kv, "SSL_CERT_DIR=") {
			t.Errorf("TrustEnv sets %s, want SSL_CERT_DIR left alone", kv)
		}
	}
}
