package mitm

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// DefaultSystemBundles are the usual locations of the system's PEM root
// bundle: Debian/Ubuntu/Alpine, RHEL/Fedora, SUSE, and the Alpine/BSD
// fallback.
var DefaultSystemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// maxSystemBundle bounds how much of a system bundle file Bundle reads.
// Real bundles are a few hundred KiB.
const maxSystemBundle = 16 << 20

// Bundle returns a PEM trust bundle: the certificates of the first
// candidate file that exists and holds at least one certificate, followed
// by ca's certificate. Only CERTIFICATE blocks are copied from the system
// file. With no usable candidate the bundle is ca's certificate alone. An
// error reading a file that exists is returned rather than skipped.
func Bundle(ca *CA, systemCandidates []string) ([]byte, error) {
	var out bytes.Buffer
	for _, path := range systemCandidates {
		certs, err := readCertificates(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("build trust bundle: %w", err)
		}
		if len(certs) == 0 {
			continue
		}
		out.Write(certs)
		break
	}
	out.Write(ca.CertPEM())
	return out.Bytes(), nil
}

// readCertificates returns the CERTIFICATE blocks of the PEM file at path,
// re-encoded without headers.
func readCertificates(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open system bundle %q: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSystemBundle+1))
	if err != nil {
		return nil, fmt.Errorf("read system bundle %q: %w", path, err)
	}
	if len(data) > maxSystemBundle {
		return nil, fmt.Errorf("read system bundle %q: larger than %d bytes", path, maxSystemBundle)
	}
	var out bytes.Buffer
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if err := pem.Encode(&out, &pem.Block{Type: block.Type, Bytes: block.Bytes}); err != nil {
			return nil, fmt.Errorf("encode system certificate from %q: %w", path, err)
		}
	}
	return out.Bytes(), nil
}

// TrustEnv returns "NAME=value" environment entries that make common
// clients trust the bundle at bundlePath, and Node trust the CA-only file
// at caPath in addition to its built-in roots. Both paths are as the
// sandboxed command sees them. The entries are sorted by name.
func TrustEnv(bundlePath, caPath string) []string {
	return []string{
		"AWS_CA_BUNDLE=" + bundlePath,
		"CARGO_HTTP_CAINFO=" + bundlePath,
		"CURL_CA_BUNDLE=" + bundlePath,
		"GIT_SSL_CAINFO=" + bundlePath,
		"NODE_EXTRA_CA_CERTS=" + caPath,
		"PIP_CERT=" + bundlePath,
		"REQUESTS_CA_BUNDLE=" + bundlePath,
		"SSL_CERT_FILE=" + bundlePath,
	}
}
