package mitm

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSubjectHashMatchesOpenSSL compares SubjectHash with `openssl x509
// -hash` on the run CA and on the host's CA certificates.
func TestSubjectHashMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed: nothing to compare with")
	}
	ca, err := NewCA([]string{"example.com"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"run CA": ca.CertPEM()}
	host, _ := filepath.Glob("/usr/share/ca-certificates/mozilla/*.crt")
	for i, f := range host {
		if i >= 20 {
			break
		}
		if b, err := os.ReadFile(f); err == nil {
			files[filepath.Base(f)] = b
		}
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			blk, _ := pem.Decode(data)
			if blk == nil {
				t.Skip("not PEM")
			}
			cert, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Skip(err)
			}
			got, err := SubjectHash(cert)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("openssl", "x509", "-noout", "-hash")
			cmd.Stdin = strings.NewReader(string(pem.EncodeToMemory(blk)))
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimSpace(string(out)); got != want {
				t.Errorf("SubjectHash = %s, want %s (openssl)", got, want)
			}
		})
	}
}
