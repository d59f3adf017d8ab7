package inject

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/airlock-sandbox/airlock/internal/secrets"
)

// Rule ids of the decisions made here.
const (
	RuleExfiltration = "secret.exfiltration" // a secret towards a host it may not reach
	RuleCleartext    = "secret.cleartext"    // a secret's placeholder over plain HTTP to its own host
	RuleMethod       = "limit.method"        // a method the host's limit does not allow
	RuleBodySize     = "limit.body"          // a request body over the host's limit
)

// ReadOnlyMethods are the methods a read-only limit allows.
var ReadOnlyMethods = []string{http.MethodGet, http.MethodHead, http.MethodOptions}

// Secret is one credential as the proxy uses it.
type Secret struct {
	Name string
	// Value is the real credential; Placeholder is what the sandbox holds
	// instead (same length, see secrets.NewPlaceholder).
	Value, Placeholder []byte
	// Allows reports whether the real value may be sent to host:port.
	Allows func(host string, port int) bool
	// Body swaps the placeholder in the query and the body too, not only
	// in header fields.
	Body bool
}

// Limit restricts what requests to matching hosts may do.
type Limit struct {
	// Host is a name ("api.example.com") or a "*.example.com" pattern
	// (subdomains only).
	Host string
	// Methods lists the allowed methods; empty allows all.
	Methods []string
	// MaxBody is the largest request body allowed, in bytes; 0 means no
	// limit.
	MaxBody int64
}

// Config configures an Injector.
type Config struct {
	Secrets []Secret
	Limits  []Limit
}

// Denial is a refused request. It is returned by Head and, as the read
// error, by a Body reader.
type Denial struct {
	Rule, Reason, Hint string
	// Secret names the secret involved, if any.
	Secret string
}

func (d *Denial) Error() string { return d.Reason }

// Injector applies a Config. It is immutable and safe for concurrent use.
type Injector struct {
	secrets []Secret
	limits  []Limit

	mu   sync.Mutex                   // guards dets
	dets map[string]*secrets.Detector // key: the set of secrets foreign to a host
}

// New returns an Injector for cfg. Secrets must have a name, a value, a
// placeholder of the same length and an Allows function.
func New(cfg Config) (*Injector, error) {
	seen := map[string]bool{}
	for _, s := range cfg.Secrets {
		switch {
		case s.Name == "":
			return nil, errors.New("secret without a name")
		case seen[s.Name]:
			return nil, fmt.Errorf("secret %s given twice", s.Name)
		case len(s.Value) == 0:
			return nil, fmt.Errorf("secret %s: empty value", s.Name)
		case len(s.Placeholder) != len(s.Value):
			return nil, fmt.Errorf("secret %s: the placeholder differs in length from the value", s.Name)
		case s.Allows == nil:
			return nil, fmt.Errorf("secret %s: no hosts", s.Name)
		}
		seen[s.Name] = true
	}
	for _, l := range cfg.Limits {
		if l.Host == "" {
			return nil, errors.New("limit without a host")
		}
		if l.MaxBody < 0 {
			return nil, fmt.Errorf("limit for %s: negative body size", l.Host)
		}
	}
	return &Injector{secrets: slices.Clone(cfg.Secrets), limits: slices.Clone(cfg.Limits), dets: map[string]*secrets.Detector{}}, nil
}

// Empty reports whether the Injector has neither secrets nor limits.
func (in *Injector) Empty() bool { return in == nil || len(in.secrets) == 0 && len(in.limits) == 0 }

// Wants reports whether requests to host:port must be shown to the
// Injector: a secret may be sent there, or a limit applies.
func (in *Injector) Wants(host string, port int) bool {
	if in == nil {
		return false
	}
	for _, s := range in.secrets {
		if s.Allows(host, port) {
			return true
		}
	}
	return in.limit(host) != nil
}

func (in *Injector) limit(host string) *Limit {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for i := range in.limits {
		if MatchHost(in.limits[i].Host, host) {
			return &in.limits[i]
		}
	}
	return nil
}

// MatchHost reports whether host matches pattern: equal names
// (case-insensitive, one trailing dot ignored), or "*.x" for strict
// subdomains of x.
func MatchHost(pattern, host string) bool {
	pattern = strings.ToLower(strings.TrimSuffix(pattern, "."))
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+rest)
	}
	return pattern == host
}

// detector returns the detector of the needles that must not go to
// host:port: the values and placeholders of the secrets it is not allowed
// for, and the placeholders of those it is (a placeholder left in place
// after the swap means it sat where no swap happens; that is only an
// error where exfil is meant). own lists the secrets allowed there.
func (in *Injector) detector(host string, port int) (det *secrets.Detector, own []int) {
	var key strings.Builder
	for i, s := range in.secrets {
		if s.Allows(host, port) {
			own = append(own, i)
			key.WriteByte('1')
		} else {
			key.WriteByte('0')
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if d, ok := in.dets[key.String()]; ok {
		return d, own
	}
	needles := map[string][]byte{}
	for i, s := range in.secrets {
		if !slices.Contains(own, i) {
			needles[s.Name] = s.Value
			needles[s.Name+"\x00placeholder"] = s.Placeholder
		}
	}
	d := secrets.NewDetector(needles)
	in.dets[key.String()] = d
	return d, own
}

func exfil(host string, port int, where, needle, encoding string) *Denial {
	name, ph := strings.CutSuffix(needle, "\x00placeholder")
	what := "the value"
	if ph {
		what = "the placeholder"
	}
	enc := ""
	if encoding != secrets.EncPlain {
		enc = " (" + encoding + "-encoded)"
	}
	return &Denial{
		Rule:   RuleExfiltration,
		Secret: name,
		Reason: fmt.Sprintf("the request %s carries %s of secret %s%s, which may not be sent to %s:%d", where, what, name, enc, host, port),
		Hint:   fmt.Sprintf("add %s to the hosts of secret %s (--secret %s=SOURCE@HOST,...) if it is meant to receive it", host, name, name),
	}
}

// Request is the part of an HTTP request Head decides on. Head may rewrite
// Target and Header.
type Request struct {
	Host   string // normalised destination name or IP literal
	Port   int
	Method string
	// Target is the request target as it goes upstream (origin form,
	// path and query).
	Target string
	Header http.Header
	// ContentLength is the declared body length, -1 when unknown.
	ContentLength int64
	// Encrypted is true when the request leaves over TLS.
	Encrypted bool
}

// Head checks a request head and swaps placeholders for real values where
// that is allowed. It returns the names of the secrets injected, or a
// Denial; on a Denial nothing was rewritten that matters (the request must
// not be sent).
func (in *Injector) Head(r *Request) (injected []string, d *Denial) {
	if in.Empty() {
		return nil, nil
	}
	if l := in.limit(r.Host); l != nil {
		if len(l.Methods) > 0 && !slices.Contains(l.Methods, r.Method) {
			return nil, &Denial{Rule: RuleMethod, Reason: fmt.Sprintf("method %s is not allowed to %s (allowed: %s)", r.Method, r.Host, strings.Join(l.Methods, ", ")),
				Hint: "--http-methods " + l.Host + "=" + strings.Join(append(slices.Clone(l.Methods), r.Method), ",")}
		}
		if l.MaxBody > 0 && r.ContentLength > l.MaxBody {
			return nil, bodyTooLarge(l)
		}
	}
	det, own := in.detector(r.Host, r.Port)
	if name, enc, ok := det.Find([]byte(r.Target)); ok {
		return nil, exfil(r.Host, r.Port, "target", name, enc)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			if name, enc, ok := det.Find([]byte(k + ": " + v)); ok {
				return nil, exfil(r.Host, r.Port, "header "+k, name, enc)
			}
			if strings.HasPrefix(strings.ToLower(v), "basic ") {
				if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v[6:])); err == nil {
					if name, enc, ok := det.Find(raw); ok {
						return nil, exfil(r.Host, r.Port, "header "+k, name, "basic-auth "+enc)
					}
				}
			}
		}
	}
	if len(own) == 0 {
		return nil, nil
	}
	// Swap the placeholders of the secrets allowed here.
	for _, i := range own {
		s := in.secrets[i]
		swapped := false
		for k, vs := range r.Header {
			for j, v := range vs {
				if nv, ok := swapHeader(v, s.Placeholder, s.Value); ok {
					vs[j] = nv
					swapped = true
				}
			}
			r.Header[k] = vs
		}
		if s.Body && strings.Contains(r.Target, string(s.Placeholder)) {
			r.Target = strings.ReplaceAll(r.Target, string(s.Placeholder), string(s.Value))
			swapped = true
		}
		if swapped {
			if !r.Encrypted {
				return nil, &Denial{Rule: RuleCleartext, Secret: s.Name,
					Reason: fmt.Sprintf("refusing to send secret %s in clear text to %s:%d", s.Name, r.Host, r.Port),
					Hint:   "use https:// for " + r.Host}
			}
			injected = append(injected, s.Name)
		}
	}
	return injected, nil
}

// swapHeader replaces ph by value in a header value, also inside Basic
// credentials.
func swapHeader(v string, ph, value []byte) (string, bool) {
	if strings.Contains(v, string(ph)) {
		return strings.ReplaceAll(v, string(ph), string(value)), true
	}
	if len(v) > 6 && strings.EqualFold(v[:6], "basic ") {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v[6:]))
		if err == nil && bytes.Contains(raw, ph) {
			return v[:6] + base64.StdEncoding.EncodeToString(bytes.ReplaceAll(raw, ph, value)), true
		}
	}
	return v, false
}

func bodyTooLarge(l *Limit) *Denial {
	return &Denial{Rule: RuleBodySize, Reason: fmt.Sprintf("the request body is larger than the %d bytes allowed to %s", l.MaxBody, l.Host),
		Hint: fmt.Sprintf("--max-request-body %s=SIZE", l.Host)}
}

// Body wraps a request body going to host:port. Reading it returns a
// *Denial (as the error) as soon as a foreign secret or the size limit is
// seen, before any byte of the offending part is returned; the
// placeholders of secrets with Body set are swapped. A nil r stays nil.
func (in *Injector) Body(host string, port int, encrypted bool, r io.ReadCloser) io.ReadCloser {
	if in.Empty() || r == nil || r == http.NoBody {
		return r
	}
	det, own := in.detector(host, port)
	f := &bodyFilter{r: r, det: det, host: host, port: port, keep: det.Overlap()}
	if l := in.limit(host); l != nil {
		f.limit = l
	}
	for _, i := range own {
		s := in.secrets[i]
		if s.Body {
			if !encrypted {
				// The placeholder stays: sending it is harmless, and
				// the real value never crosses in clear text.
				continue
			}
			f.swaps = append(f.swaps, [2][]byte{s.Placeholder, s.Value})
			f.keep = max(f.keep, len(s.Placeholder))
		}
	}
	return f
}

// bodyFilter streams a body through the detector; see Injector.Body.
type bodyFilter struct {
	r     io.ReadCloser
	det   *secrets.Detector
	host  string
	port  int
	limit *Limit
	swaps [][2][]byte
	keep  int

	pending []byte // read and checked, held back or not yet returned
	ready   int    // pending[:ready] may be returned
	total   int64
	err     error
	buf     []byte
}

func (f *bodyFilter) Read(p []byte) (int, error) {
	for f.ready == 0 && f.err == nil {
		if f.buf == nil {
			f.buf = make([]byte, 32<<10)
		}
		n, err := f.r.Read(f.buf)
		f.total += int64(n)
		if f.limit != nil && f.limit.MaxBody > 0 && f.total > f.limit.MaxBody {
			f.err = bodyTooLarge(f.limit)
			f.pending = nil
			break
		}
		f.pending = append(f.pending, f.buf[:n]...)
		if name, enc, ok := f.det.Find(f.pending); ok {
			f.err = exfil(f.host, f.port, "body", name, enc)
			f.pending = nil
			break
		}
		for _, s := range f.swaps {
			if bytes.Contains(f.pending, s[0]) {
				f.pending = bytes.ReplaceAll(f.pending, s[0], s[1])
			}
		}
		if err != nil {
			f.err = err
			f.ready = len(f.pending)
			break
		}
		f.ready = max(0, len(f.pending)-f.keep)
	}
	if f.ready > 0 {
		n := copy(p, f.pending[:f.ready])
		f.pending = f.pending[n:]
		f.ready -= n
		return n, nil
	}
	return 0, f.err
}

func (f *bodyFilter) Close() error { return f.r.Close() }

// Value returns the real value of the named secret.
func (in *Injector) Value(name string) ([]byte, bool) {
	if in == nil {
		return nil, false
	}
	for _, s := range in.secrets {
		if s.Name == name {
			return s.Value, true
		}
	}
	return nil, false
}
