package proxy

import (
	"bufio"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// SOCKS5 constants (RFC 1928, RFC 1929).
const (
	socks5Version = 0x05
	socks4Version = 0x04

	socksAuthNone     = 0x00
	socksAuthPassword = 0x02
	socksAuthNoneOK   = 0xff // no acceptable methods

	socksCmdConnect      = 0x01
	socksCmdBind         = 0x02
	socksCmdUDPAssociate = 0x03

	socksATYPIPv4   = 0x01
	socksATYPDomain = 0x03
	socksATYPIPv6   = 0x04

	socksSucceeded         = 0x00
	socksGeneralFailure    = 0x01
	socksNotAllowed        = 0x02
	socksNetUnreachable    = 0x03
	socksHostUnreachable   = 0x04
	socksConnRefused       = 0x05
	socksTTLExpired        = 0x06
	socksCmdNotSupported   = 0x07
	socksATYPNotSupported  = 0x08
	socks4Rejected         = 0x5b
	socksPasswordVersion   = 0x01
	socksPasswordSucceeded = 0x00
	socksPasswordFailed    = 0x01
)

// socksRequest is a parsed SOCKS5 request.
type socksRequest struct {
	cmd  byte
	atyp byte
	host string // domain name as sent, or the IP literal
	port int
}

// socksError is a request refused with a SOCKS5 reply code.
type socksError struct {
	code byte
	msg  string
}

func (e *socksError) Error() string { return e.msg }

// readSOCKSRequest reads and validates a SOCKS5 request (RFC 1928 section
// 4): VER CMD RSV ATYP DST.ADDR DST.PORT. A malformed request is a
// *socksError with the reply code to send; a read failure is returned as
// is.
func readSOCKSRequest(r io.Reader) (socksRequest, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return socksRequest{}, err
	}
	if hdr[0] != socks5Version {
		return socksRequest{}, &socksError{socksGeneralFailure, fmt.Sprintf("bad SOCKS version %d in request", hdr[0])}
	}
	if hdr[2] != 0 {
		return socksRequest{}, &socksError{socksGeneralFailure, "non-zero reserved byte in SOCKS request"}
	}
	req := socksRequest{cmd: hdr[1], atyp: hdr[3]}
	switch req.atyp {
	case socksATYPIPv4:
		var a [4]byte
		if _, err := io.ReadFull(r, a[:]); err != nil {
			return socksRequest{}, err
		}
		req.host = netip.AddrFrom4(a).String()
	case socksATYPIPv6:
		var a [16]byte
		if _, err := io.ReadFull(r, a[:]); err != nil {
			return socksRequest{}, err
		}
		req.host = netip.AddrFrom16(a).String()
	case socksATYPDomain:
		var n [1]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return socksRequest{}, err
		}
		name := make([]byte, n[0])
		if _, err := io.ReadFull(r, name); err != nil {
			return socksRequest{}, err
		}
		req.host = string(name)
	default:
		return socksRequest{}, &socksError{socksATYPNotSupported, fmt.Sprintf("unsupported SOCKS address type %d", req.atyp)}
	}
	var port [2]byte
	if _, err := io.ReadFull(r, port[:]); err != nil {
		return socksRequest{}, err
	}
	req.port = int(binary.BigEndian.Uint16(port[:]))
	if req.atyp == socksATYPDomain {
		if err := checkSOCKSHost(req.host); err != nil {
			return socksRequest{}, &socksError{socksGeneralFailure, fmt.Sprintf("bad SOCKS destination %q: %v", req.host, err)}
		}
	}
	// Port 0 is meaningless for CONNECT, but a UDP ASSOCIATE may send
	// 0.0.0.0:0 (RFC 1928): it is then refused as unsupported, below.
	if req.port == 0 && req.cmd == socksCmdConnect {
		return socksRequest{}, &socksError{socksGeneralFailure, "SOCKS destination port 0"}
	}
	return req, nil
}

// encode returns the wire form of req, for tests and fuzzing.
func (req socksRequest) encode() []byte {
	b := []byte{socks5Version, req.cmd, 0, req.atyp}
	switch req.atyp {
	case socksATYPIPv4, socksATYPIPv6:
		a := netip.MustParseAddr(req.host)
		b = append(b, a.AsSlice()...)
	default:
		b = append(b, byte(len(req.host)))
		b = append(b, req.host...)
	}
	return binary.BigEndian.AppendUint16(b, uint16(req.port))
}

func socksCmdName(cmd byte) string {
	switch cmd {
	case socksCmdConnect:
		return "CONNECT"
	case socksCmdBind:
		return "BIND"
	case socksCmdUDPAssociate:
		return "UDP_ASSOCIATE"
	}
	return "CMD_" + strconv.Itoa(int(cmd))
}

// serveSOCKSConn serves one SOCKS5 client connection: greeting,
// authentication, one request, then a tunnel.
func (p *Proxy) serveSOCKSConn(c net.Conn) {
	c.SetDeadline(time.Now().Add(p.cfg.HeaderTimeout))
	br := bufio.NewReaderSize(c, 1024)
	ver, err := br.ReadByte()
	if err != nil {
		return
	}
	switch ver {
	case socks5Version:
	case socks4Version:
		// SOCKS4 and 4a carry no authentication and resolve nothing
		// safely: refuse with "request rejected or failed".
		rec := p.newRecord(c, ProtoSOCKS4, "")
		p.refuse(rec, RuleUnsupported, "SOCKS4 is not supported; use SOCKS5")
		c.Write([]byte{0, socks4Rejected, 0, 0, 0, 0, 0, 0})
		p.finish(rec)
		return
	default:
		p.log.Debug("proxy: not a SOCKS5 client", "client", c.RemoteAddr().String(), "version", ver)
		return
	}
	if ok := p.socksAuth(c, br); !ok {
		return
	}
	req, err := readSOCKSRequest(br)
	if err != nil {
		var se *socksError
		if errors.As(err, &se) {
			rec := p.newRecord(c, ProtoSOCKS5, "")
			p.refuse(rec, RuleBadRequest, se.msg)
			socksReply(c, se.code)
			p.finish(rec)
		}
		return
	}
	rec := p.newRecord(c, ProtoSOCKS5, socksCmdName(req.cmd))
	defer p.finish(rec)
	rec.Host, rec.Port = req.host, req.port
	if req.cmd != socksCmdConnect {
		p.refuse(rec, RuleUnsupported, "SOCKS5 command "+socksCmdName(req.cmd)+" is not supported")
		socksReply(c, socksCmdNotSupported)
		return
	}
	// The decision may wait for Ask; the handshake deadline no longer
	// applies.
	c.SetDeadline(time.Time{})
	up, fail := p.dialChecked(rec, req.host, req.port)
	if fail != nil {
		socksReply(c, socksFailureCode(fail))
		return
	}
	defer func() {
		up.Close()
		p.untrack(up)
	}()
	if err := socksReply(c, socksSucceeded); err != nil {
		rec.Error = "write to client: " + err.Error()
		return
	}
	// A reader large enough for a whole TLS record, for the SNI check.
	hello := bufio.NewReaderSize(br, 5+maxTLSRecord)
	rec.BytesUp, rec.BytesDown, _ = relayGated(c, up, nil, func() ([]byte, bool) {
		if sni := peekSNI(c, hello); sni != "" && !sniMatches(sni, req.host) {
			p.refuse(rec, RuleSNIMismatch, "TLS server name "+sni+" does not match the SOCKS target "+req.host+" (domain fronting)")
			return nil, false
		}
		buffered, _ := hello.Peek(hello.Buffered())
		return append([]byte(nil), buffered...), true
	})
}

// socksAuth negotiates the authentication method and, when a token is
// configured, checks RFC 1929 username/password credentials. A failure is
// audited as a denial.
func (p *Proxy) socksAuth(c net.Conn, br *bufio.Reader) bool {
	n, err := br.ReadByte()
	if err != nil {
		return false
	}
	methods := make([]byte, n)
	if _, err := io.ReadFull(br, methods); err != nil {
		return false
	}
	want := byte(socksAuthNone)
	if p.cfg.Token != "" {
		want = socksAuthPassword
	}
	offered := false
	for _, m := range methods {
		offered = offered || m == want
	}
	if !offered {
		rec := p.newRecord(c, ProtoSOCKS5, "")
		reason := "SOCKS5 client offered no acceptable authentication method"
		if want == socksAuthPassword {
			reason = "SOCKS5 username/password authentication required"
		}
		p.refuse(rec, RuleAuth, reason)
		c.Write([]byte{socks5Version, socksAuthNoneOK})
		p.finish(rec)
		return false
	}
	if _, err := c.Write([]byte{socks5Version, want}); err != nil {
		return false
	}
	if want == socksAuthNone {
		return true
	}
	// RFC 1929: VER ULEN UNAME PLEN PASSWD.
	var b [2]byte
	if _, err := io.ReadFull(br, b[:]); err != nil {
		return false
	}
	if b[0] != socksPasswordVersion {
		c.Write([]byte{socksPasswordVersion, socksPasswordFailed})
		return false
	}
	user := make([]byte, b[1])
	if _, err := io.ReadFull(br, user); err != nil {
		return false
	}
	if _, err := io.ReadFull(br, b[:1]); err != nil {
		return false
	}
	pass := make([]byte, b[0])
	if _, err := io.ReadFull(br, pass); err != nil {
		return false
	}
	u := subtle.ConstantTimeCompare(user, []byte(p.cfg.User))
	t := subtle.ConstantTimeCompare(pass, []byte(p.cfg.Token))
	if u&t != 1 {
		rec := p.newRecord(c, ProtoSOCKS5, "")
		p.refuse(rec, RuleAuth, "wrong SOCKS5 credentials")
		c.Write([]byte{socksPasswordVersion, socksPasswordFailed})
		p.finish(rec)
		return false
	}
	_, err = c.Write([]byte{socksPasswordVersion, socksPasswordSucceeded})
	return err == nil
}

// socksReply sends a SOCKS5 reply. The bound address is always
// 0.0.0.0:0: the proxy's own addresses are none of the sandbox's business.
func socksReply(c net.Conn, code byte) error {
	_, err := c.Write([]byte{socks5Version, code, 0, socksATYPIPv4, 0, 0, 0, 0, 0, 0})
	return err
}

// socksFailureCode maps a dialChecked failure to a SOCKS5 reply code.
func socksFailureCode(f *failure) byte {
	switch f.kind {
	case failDenied:
		return socksNotAllowed
	case failResolve:
		return socksHostUnreachable
	}
	switch classifyDialError(f.err) {
	case dialRefused:
		return socksConnRefused
	case dialTimeout:
		return socksTTLExpired
	case dialNetUnreachable:
		return socksNetUnreachable
	case dialHostUnreachable:
		return socksHostUnreachable
	}
	return socksGeneralFailure
}
