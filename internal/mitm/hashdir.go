package mitm

import (
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// SubjectHash returns the name OpenSSL looks up in a certificate directory
// (SSL_CERT_DIR) for cert: its subject hash as 8 hex digits, to which the
// caller appends ".0". It is the hash `openssl x509 -hash` prints: the
// first four bytes, little-endian, of the SHA-1 of the subject's canonical
// encoding (each string value in UTF-8, ASCII lower-cased, surrounding
// white space removed and inner runs of white space collapsed; the RDN
// sets without the outer SEQUENCE).
func SubjectHash(cert *x509.Certificate) (string, error) {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(cert.RawSubject, &rdns); err != nil || len(rest) > 0 {
		return "", fmt.Errorf("parse subject: %v", err)
	}
	var canon []byte
	for _, rdn := range rdns {
		var set []byte
		for _, atv := range rdn {
			oid, err := asn1.Marshal(atv.Type)
			if err != nil {
				return "", err
			}
			s, ok := atv.Value.(string)
			if !ok || !utf8.ValidString(s) {
				return "", fmt.Errorf("subject attribute %v is not a string", atv.Type)
			}
			val := tlv(0x0c, []byte(canonString(s)))
			set = append(set, tlv(0x30, append(oid, val...))...)
		}
		canon = append(canon, tlv(0x31, set)...)
	}
	sum := sha1.Sum(canon)
	return fmt.Sprintf("%08x", binary.LittleEndian.Uint32(sum[:4])), nil
}

// canonString applies OpenSSL's name canonicalisation to one value.
func canonString(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
	}), " ")
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// tlv encodes one DER element.
func tlv(tag byte, content []byte) []byte {
	n := len(content)
	out := []byte{tag}
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, content...)
}
