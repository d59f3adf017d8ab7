package secrets

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

func FuzzDetector(f *testing.F) {
	f.Add([]byte("sk-ant-api03-abc"), []byte("GET /?q=sk-ant-api03-abc HTTP/1.1"), uint8(0), uint8(3))
	f.Add([]byte("ghp_0123456789"), []byte("%67hp_0123456789+%"), uint8(1), uint8(2))
	f.Add([]byte("a"), []byte(""), uint8(2), uint8(0))
	f.Add([]byte("\x00\xff+/ %"), []byte("%%%2"), uint8(5), uint8(1))
	f.Fuzz(func(t *testing.T, needle, data []byte, pre, post uint8) {
		d := NewDetector(map[string][]byte{"N": needle, "OTHER": []byte("other-needle-value")})
		// Never panics, whatever the data.
		d.Find(data)
		if len(needle) == 0 {
			return
		}
		if bytes.Contains(data, needle) {
			if _, _, found := d.Find(data); !found {
				t.Fatalf("Find(%q) with needle %q: got not found, want found", data, needle)
			}
		}
		// The needle embedded in data, then encoded, must be caught.
		p := int(pre) % (len(data) + 1)
		s := int(post) % (len(data) - p + 1)
		embedded := append(append(append([]byte{}, data[:p]...), needle...), data[p:p+s]...)
		forms := map[string]string{
			"plain": string(embedded),
			"query": url.QueryEscape(string(embedded)),
			"path":  url.PathEscape(string(embedded)),
		}
		if len(needle) >= minBase64Needle {
			forms["base64"] = base64.StdEncoding.EncodeToString(embedded)
			forms["base64url"] = base64.RawURLEncoding.EncodeToString(embedded)
			forms["base64 in query"] = url.QueryEscape(base64.StdEncoding.EncodeToString(embedded))
		}
		for form, s := range forms {
			if _, _, found := d.Find([]byte(s)); !found {
				t.Fatalf("%s form %q of %q with needle %q: got not found, want found", form, s, embedded, needle)
			}
		}
	})
}

// redactable reports whether v is a value FuzzRedactor can hold the
// Redactor to: not readable inside or across a "[REDACTED:NAME]" label, and
// on one line (the writer works line by line).
func redactable(v []byte) bool {
	if len(v) == 0 || bytes.ContainsAny(v, "[]\n") {
		return false
	}
	for _, c := range v {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ':') {
			return true
		}
	}
	return false
}

func FuzzRedactor(f *testing.F) {
	f.Add([]byte("real-secret"), []byte("placeholder"), "x real-secret y\nplaceholder", uint16(5))
	f.Add([]byte("ab"), []byte("ba"), "abababa\n-----BEGIN PRIVATE KEY-----\nab\n", uint16(3))
	f.Add([]byte("sk-ant-api03-x"), []byte("eyJ"), "Bearer sk-ant-api03-xeyJ.eyJhbGc.x", uint16(9))
	f.Add([]byte("-----END PRIVATE KEY-----"), []byte("a"), "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----a", uint16(30))
	f.Fuzz(func(t *testing.T, a, b []byte, in string, split uint16) {
		values := map[string][]byte{"A_KEY": a, "B_KEY": b}
		r := NewRedactor(values)
		out := r.String(in)
		var buf bytes.Buffer
		w := r.Writer(&buf)
		cut := int(split) % (len(in) + 1)
		w.Write([]byte(in[:cut]))
		w.Write([]byte(in[cut:]))
		w.Close()
		for name, v := range values {
			if !redactable(v) {
				continue
			}
			if strings.Contains(out, string(v)) {
				t.Fatalf("String(%q): got %q, which contains %s=%q", in, out, name, v)
			}
			if strings.Contains(buf.String(), string(v)) {
				t.Fatalf("Writer(%q split at %d): got %q, which contains %s=%q", in, cut, buf.String(), name, v)
			}
		}
	})
}
