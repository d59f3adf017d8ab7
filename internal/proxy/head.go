package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// requestHead is a parsed HTTP/1.x request head.
type requestHead struct {
	method string
	target string
	minor  int // HTTP/1.minor: 0 or 1
	header http.Header

	// Body framing: chunked, or contentLength bytes (-1: no
	// Content-Length, so no body).
	chunked       bool
	contentLength int64
}

// hasBody reports whether the request carries a body.
func (h *requestHead) hasBody() bool { return h.chunked || h.contentLength > 0 }

// keepAlive reports whether the client asked to keep the connection open
// after this request. HTTP/1.0 connections are always closed.
func (h *requestHead) keepAlive() bool {
	return h.minor == 1 && !hasToken(h.header["Connection"], "close")
}

// keepAliveUnread reports whether the connection can carry another
// request after an answer that leaves the request body unread.
func (h *requestHead) keepAliveUnread() bool { return h.keepAlive() && !h.hasBody() }

// httpError is a request the proxy refuses with an HTTP status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// errHeadTooLarge reports a head larger than its limit.
var errHeadTooLarge = &httpError{status: http.StatusRequestHeaderFieldsTooLarge, msg: "request head too large"}

// readRequestHead reads and strictly parses one request head of at most
// max bytes. It returns io.EOF when the connection ends cleanly before a
// request starts, and an *httpError for a request that must be refused.
func readRequestHead(br *bufio.Reader, max int) (*requestHead, error) {
	budget := max
	var line string
	// RFC 9112 2.2: ignore empty lines before the request line.
	for first := true; ; first = false {
		l, err := readLine(br, &budget)
		if err != nil {
			if first && errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, err
		}
		if l != "" {
			line = l
			break
		}
	}
	h := &requestHead{contentLength: -1}
	parts := strings.Split(line, " ")
	if len(parts) != 3 {
		return nil, badRequest("malformed request line")
	}
	h.method, h.target = parts[0], parts[1]
	if !isToken(h.method) {
		return nil, badRequest("malformed method")
	}
	if h.target == "" || !isVisibleASCII(h.target) {
		return nil, badRequest("malformed request target")
	}
	switch parts[2] {
	case "HTTP/1.1":
		h.minor = 1
	case "HTTP/1.0":
		h.minor = 0
	default:
		if strings.HasPrefix(parts[2], "HTTP/") {
			return nil, &httpError{status: http.StatusHTTPVersionNotSupported, msg: "only HTTP/1.0 and HTTP/1.1 are supported"}
		}
		return nil, badRequest("malformed HTTP version")
	}
	hdr, err := readHeaderFields(br, &budget)
	if err != nil {
		return nil, err
	}
	h.header = hdr
	if err := h.parseFraming(); err != nil {
		return nil, err
	}
	return h, nil
}

// parseFraming decides how the body is delimited, refusing every
// ambiguity a request smuggling attack relies on.
func (h *requestHead) parseFraming() error {
	te, cl := h.header["Transfer-Encoding"], h.header["Content-Length"]
	if len(te) > 0 {
		if len(cl) > 0 {
			return badRequest("request has both Content-Length and Transfer-Encoding")
		}
		if h.minor == 0 {
			return badRequest("Transfer-Encoding in an HTTP/1.0 request")
		}
		codings := splitList(te)
		if len(codings) != 1 || !strings.EqualFold(codings[0], "chunked") {
			return &httpError{status: http.StatusNotImplemented, msg: fmt.Sprintf("unsupported Transfer-Encoding %q", strings.Join(te, ", "))}
		}
		h.chunked = true
		return nil
	}
	if len(cl) > 0 {
		n, err := parseContentLength(cl)
		if err != nil {
			return err
		}
		h.contentLength = n
	}
	return nil
}

// parseContentLength parses the Content-Length field values, which must
// all be the same decimal number.
func parseContentLength(values []string) (int64, error) {
	vals := splitList(values)
	if len(vals) == 0 {
		return 0, badRequest("empty Content-Length")
	}
	for _, v := range vals[1:] {
		if v != vals[0] {
			return 0, badRequest("conflicting Content-Length values")
		}
	}
	if !isDigits(vals[0]) || len(vals[0]) > 18 {
		return 0, badRequest("malformed Content-Length %q", vals[0])
	}
	n, err := strconv.ParseInt(vals[0], 10, 64)
	if err != nil {
		return 0, badRequest("malformed Content-Length %q", vals[0])
	}
	return n, nil
}

// readHeaderFields reads header (or trailer) fields up to and including
// the empty line, charging their size to *budget.
func readHeaderFields(br *bufio.Reader, budget *int) (http.Header, error) {
	hdr := make(http.Header)
	for {
		line, err := readLine(br, budget)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if line == "" {
			return hdr, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return nil, badRequest("obsolete header line folding")
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return nil, badRequest("malformed header line")
		}
		name := line[:colon]
		if !isToken(name) {
			return nil, badRequest("malformed header name %q", name)
		}
		value := strings.Trim(line[colon+1:], " \t")
		for i := 0; i < len(value); i++ {
			if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
				return nil, badRequest("control character in header %s", name)
			}
		}
		key := http.CanonicalHeaderKey(name)
		hdr[key] = append(hdr[key], value)
	}
}

// readLine reads one line ending in LF or CRLF, without the ending,
// charging its length to *budget. A bare CR anywhere is refused. It returns
// io.EOF only when the stream ends before the line's first byte.
func readLine(br *bufio.Reader, budget *int) (string, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		*budget -= len(frag)
		if *budget < 0 {
			return "", errHeadTooLarge
		}
		buf = append(buf, frag...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(buf) > 0 {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	buf = buf[:len(buf)-1]
	if n := len(buf); n > 0 && buf[n-1] == '\r' {
		buf = buf[:n-1]
	}
	for _, c := range buf {
		if c == '\r' || c == 0 {
			return "", badRequest("bare CR or NUL in request head")
		}
	}
	return string(buf), nil
}

// splitList splits comma-separated field values into trimmed, non-empty
// elements.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, e := range strings.Split(v, ",") {
			if e = strings.Trim(e, " \t"); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

// hasToken reports whether the comma-separated values contain token,
// case-insensitively.
func hasToken(values []string, token string) bool {
	for _, e := range splitList(values) {
		if strings.EqualFold(e, token) {
			return true
		}
	}
	return false
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isVisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
