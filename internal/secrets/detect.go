package secrets

import (
	"bytes"
	"encoding/base64"
	"sort"
)

// Encodings reported by Detector.Find.
const (
	EncPlain     = "plain"
	EncURL       = "url"
	EncBase64    = "base64"
	EncBase64URL = "base64url"
)

// minBase64Needle is the shortest needle searched for in base64: the
// inner part of a shorter one is a couple of characters that would match
// almost any base64 text.
const minBase64Needle = 4

// pattern is one precomputed form of a needle.
type pattern struct {
	name     string
	encoding string
	form     []byte // searched in the raw data
	urlForm  []byte // searched in the canonical URL-decoded data
}

// Detector finds secret values, plain or encoded, in data from the sandbox.
// It is immutable after NewDetector and safe for concurrent use. See the
// package documentation for what it does and does not catch.
type Detector struct {
	patterns []pattern
	overlap  int
}

// NewDetector precomputes the forms of each non-empty needle: the value
// itself, and the inner part of its base64 encodings (standard and URL
// alphabets) at each of the three byte alignments.
func NewDetector(needles map[string][]byte) *Detector {
	names := make([]string, 0, len(needles))
	for name, v := range needles {
		if len(v) > 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	d := &Detector{}
	for _, name := range names {
		v := needles[name]
		d.add(name, EncPlain, v)
		d.overlap = max(d.overlap, 3*len(v))
		if len(v) < minBase64Needle {
			continue
		}
		seen := map[string]bool{}
		for _, enc := range []struct {
			name string
			enc  *base64.Encoding
		}{{EncBase64, base64.RawStdEncoding}, {EncBase64URL, base64.RawURLEncoding}} {
			for align := 0; align < 3; align++ {
				core := base64Core(enc.enc, v, align)
				// An alignment whose inner part is identical in both
				// alphabets is reported as "base64".
				if len(core) == 0 || seen[string(core)] {
					continue
				}
				seen[string(core)] = true
				d.add(name, enc.name, core)
			}
		}
	}
	return d
}

func (d *Detector) add(name, enc string, form []byte) {
	d.patterns = append(d.patterns, pattern{name: name, encoding: enc, form: form, urlForm: plusToSpace(form)})
}

// base64Core returns the base64 characters that depend only on v when v
// starts align bytes into the encoded data: the characters at either end
// that mix v's bits with neighbouring bytes (or padding) are dropped.
func base64Core(enc *base64.Encoding, v []byte, align int) []byte {
	full := enc.EncodeToString(append(make([]byte, align), v...))
	start := (8*align + 5) / 6      // first character whose 6 bits all come from v
	end := 8 * (align + len(v)) / 6 // characters before this one end within v
	if end > len(full) {
		end = len(full)
	}
	if start >= end {
		return nil
	}
	return []byte(full[start:end])
}

// Overlap is how many trailing bytes of one chunk a caller scanning a
// stream should carry into the next Find so that a needle (in any form
// Find catches) split across the boundary is still seen.
func (d *Detector) Overlap() int { return d.overlap }

// Find reports whether data carries one of the needles, and which one and
// in which encoding. Needles are tried in name order, and for each the
// plain form first. Its cost is about (number of forms) x len(data).
func (d *Detector) Find(data []byte) (name string, encoding string, found bool) {
	for _, p := range d.patterns {
		if bytes.Contains(data, p.form) {
			return p.name, p.encoding, true
		}
	}
	if bytes.IndexByte(data, '%') < 0 && bytes.IndexByte(data, '+') < 0 {
		return "", "", false
	}
	dec := urlCanonical(data)
	for _, p := range d.patterns {
		if bytes.Contains(dec, p.urlForm) {
			enc := p.encoding
			if enc == EncPlain {
				enc = EncURL
			}
			return p.name, enc, true
		}
	}
	return "", "", false
}

// urlCanonical decodes every valid %XX escape (either hex case) and maps
// '+' to space, leniently: invalid escapes are kept as they are. Needles
// are compared with '+' also mapped to space, so a literal '+' and an
// encoded space compare equal (a possible false positive, never a miss).
func urlCanonical(data []byte) []byte {
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c == '%' && i+2 < len(data) {
			if h, ok := unhex(data[i+1]); ok {
				if l, ok := unhex(data[i+2]); ok {
					out = append(out, plusToSpaceByte(h<<4|l))
					i += 2
					continue
				}
			}
		}
		out = append(out, plusToSpaceByte(c))
	}
	return out
}

func plusToSpaceByte(c byte) byte {
	if c == '+' {
		return ' '
	}
	return c
}

func plusToSpace(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = plusToSpaceByte(c)
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
