package proxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"time"
)

// sniWait is how long a new tunnel waits for the client's first bytes to
// look for a TLS ClientHello. Protocols where the server speaks first
// (SSH, SMTP) send nothing; the tunnel then proceeds without a check.
const sniWait = 2 * time.Second

// maxTLSRecord is the largest TLS plaintext record (RFC 8446 5.1).
const maxTLSRecord = 16384

// RuleSNIMismatch refuses a tunnel whose TLS server name differs from its
// CONNECT target: domain fronting, where the name a CDN routes on is not
// the name the policy allowed.
const RuleSNIMismatch = "proxy.sni-mismatch"

// peekSNI waits briefly for the client's first TLS record in br and returns
// the server name its ClientHello asks for. It returns "" when the client
// sends nothing in time, something that is not a TLS handshake, or a
// ClientHello without a server name. The bytes stay buffered in br.
func peekSNI(c net.Conn, br *bufio.Reader) string {
	_ = c.SetReadDeadline(time.Now().Add(sniWait))
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	// The first byte tells a TLS handshake record (0x16) from anything
	// else, without waiting for more.
	if first, err := br.Peek(1); err != nil || first[0] != 0x16 {
		return ""
	}
	hdr, err := br.Peek(5)
	if err != nil {
		return ""
	}
	n := int(binary.BigEndian.Uint16(hdr[3:5]))
	if n > br.Size()-5 {
		return ""
	}
	rec, err := br.Peek(5 + n)
	if err != nil {
		return ""
	}
	name, _ := parseClientHelloSNI(rec[5:])
	return name
}

var errShortHello = errors.New("short ClientHello")

// parseClientHelloSNI returns the host_name of the server_name extension
// (RFC 6066) of a ClientHello handshake message.
func parseClientHelloSNI(b []byte) (string, error) {
	take := func(n int) ([]byte, error) {
		if len(b) < n {
			return nil, errShortHello
		}
		v := b[:n]
		b = b[n:]
		return v, nil
	}
	u8 := func() (int, error) {
		v, err := take(1)
		if err != nil {
			return 0, err
		}
		return int(v[0]), nil
	}
	u16 := func() (int, error) {
		v, err := take(2)
		if err != nil {
			return 0, err
		}
		return int(binary.BigEndian.Uint16(v)), nil
	}
	if t, err := u8(); err != nil || t != 1 { // client_hello
		return "", errShortHello
	}
	if _, err := take(3 + 2 + 32); err != nil { // length, version, random
		return "", err
	}
	for _, lenSize := range []int{1, 2, 1} { // session id, cipher suites, compression
		var n int
		var err error
		if lenSize == 1 {
			n, err = u8()
		} else {
			n, err = u16()
		}
		if err != nil {
			return "", err
		}
		if _, err := take(n); err != nil {
			return "", err
		}
	}
	extLen, err := u16()
	if err != nil {
		return "", err
	}
	if len(b) < extLen {
		return "", errShortHello
	}
	b = b[:extLen]
	for len(b) >= 4 {
		typ, _ := u16()
		n, _ := u16()
		data, err := take(n)
		if err != nil {
			return "", err
		}
		if typ != 0 { // server_name
			continue
		}
		if len(data) < 2 {
			return "", errShortHello
		}
		list := data[2:]
		for len(list) >= 3 {
			nameType, l := list[0], int(binary.BigEndian.Uint16(list[1:3]))
			if len(list) < 3+l {
				return "", errShortHello
			}
			if nameType == 0 { // host_name
				return string(list[3 : 3+l]), nil
			}
			list = list[3+l:]
		}
	}
	return "", nil
}

// sniMatches reports whether the TLS server name agrees with the CONNECT
// target (case and a trailing dot aside). An IP-literal target matches
// only a ClientHello without a server name, which is checked by the caller.
func sniMatches(sni, target string) bool {
	norm := func(s string) string { return strings.TrimSuffix(strings.ToLower(s), ".") }
	return norm(sni) == norm(target)
}
