package secrets

import (
	"bytes"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// shape is a common token format. When the pattern has a group, only the
// group is redacted ("Bearer [REDACTED]").
type shape struct {
	re *regexp.Regexp
}

// shapes are matched with RE2, in time linear in the input. The leading \b
// keeps "task-ant-farm" or "skip-tests" from matching "sk-".
var shapes = []shape{
	{regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})`)},
	{regexp.MustCompile(`\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}`)},
	{regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`)},
	{regexp.MustCompile(`\bxox[abprs]-[A-Za-z0-9-]{10,}`)},
	{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)},
	{regexp.MustCompile(`(?i)\bbearer[ \t]+([A-Za-z0-9._~+/=-]{8,})`)},
	// A private key block up to its END line, or to the end of the text
	// when the END line is missing.
	{pemRE},
}

var (
	pemRE    = regexp.MustCompile(`-----BEGIN[A-Z0-9 ]* PRIVATE KEY-----(?s:.*?)(?:-----END[A-Z0-9 ]* PRIVATE KEY-----|$)`)
	pemBegin = regexp.MustCompile(`-----BEGIN[A-Z0-9 ]* PRIVATE KEY-----`)
	pemEnd   = regexp.MustCompile(`-----END[A-Z0-9 ]* PRIVATE KEY-----`)
)

type known struct {
	name  string
	value string
	fail  []int // KMP failure function of value
}

// kmpTable returns the KMP failure function of v: fail[i] is the length of
// the longest proper prefix of v[:i+1] that is also its suffix.
func kmpTable(v string) []int {
	fail := make([]int, len(v))
	for i, k := 1, 0; i < len(v); i++ {
		for k > 0 && v[i] != v[k] {
			k = fail[k-1]
		}
		if v[i] == v[k] {
			k++
		}
		fail[i] = k
	}
	return fail
}

// each calls fn with the start of every occurrence of k.value in s,
// overlapping ones included, in time linear in len(s).
func (k *known) each(s string, fn func(start int)) {
	m := len(k.value)
	for i, q := 0, 0; i < len(s); i++ {
		for q > 0 && s[i] != k.value[q] {
			q = k.fail[q-1]
		}
		if s[i] == k.value[q] {
			q++
		}
		if q == m {
			fn(i + 1 - m)
			q = k.fail[q-1]
		}
	}
}

// Redactor replaces known secret values (real values and placeholders) and
// common token shapes with "[REDACTED:NAME]" and "[REDACTED]". It is
// immutable after NewRedactor and safe for concurrent use.
//
// Guarantee (tested by FuzzRedactor): String's output contains none of the
// known values, provided no value could be read inside or across a
// replacement label, that is the value contains no '[' or ']' and some byte
// other than upper-case letters, digits, '_' and ':'.
type Redactor struct {
	known    []known // longest first, then by name
	maxKnown int     // length of the longest value
}

// NewRedactor returns a Redactor for the given name -> value pairs. Empty
// values are ignored.
func NewRedactor(values map[string][]byte) *Redactor {
	r := &Redactor{}
	for name, v := range values {
		if len(v) == 0 {
			continue
		}
		r.known = append(r.known, known{name, string(v), kmpTable(string(v))})
		r.maxKnown = max(r.maxKnown, len(v))
	}
	sort.Slice(r.known, func(i, j int) bool {
		a, b := r.known[i], r.known[j]
		if len(a.value) != len(b.value) {
			return len(a.value) > len(b.value)
		}
		return a.name < b.name
	})
	return r
}

type span struct {
	start, end int
	label      string // "" for a shape match
}

// spans returns the disjoint, sorted ranges of s to redact.
func (r *Redactor) spans(s string) []span {
	var all []span
	for i := range r.known {
		k := &r.known[i]
		k.each(s, func(start int) {
			all = append(all, span{start, start + len(k.value), k.name})
		})
	}
	for _, sh := range shapes {
		for _, m := range sh.re.FindAllStringSubmatchIndex(s, -1) {
			if len(m) >= 4 && m[2] >= 0 {
				all = append(all, span{m[2], m[3], ""})
			} else {
				all = append(all, span{m[0], m[1], ""})
			}
		}
	}
	if len(all) == 0 {
		return nil
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].start != all[j].start {
			return all[i].start < all[j].start
		}
		return all[i].end > all[j].end
	})
	merged := []span{all[0]}
	for _, sp := range all[1:] {
		last := &merged[len(merged)-1]
		if sp.start < last.end {
			last.end = max(last.end, sp.end)
			if last.label == "" {
				last.label = sp.label
			}
			continue
		}
		merged = append(merged, sp)
	}
	return merged
}

func label(name string) string {
	if name == "" {
		return "[REDACTED]"
	}
	return "[REDACTED:" + name + "]"
}

// render writes s with the spans replaced by their labels.
func render(s string, spans []span) string {
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	prev := 0
	for _, sp := range spans {
		b.WriteString(s[prev:sp.start])
		b.WriteString(label(sp.label))
		prev = sp.end
	}
	b.WriteString(s[prev:])
	return b.String()
}

// String returns s with every known value and token shape replaced.
func (r *Redactor) String(s string) string {
	return render(s, r.spans(s))
}

// maxLine is how long a line may grow in the writer before part of it is
// written without waiting for its '\n'.
const maxLine = 64 << 10

// Writer returns a writer that redacts w's input line by line: it buffers
// until '\n', so a value split across Write calls within one line is still
// caught. A private key block spanning lines is dropped from its BEGIN line
// to its END line. Close writes the last partial line; it does not close w.
// Lines longer than 64 KiB are written in pieces, cut outside any match
// and never within the last len(longest known value) bytes, so known values
// are still caught; a token shape longer than that may be cut in two, each
// piece then being redacted on its own merits. The writer is safe for
// concurrent use; a failed write to w is returned by every later call.
func (r *Redactor) Writer(w io.Writer) io.WriteCloser {
	return &redactWriter{r: r, w: w}
}

type redactWriter struct {
	r *Redactor
	w io.Writer

	mu    sync.Mutex // guards buf, inPEM, err
	buf   []byte     // the current partial line
	inPEM bool       // inside a private key block whose END is not yet seen
	err   error      // first write error from w
}

func (rw *redactWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.err != nil {
		return 0, rw.err
	}
	n := len(p)
	var out strings.Builder
	for {
		// Only p needs scanning: rw.buf never holds a '\n'.
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			rw.buf = append(rw.buf, p...)
			break
		}
		rw.buf = append(rw.buf, p[:i]...)
		out.WriteString(rw.lineLocked(string(rw.buf)))
		if !rw.inPEM {
			out.WriteByte('\n')
		}
		rw.buf = rw.buf[:0]
		p = p[i+1:]
	}
	keep := rw.r.maxKnown + 1024
	if len(rw.buf) > maxLine+keep {
		out.WriteString(rw.longLocked(keep))
	}
	if err := rw.emitLocked(out.String()); err != nil {
		return 0, err
	}
	return n, nil
}

// longLocked writes the head of an over-long partial line, keeping its
// last keep bytes (more if a match straddles the cut) for the next Write.
func (rw *redactWriter) longLocked(keep int) string {
	text := string(rw.buf)
	cut := len(text) - keep
	if rw.inPEM {
		if loc := pemEnd.FindStringIndex(text); loc != nil {
			cut = loc[1]
		}
	} else {
		for _, sp := range rw.r.spans(text) {
			if sp.start < cut && cut < sp.end {
				if sp.start > 0 {
					cut = sp.start
				} else {
					cut = sp.end
				}
			}
		}
	}
	rw.buf = append([]byte(nil), text[cut:]...)
	return rw.lineLocked(text[:cut])
}

// lineLocked redacts one line (without its '\n') and tracks private key
// blocks across lines.
func (rw *redactWriter) lineLocked(line string) string {
	if rw.inPEM {
		loc := pemEnd.FindStringIndex(line)
		if loc == nil {
			return ""
		}
		rw.inPEM = false
		line = line[loc[1]:]
	}
	if b := pemBegin.FindAllStringIndex(line, -1); b != nil {
		last := b[len(b)-1]
		if pemEnd.FindStringIndex(line[last[1]:]) == nil {
			// String redacts from this BEGIN to the end of the line.
			rw.inPEM = true
		}
	}
	return rw.r.String(line)
}

func (rw *redactWriter) emitLocked(s string) error {
	if s == "" {
		return nil
	}
	if _, err := io.WriteString(rw.w, s); err != nil {
		rw.err = err
		return err
	}
	return nil
}

// Close writes the buffered partial line, redacted. It does not close the
// underlying writer.
func (rw *redactWriter) Close() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.err != nil {
		return rw.err
	}
	s := ""
	if len(rw.buf) > 0 {
		s = rw.lineLocked(string(rw.buf))
		rw.buf = nil
	}
	return rw.emitLocked(s)
}

// Token is a span of text shaped like a common credential.
type Token struct {
	Start, End int
}

// FindTokens returns, in order and without overlap, the spans of s shaped
// like a common credential: the shapes the redactor replaces when it knows
// no value (GitHub, Anthropic/OpenAI, AWS, Slack tokens, JWTs, bearer
// credentials and private key blocks).
func FindTokens(s string) []Token {
	spans := (&Redactor{}).spans(s)
	out := make([]Token, len(spans))
	for i, sp := range spans {
		out[i] = Token{sp.start, sp.end}
	}
	return out
}
