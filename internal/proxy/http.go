package proxy

import (
	"bufio"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/airlock-sandbox/airlock/internal/inject"
)

// aLongTimeAgo is a deadline in the past, to unblock a pending read.
var aLongTimeAgo = time.Unix(1, 0)

// maxInformational bounds the 1xx responses forwarded before a final one.
const maxInformational = 16

// serveHTTPConn serves one client connection of the HTTP proxy protocol:
// a sequence of requests until one asks to close, fails, or becomes a
// tunnel.
func (p *Proxy) serveHTTPConn(c net.Conn) {
	bufs := &connBufs{br: bufio.NewReaderSize(c, 16<<10), bw: bufio.NewWriterSize(c, 16<<10)}
	for bufs.br != nil {
		c.SetReadDeadline(time.Now().Add(p.cfg.HeaderTimeout))
		h, err := readRequestHead(bufs.br, maxHeadBytes)
		if err != nil {
			p.headError(c, bufs.bw, err)
			return
		}
		c.SetReadDeadline(time.Time{})
		if !p.serveHTTPRequest(c, bufs, h) {
			return
		}
	}
}

// connBufs holds a client connection's buffers. A tunnel drops them (both
// nil) before it starts relaying, so an idle tunnel does not keep 32 KiB
// of buffers alive for its whole life.
type connBufs struct {
	br *bufio.Reader
	bw *bufio.Writer
}

// headError answers a request head that could not be read. A connection
// that ends or times out between requests is closed silently; a malformed
// head is refused and audited.
func (p *Proxy) headError(c net.Conn, bw *bufio.Writer, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			p.log.Debug("proxy: request head timed out", "client", c.RemoteAddr().String())
		}
		return
	}
	rec := p.newRecord(c, ProtoHTTP, "")
	p.refuse(rec, RuleBadRequest, he.msg)
	writeText(bw, he.status, nil, "airlock: "+he.msg+"\n", false)
	p.finish(rec)
}

// serveHTTPRequest serves one request and reports whether the connection
// can carry another.
func (p *Proxy) serveHTTPRequest(c net.Conn, bufs *connBufs, h *requestHead) bool {
	br, bw := bufs.br, bufs.bw
	proto := ProtoHTTP
	if h.method == http.MethodConnect {
		proto = ProtoConnect
	}
	rec := p.newRecord(c, proto, h.method)
	defer p.finish(rec)
	if reason, ok := p.authorized(h.header); !ok {
		rec.Host, rec.Port = bestEffortTarget(h)
		p.refuse(rec, RuleAuth, reason)
		keep := h.keepAliveUnread()
		writeText(bw, http.StatusProxyAuthRequired, [][2]string{{"Proxy-Authenticate", `Basic realm="airlock"`}},
			"airlock: "+reason+"\n", !keep)
		return keep
	}
	if proto == ProtoConnect {
		return p.serveConnect(c, bufs, h, rec)
	}
	return p.serveForward(c, br, bw, h, rec)
}

// authorized checks Proxy-Authorization against the configured
// credentials in constant time.
func (p *Proxy) authorized(hdr http.Header) (reason string, ok bool) {
	if p.cfg.Token == "" {
		return "", true
	}
	vals := hdr["Proxy-Authorization"]
	if len(vals) == 0 {
		return "proxy authentication required", false
	}
	if len(vals) > 1 {
		return "more than one Proxy-Authorization header", false
	}
	scheme, enc, found := strings.Cut(vals[0], " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "proxy authentication must use the Basic scheme", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "malformed Basic credentials", false
	}
	user, token, found := strings.Cut(string(raw), ":")
	if !found || !p.credentialsMatch(user, token) {
		return "wrong proxy credentials", false
	}
	return "", true
}

// credentialsMatch compares user and token with the configured ones
// without revealing, through timing, where they differ.
func (p *Proxy) credentialsMatch(user, token string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(p.cfg.User))
	t := subtle.ConstantTimeCompare([]byte(token), []byte(p.cfg.Token))
	return u&t == 1
}

// bestEffortTarget extracts the destination of a request for the audit
// record of a refusal made before the target was validated.
func bestEffortTarget(h *requestHead) (string, int) {
	if h.method == http.MethodConnect {
		if host, port, err := parseConnectTarget(h.target); err == nil {
			return host, port
		}
		return "", 0
	}
	if host, port, _, err := parseAbsoluteURI(h.target); err == nil {
		return host, port
	}
	return "", 0
}

// serveConnect serves a CONNECT request: on success the connection
// becomes a tunnel and is not reused.
func (p *Proxy) serveConnect(c net.Conn, bufs *connBufs, h *requestHead, rec *Record) bool {
	br, bw := bufs.br, bufs.bw
	keep := h.keepAliveUnread()
	host, port, err := parseConnectTarget(h.target)
	if err != nil {
		p.refuse(rec, RuleBadRequest, err.Error())
		writeText(bw, http.StatusBadRequest, nil, "airlock: "+err.Error()+"\n", !keep)
		return keep
	}
	rec.Host, rec.Port = host, port
	if h.hasBody() {
		p.refuse(rec, RuleBadRequest, "CONNECT request with a body")
		writeText(bw, http.StatusBadRequest, nil, "airlock: CONNECT request with a body\n", true)
		return false
	}
	up, fail := p.dialChecked(rec, host, port)
	if fail != nil {
		writeFailure(bw, rec, fail, !keep)
		return keep
	}
	if p.terminates(rec.Host, port) {
		p.serveTerminated(c, bufs, rec, up)
		return false
	}
	defer func() {
		up.Close()
		p.untrack(up)
	}()
	if _, err := bw.WriteString("HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		rec.Error = "write to client: " + err.Error()
		return false
	}
	if err := bw.Flush(); err != nil {
		rec.Error = "write to client: " + err.Error()
		return false
	}
	// Domain fronting: a TLS client that names another server than the
	// CONNECT target is refused before any of its bytes leave. The
	// buffers are dropped for the tunnel's life once the bytes the client
	// sent right behind the CONNECT head (its ClientHello, typically) are
	// taken out: they go first.
	rec.BytesUp, rec.BytesDown, _ = relayGated(c, up, nil, func() ([]byte, bool) {
		if sni := peekSNI(c, br); sni != "" && !sniMatches(sni, host) {
			p.refuse(rec, RuleSNIMismatch, "TLS server name "+sni+" does not match the CONNECT target "+host+" (domain fronting)")
			return nil, false
		}
		buffered, _ := br.Peek(br.Buffered())
		pending := append([]byte(nil), buffered...)
		bufs.br, bufs.bw = nil, nil
		return pending, true
	})
	return false
}

// serveForward forwards one absolute-URI request on its own upstream
// connection and streams the response back.
func (p *Proxy) serveForward(c net.Conn, br *bufio.Reader, bw *bufio.Writer, h *requestHead, rec *Record) bool {
	// Answers given before the body is relayed can keep the connection
	// only when there is no body; later ones when it was read whole.
	keep := h.keepAliveUnread()
	host, port, path, err := parseAbsoluteURI(h.target)
	if err != nil {
		p.refuse(rec, RuleBadRequest, err.Error())
		writeText(bw, http.StatusBadRequest, nil, "airlock: "+err.Error()+"\n", !keep)
		return keep
	}
	rec.Host, rec.Port = host, port
	hosts := h.header["Host"]
	switch {
	case len(hosts) > 1:
		err = errors.New("more than one Host header")
	case len(hosts) == 0 && h.minor == 1:
		err = errors.New("HTTP/1.1 request without a Host header")
	case len(hosts) == 1 && !sameHost(hosts[0], host, port):
		err = fmt.Errorf("the Host header %q does not match the request target %s", hosts[0], net.JoinHostPort(host, strconv.Itoa(port)))
	}
	if err != nil {
		p.refuse(rec, RuleBadRequest, err.Error())
		writeText(bw, http.StatusBadRequest, nil, "airlock: "+err.Error()+"\n", !keep)
		return keep
	}
	hostHeader := hostPort(host, port)
	if len(hosts) == 1 {
		hostHeader = hosts[0]
	} else if port == 80 {
		hostHeader = strings.TrimSuffix(hostHeader, ":80")
	}

	target := path
	if p.cfg.Inject != nil {
		ir := &inject.Request{Host: host, Port: port, Method: h.method, Target: path, Header: h.header, ContentLength: h.contentLength, Encrypted: false}
		if !h.hasBody() {
			ir.ContentLength = 0
		} else if h.chunked {
			ir.ContentLength = -1
		}
		if _, d := p.cfg.Inject.Head(ir); d != nil {
			writeFailure(bw, rec, refusal(p, rec, d), !keep)
			return keep
		}
		target = ir.Target
	}
	var bodyDenial atomic.Pointer[inject.Denial]
	filter := func(r io.Reader) io.Reader {
		if p.cfg.Inject == nil {
			return r
		}
		return &watchBody{ReadCloser: p.cfg.Inject.Body(host, port, false, io.NopCloser(r)), denial: &bodyDenial, n: new(atomic.Int64)}
	}

	conn, fail := p.dialChecked(rec, host, port)
	if fail != nil {
		writeFailure(bw, rec, fail, !keep)
		return keep
	}
	up := &countConn{Conn: conn}
	defer func() {
		conn.Close()
		p.untrack(conn)
		rec.BytesUp, rec.BytesDown = rec.BytesUp+up.written.Load(), rec.BytesDown+up.read.Load()
	}()

	upgrade := isUpgrade(h)
	ubw := bufio.NewWriterSize(up, 8<<10)
	writeRequestHead(ubw, h, target, hostHeader, upgrade)
	if err := ubw.Flush(); err != nil {
		rec.Error = "write to upstream: " + err.Error()
		writeText(bw, http.StatusBadGateway, nil, "airlock: cannot send the request upstream\n", !keep)
		return keep
	}

	// The request body goes upstream on its own goroutine while this one
	// reads the response: the upstream may answer before it has read the
	// body, and a client that sent "Expect: 100-continue" waits for the
	// 100 before sending it.
	keep = h.keepAlive()
	var bodyRead atomic.Bool // the whole body has been read from the client
	wdone := make(chan error, 1)
	if h.hasBody() {
		go func() {
			err := copyRequestBody(ubw, br, h, &bodyRead, filter, p.cfg.Inject == nil)
			var we *writeError
			if err != nil && !errors.As(err, &we) {
				// The client's body is truncated or malformed:
				// the upstream must not wait for the rest.
				conn.Close()
			}
			wdone <- err
		}()
	} else {
		bodyRead.Store(true)
		wdone <- nil
	}
	// settle ends the request body transfer once the response is over,
	// and reports whether the client connection is at a request
	// boundary.
	settled := false
	clean := true
	settle := func() bool {
		if settled {
			return clean
		}
		settled = true
		if bodyRead.Load() {
			// Only the write upstream can still be pending.
			conn.Close()
			<-wdone
			return true
		}
		conn.Close()
		c.SetReadDeadline(aLongTimeAgo)
		<-wdone
		c.SetReadDeadline(time.Time{})
		clean = false
		return false
	}
	defer settle()

	lim := &limitedReader{r: up}
	ubr := bufio.NewReaderSize(lim, 16<<10)
	for i := 0; ; i++ {
		lim.n = maxHeadBytes
		resp, err := http.ReadResponse(ubr, &http.Request{Method: h.method})
		if err == nil && resp.StatusCode == http.StatusSwitchingProtocols && !upgrade {
			err = errors.New("101 Switching Protocols without an Upgrade request")
		}
		if err == nil && resp.StatusCode/100 == 1 && resp.StatusCode != http.StatusSwitchingProtocols && i >= maxInformational {
			err = errors.New("too many informational responses")
		}
		if err != nil {
			k := settle() && keep
			if d := bodyDenial.Load(); d != nil {
				writeFailure(bw, rec, refusal(p, rec, d), true)
				return false
			}
			rec.Error = "read response: " + err.Error()
			writeText(bw, http.StatusBadGateway, nil, "airlock: bad response from upstream\n", !k)
			return k
		}
		lim.n = -1
		if resp.StatusCode == http.StatusSwitchingProtocols {
			writeResponseHead(bw, resp, "", true)
			if err := bw.Flush(); err != nil {
				rec.Error = "write to client: " + err.Error()
				return false
			}
			cp, _ := br.Peek(br.Buffered())
			upPending, _ := ubr.Peek(ubr.Buffered())
			// The tunnel runs on the raw connection (splice);
			// its bytes are added to what up counted so far.
			// up already counted upPending as read.
			n, m := relay(c, cp, conn, upPending)
			rec.BytesUp, rec.BytesDown = n, m-int64(len(upPending))
			return false
		}
		if resp.StatusCode/100 == 1 {
			writeResponseHead(bw, resp, "", false)
			if err := bw.Flush(); err != nil {
				rec.Error = "write to client: " + err.Error()
				return false
			}
			continue
		}
		return p.writeResponse(bw, h, resp, rec, keep, &bodyRead, settle)
	}
}

// writeResponse streams a final response to the client, re-framed, and
// reports whether the connection can carry another request.
func (p *Proxy) writeResponse(bw *bufio.Writer, h *requestHead, resp *http.Response, rec *Record, keep bool, bodyRead *atomic.Bool, settle func() bool) bool {
	// resp.Body is not closed: closing an unfinished body would drain
	// it; settle closes the upstream connection instead.
	noBody := h.method == http.MethodHead || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified
	// A request body still being read when the response starts means
	// the upstream answered early: the connection will not be at a
	// request boundary, so announce the close.
	if !bodyRead.Load() {
		keep = false
	}
	var framing string
	switch {
	case noBody:
		// A HEAD or 304 response's Content-Length describes the
		// resource; pass it on when it is well formed.
		if cl := resp.Header["Content-Length"]; len(cl) > 0 {
			if n, err := parseContentLength(cl); err == nil {
				framing = "Content-Length: " + strconv.FormatInt(n, 10)
			}
		}
	case resp.ContentLength >= 0:
		framing = "Content-Length: " + strconv.FormatInt(resp.ContentLength, 10)
	case h.minor == 1:
		framing = "Transfer-Encoding: chunked"
	default:
		keep = false // close-delimited body to an HTTP/1.0 client
	}
	writeResponseHead(bw, resp, framing, !keep)
	if noBody {
		if err := bw.Flush(); err != nil {
			rec.Error = "write to client: " + err.Error()
			return false
		}
		return settle() && keep
	}
	var err error
	if framing == "Transfer-Encoding: chunked" {
		err = copyChunked(bw, resp.Body, func() http.Header { return resp.Trailer })
	} else {
		_, err = copyFlush(bw, bw, resp.Body)
	}
	if err != nil {
		rec.Error = "relay response: " + err.Error()
		settle()
		return false
	}
	return settle() && keep
}

// isUpgrade reports whether the request asks for a protocol upgrade
// (WebSocket), which the proxy supports only without a request body.
func isUpgrade(h *requestHead) bool {
	return !h.hasBody() && len(h.header["Upgrade"]) > 0 && hasToken(h.header["Connection"], "upgrade")
}

// hopByHop lists header fields that describe one connection and are never
// forwarded; the proxy writes its own framing and connection fields.
var hopByHop = map[string]bool{
	"Connection":          true,
	"Proxy-Connection":    true,
	"Keep-Alive":          true,
	"Proxy-Authenticate":  true,
	"Proxy-Authorization": true,
	"Te":                  true,
	"Trailer":             true,
	"Transfer-Encoding":   true,
	"Upgrade":             true,
	"Content-Length":      true,
	"Host":                true,
}

// forwardable returns the end-to-end header fields of hdr, in a stable
// order: hop-by-hop fields and those the Connection field names are
// dropped.
func forwardable(hdr http.Header) []string {
	named := map[string]bool{}
	for _, t := range splitList(hdr["Connection"]) {
		named[http.CanonicalHeaderKey(t)] = true
	}
	keys := make([]string, 0, len(hdr))
	for k := range hdr {
		if !hopByHop[k] && !named[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// writeRequestHead writes the upstream request head: origin-form target,
// the client's Host, end-to-end fields, and the proxy's own framing. The
// upstream connection is used for this request only.
func writeRequestHead(w *bufio.Writer, h *requestHead, path, host string, upgrade bool) {
	fmt.Fprintf(w, "%s %s HTTP/1.1\r\nHost: %s\r\n", h.method, path, host)
	for _, k := range forwardable(h.header) {
		for _, v := range h.header[k] {
			fmt.Fprintf(w, "%s: %s\r\n", k, v)
		}
	}
	switch {
	case h.chunked:
		w.WriteString("Transfer-Encoding: chunked\r\n")
		if tr := h.header["Trailer"]; len(tr) > 0 {
			fmt.Fprintf(w, "Trailer: %s\r\n", strings.Join(tr, ", "))
		}
	case h.contentLength >= 0:
		fmt.Fprintf(w, "Content-Length: %d\r\n", h.contentLength)
	}
	if upgrade {
		for _, v := range h.header["Upgrade"] {
			fmt.Fprintf(w, "Upgrade: %s\r\n", v)
		}
		w.WriteString("Connection: Upgrade\r\n\r\n")
		return
	}
	w.WriteString("Connection: close\r\n\r\n")
}

// copyRequestBody sends the request body upstream, re-framed as the head
// announced. It sets bodyRead as soon as the last byte of the body has
// been read from the client, before writing it. Errors writing upstream
// are *writeError; others come from the client (a truncated or malformed
// body).
// Trailer fields are forwarded only when keepTrailer is set: with secrets
// configured they would reach the upstream unchecked, so they are dropped.
func copyRequestBody(w *bufio.Writer, br *bufio.Reader, h *requestHead, bodyRead *atomic.Bool, filter func(io.Reader) io.Reader, keepTrailer bool) error {
	if !h.chunked {
		r := &bodyReader{r: br, n: h.contentLength, done: bodyRead}
		_, err := copyFlush(w, w, filter(r))
		return err
	}
	cw := httputil.NewChunkedWriter(w)
	if _, err := copyFlush(cw, w, filter(httputil.NewChunkedReader(br))); err != nil {
		return err
	}
	budget := maxHeadBytes
	trailer, err := readHeaderFields(br, &budget)
	if err != nil {
		return err
	}
	bodyRead.Store(true)
	if err := cw.Close(); err != nil {
		return &writeError{err}
	}
	if !keepTrailer {
		trailer = nil
	}
	writeTrailer(w, trailer, declared(h.header["Trailer"]))
	if err := w.Flush(); err != nil {
		return &writeError{err}
	}
	return nil
}

// declared returns the set of field names a Trailer field announces.
func declared(values []string) map[string]bool {
	m := map[string]bool{}
	for _, t := range splitList(values) {
		m[http.CanonicalHeaderKey(t)] = true
	}
	return m
}

// writeTrailer ends a chunked body with the announced trailer fields.
func writeTrailer(w *bufio.Writer, trailer http.Header, allowed map[string]bool) {
	keys := make([]string, 0, len(trailer))
	for k := range trailer {
		if allowed[k] && !hopByHop[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range trailer[k] {
			fmt.Fprintf(w, "%s: %s\r\n", k, oneLine(v))
		}
	}
	w.WriteString("\r\n")
}

// bodyReader reads a Content-Length body, setting done when the last byte
// has been read.
type bodyReader struct {
	r    io.Reader
	n    int64
	done *atomic.Bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		b.done.Store(true)
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	if b.n == 0 {
		b.done.Store(true)
		if err == nil {
			err = io.EOF
		}
	}
	if err == io.EOF && b.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// writeError marks an error writing to the destination of a copy, as
// opposed to reading from its source.
type writeError struct{ err error }

func (e *writeError) Error() string { return "write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// copyFlush copies src to w, a writer on top of f (or f itself), flushing
// f after every read so that streamed bodies are not held back. Errors
// from w or f are *writeError.
func copyFlush(w io.Writer, f *bufio.Writer, src io.Reader) (int64, error) {
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return total, &writeError{err}
			}
			if err := f.Flush(); err != nil {
				return total, &writeError{err}
			}
			total += int64(n)
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// copyChunked sends src to the client as a chunked body, then the
// trailer fields the upstream announced.
func copyChunked(bw *bufio.Writer, src io.Reader, trailer func() http.Header) error {
	cw := httputil.NewChunkedWriter(bw)
	if _, err := copyFlush(cw, bw, src); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	tr := trailer()
	all := map[string]bool{}
	for k := range tr {
		all[k] = true
	}
	writeTrailer(bw, tr, all)
	return bw.Flush()
}

// writeResponseHead writes a response status line and its end-to-end
// fields. framing is the proxy's own Content-Length or Transfer-Encoding
// line ("" for none). A 101 response keeps its Upgrade field.
func writeResponseHead(w *bufio.Writer, resp *http.Response, framing string, closeConn bool) {
	text := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	if text == "" {
		text = http.StatusText(resp.StatusCode)
	}
	fmt.Fprintf(w, "HTTP/1.1 %03d %s\r\n", resp.StatusCode, oneLine(text))
	for _, k := range forwardable(resp.Header) {
		for _, v := range resp.Header[k] {
			fmt.Fprintf(w, "%s: %s\r\n", k, oneLine(v))
		}
	}
	switch {
	case resp.StatusCode == http.StatusSwitchingProtocols:
		for _, v := range resp.Header["Upgrade"] {
			fmt.Fprintf(w, "Upgrade: %s\r\n", oneLine(v))
		}
		w.WriteString("Connection: Upgrade\r\n")
	case resp.StatusCode/100 == 1:
	default:
		if framing == "Transfer-Encoding: chunked" && len(resp.Trailer) > 0 {
			names := make([]string, 0, len(resp.Trailer))
			for k := range resp.Trailer {
				names = append(names, k)
			}
			sort.Strings(names)
			fmt.Fprintf(w, "Trailer: %s\r\n", strings.Join(names, ", "))
		}
		if framing != "" {
			w.WriteString(framing + "\r\n")
		}
		if closeConn {
			w.WriteString("Connection: close\r\n")
		}
	}
	w.WriteString("\r\n")
}

// writeText writes a complete short text/plain response and flushes it.
func writeText(w *bufio.Writer, status int, extra [][2]string, body string, closeConn bool) error {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	for _, kv := range extra {
		fmt.Fprintf(w, "%s: %s\r\n", kv[0], oneLine(kv[1]))
	}
	fmt.Fprintf(w, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n", len(body))
	if closeConn {
		w.WriteString("Connection: close\r\n")
	}
	w.WriteString("\r\n")
	w.WriteString(body)
	return w.Flush()
}

// writeFailure answers a request dialChecked refused or could not connect:
// 403 with the X-Airlock-Denied field for a denial, 502 or 504 otherwise.
func writeFailure(w *bufio.Writer, rec *Record, f *failure, closeConn bool) {
	dest := hostPort(rec.Host, rec.Port)
	switch f.kind {
	case failDenied:
		denied := f.v.Rule
		if denied == "" {
			denied = "denied"
		}
		body := fmt.Sprintf("airlock: denied %s: %s\n", dest, oneLine(f.v.Reason))
		if f.v.Hint != "" {
			denied += "; hint: " + f.v.Hint
			body += "airlock: hint: " + oneLine(f.v.Hint) + "\n"
		}
		writeText(w, http.StatusForbidden, [][2]string{{"X-Airlock-Denied", denied}}, body, closeConn)
	case failResolve:
		writeText(w, http.StatusBadGateway, nil, fmt.Sprintf("airlock: cannot resolve %s: %s\n", rec.Host, oneLine(f.err.Error())), closeConn)
	default:
		status := http.StatusBadGateway
		if classifyDialError(f.err) == dialTimeout {
			status = http.StatusGatewayTimeout
		}
		writeText(w, status, nil, fmt.Sprintf("airlock: cannot connect to %s: %s\n", dest, oneLine(f.err.Error())), closeConn)
	}
}

// hostPort joins host and port, bracketing IPv6 literals.
func hostPort(host string, port int) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// limitedReader reads from r at most n bytes, then fails; n < 0 means no
// limit. It bounds response heads.
type limitedReader struct {
	r io.Reader
	n int64
}

var errResponseHeadTooLarge = errors.New("response head too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return l.r.Read(p)
	}
	if l.n == 0 {
		return 0, errResponseHeadTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// refusal records the Injector's denial d on rec and returns it as a
// dial-style failure for writeFailure.
func refusal(p *Proxy, rec *Record, d *inject.Denial) *failure {
	v := Verdict{Rule: d.Rule, Reason: d.Reason, Hint: d.Hint}
	p.denied(rec, v)
	return &failure{kind: failDenied, v: v}
}
