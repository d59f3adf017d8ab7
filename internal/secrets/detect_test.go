package secrets

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

func TestDetectorFind(t *testing.T) {
	const (
		real = "sk-ant-api03-Real+Value/With Space?~"
		ph   = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
	)
	d := NewDetector(map[string][]byte{"ANTHROPIC": []byte(real), "GH": []byte(ph), "EMPTY": nil})
	b64 := func(enc *base64.Encoding, prefix, suffix string) string {
		return enc.EncodeToString([]byte(prefix + real + suffix))
	}
	tests := []struct {
		name, data, wantName, wantEnc string
	}{
		{"plain", "x-api-key: " + real, "ANTHROPIC", EncPlain},
		{"plain second needle", "Authorization: token " + ph, "GH", EncPlain},
		{"query escape", "GET /?k=" + url.QueryEscape(real), "ANTHROPIC", EncURL},
		{"path escape", "/" + url.PathEscape(real), "ANTHROPIC", EncURL},
		{"every byte escaped lower hex", "q=" + strings.ToLower(escapeAll(real)), "ANTHROPIC", EncURL},
		{"every byte escaped upper hex", "q=" + escapeAll(real), "ANTHROPIC", EncURL},
		{"mixed escaping", "q=sk-ant-api03-Real%2BValue%2fWith+Space%3F~", "ANTHROPIC", EncURL},
		{"base64 std offset 0", "data=" + b64(base64.StdEncoding, "", ""), "ANTHROPIC", EncBase64},
		{"base64 std offset 1", "data=" + b64(base64.StdEncoding, "a", "b"), "ANTHROPIC", EncBase64},
		{"base64 std offset 2", "data=" + b64(base64.StdEncoding, "ab", "cd"), "ANTHROPIC", EncBase64},
		{"base64 std long run", b64(base64.StdEncoding, "{\"user\":\"me\",\"key\":\"", "\"}"), "ANTHROPIC", EncBase64},
		{"base64 raw", b64(base64.RawStdEncoding, "xy", ""), "ANTHROPIC", EncBase64},
		{"base64url offset 0", b64(base64.URLEncoding, "", ""), "ANTHROPIC", EncBase64URL},
		{"base64url offset 1", b64(base64.RawURLEncoding, "1", "22"), "ANTHROPIC", EncBase64URL},
		// At this alignment the encoded needle has no '+' or '/', so it is
		// the same in both alphabets and reported as "base64".
		{"base64url offset 2 same in both", b64(base64.URLEncoding, "12", "3"), "ANTHROPIC", EncBase64},
		{"basic auth", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+ph)), "GH", EncBase64},
		{"base64 then url-escaped", "q=" + url.QueryEscape(b64(base64.StdEncoding, "a", "")), "ANTHROPIC", EncBase64},
		{"unrelated", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "", ""},
		{"prefix only", "sk-ant-api03-Real+Value/With", "", ""},
		{"placeholder-like", "ghp_0123456789abcdefghijABCDEFGHIJ01234X", "", ""},
		{"needle split by junk", "sk-ant-api03-Real+Val\nue/With Space?~", "", ""},
		{"double escaped not caught", "q=" + url.QueryEscape(url.QueryEscape(real)), "", ""},
		{"base64 of wrapped lines not caught", wrap(b64(base64.StdEncoding, strings.Repeat("z", 40), ""), 10), "", ""},
		{"empty data", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, enc, found := d.Find([]byte(tt.data))
			if found != (tt.wantName != "") || name != tt.wantName || enc != tt.wantEnc {
				t.Errorf("Find(%q): got (%q, %q, %v), want (%q, %q, %v)", tt.data, name, enc, found, tt.wantName, tt.wantEnc, tt.wantName != "")
			}
		})
	}
}

func escapeAll(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		b.WriteString("%")
		b.WriteString(strings.ToUpper(string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])))
	}
	return b.String()
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\r\n")
		s = s[n:]
	}
	return b.String() + s
}

func TestDetectorBase64AllAlignments(t *testing.T) {
	needle := []byte("AKIAIOSFODNN7EXAMPLE")
	d := NewDetector(map[string][]byte{"AWS": needle})
	for pre := 0; pre < 6; pre++ {
		for post := 0; post < 4; post++ {
			data := append(append([]byte(strings.Repeat("\xfb", pre)), needle...), strings.Repeat("\xff", post)...)
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
				s := enc.EncodeToString(data)
				if _, _, found := d.Find([]byte(s)); !found {
					t.Errorf("pre=%d post=%d: Find(%q): got not found, want found", pre, post, s)
				}
			}
		}
	}
}

func TestDetectorOverlap(t *testing.T) {
	d := NewDetector(map[string][]byte{"A": []byte("0123456789"), "B": []byte("xyz")})
	if got, want := d.Overlap(), 30; got != want {
		t.Errorf("Overlap: got %d, want %d", got, want)
	}
	// A stream scanner carrying Overlap bytes catches an escaped needle
	// split across chunks.
	data := "aaaa" + escapeAll("0123456789") + "bbbb"
	split := len(data) / 2
	carry := data[max(0, split-d.Overlap()):split]
	if _, _, found := d.Find([]byte(data[:split])); found {
		t.Fatalf("first chunk alone: got found, want not found")
	}
	if _, enc, found := d.Find([]byte(carry + data[split:])); !found || enc != EncURL {
		t.Errorf("second chunk with carry: got (%q, %v), want (url, true)", enc, found)
	}
}

func TestDetectorEmpty(t *testing.T) {
	d := NewDetector(nil)
	if _, _, found := d.Find([]byte("anything %41+")); found {
		t.Errorf("empty detector: got found, want not found")
	}
}
