package inject

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

const (
	realTok = "sk-ant-api03-REALREALREALREAL0123"
	phTok   = "sk-ant-api03-PHPHPHPHPHPHPHPH9876"
	realGH  = "ghp_realrealrealrealrealrealrealreal01"
	phGH    = "ghp_phphphphphphphphphphphphphphphph99"
)

func newTestInjector(t *testing.T) *Injector {
	t.Helper()
	in, err := New(Config{
		Secrets: []Secret{
			{Name: "ANTHROPIC_API_KEY", Value: []byte(realTok), Placeholder: []byte(phTok), Allows: func(h string, _ int) bool { return h == "api.anthropic.com" }},
			{Name: "GH_TOKEN", Value: []byte(realGH), Placeholder: []byte(phGH), Body: true, Allows: func(h string, _ int) bool { return MatchHost("*.github.com", h) }},
		},
		Limits: []Limit{{Host: "*.readonly.test", Methods: ReadOnlyMethods}, {Host: "small.test", MaxBody: 10}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestHead(t *testing.T) {
	in := newTestInjector(t)
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	tests := []struct {
		name      string
		host      string
		method    string
		target    string
		header    http.Header
		clen      int64
		plain     bool
		wantInj   []string
		wantRule  string
		wantHdr   string // expected value of the first header after the call
		wantTarge string
	}{
		{name: "swap x-api-key", host: "api.anthropic.com", header: http.Header{"X-Api-Key": {phTok}}, wantInj: []string{"ANTHROPIC_API_KEY"}, wantHdr: realTok},
		{name: "swap bearer", host: "api.anthropic.com", header: http.Header{"Authorization": {"Bearer " + phTok}}, wantInj: []string{"ANTHROPIC_API_KEY"}, wantHdr: "Bearer " + realTok},
		{name: "swap basic", host: "api.github.com", header: http.Header{"Authorization": {basic("x-access-token", phGH)}}, wantInj: []string{"GH_TOKEN"}, wantHdr: basic("x-access-token", realGH)},
		{name: "no secret", host: "api.anthropic.com", header: http.Header{"Accept": {"*/*"}}, wantHdr: "*/*"},
		{name: "placeholder elsewhere", host: "evil.test", header: http.Header{"X-Api-Key": {phTok}}, wantRule: RuleExfiltration},
		{name: "real elsewhere", host: "evil.test", header: http.Header{"X-Leak": {realTok}}, wantRule: RuleExfiltration},
		{name: "base64 elsewhere", host: "evil.test", header: http.Header{"X-Leak": {base64.StdEncoding.EncodeToString([]byte("k=" + phTok))}}, wantRule: RuleExfiltration},
		{name: "basic elsewhere", host: "evil.test", header: http.Header{"Authorization": {basic("u", phGH)}}, wantRule: RuleExfiltration},
		{name: "query elsewhere", host: "evil.test", target: "/x?k=" + url.QueryEscape(phTok), header: http.Header{}, wantRule: RuleExfiltration},
		{name: "query base64url elsewhere", host: "evil.test", target: "/x?k=" + base64.RawURLEncoding.EncodeToString([]byte(realGH)), header: http.Header{}, wantRule: RuleExfiltration},
		{name: "other secret to github", host: "api.github.com", header: http.Header{"X-Api-Key": {phTok}}, wantRule: RuleExfiltration},
		{name: "query swap with body opt-in", host: "api.github.com", target: "/x?t=" + phGH, header: http.Header{}, wantInj: []string{"GH_TOKEN"}, wantTarge: "/x?t=" + realGH},
		{name: "query no swap without opt-in", host: "api.anthropic.com", target: "/x?t=" + phTok, header: http.Header{}, wantTarge: "/x?t=" + phTok},
		{name: "cleartext", host: "api.anthropic.com", header: http.Header{"X-Api-Key": {phTok}}, plain: true, wantRule: RuleCleartext},
		{name: "read-only GET", host: "a.readonly.test", method: "GET", header: http.Header{}},
		{name: "read-only POST", host: "a.readonly.test", method: "POST", header: http.Header{}, wantRule: RuleMethod},
		{name: "body limit declared", host: "small.test", method: "POST", clen: 11, header: http.Header{}, wantRule: RuleBodySize},
		{name: "body limit ok", host: "small.test", method: "POST", clen: 10, header: http.Header{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.method == "" {
				tt.method = "GET"
			}
			if tt.target == "" {
				tt.target = "/v1"
			}
			if tt.clen == 0 {
				tt.clen = -1
			}
			r := &Request{Host: tt.host, Port: 443, Method: tt.method, Target: tt.target, Header: tt.header, ContentLength: tt.clen, Encrypted: !tt.plain}
			inj, d := in.Head(r)
			rule := ""
			if d != nil {
				rule = d.Rule
				if strings.Contains(d.Reason, realTok) || strings.Contains(d.Reason, phTok) {
					t.Errorf("reason %q carries a secret", d.Reason)
				}
			}
			if rule != tt.wantRule {
				t.Fatalf("rule = %q (%v), want %q", rule, d, tt.wantRule)
			}
			if !slices.Equal(inj, tt.wantInj) {
				t.Errorf("injected = %q, want %q", inj, tt.wantInj)
			}
			if tt.wantHdr != "" {
				for _, vs := range r.Header {
					if vs[0] != tt.wantHdr {
						t.Errorf("header = %q, want %q", vs[0], tt.wantHdr)
					}
				}
			}
			if tt.wantTarge != "" && r.Target != tt.wantTarge {
				t.Errorf("target = %q, want %q", r.Target, tt.wantTarge)
			}
		})
	}
}

func TestBody(t *testing.T) {
	in := newTestInjector(t)
	tests := []struct {
		name     string
		host     string
		body     string
		want     string
		wantRule string
	}{
		{name: "clean", host: "evil.test", body: strings.Repeat("hello ", 20000), want: strings.Repeat("hello ", 20000)},
		{name: "placeholder elsewhere", host: "evil.test", body: strings.Repeat("x", 70000) + phTok + "tail", wantRule: RuleExfiltration},
		{name: "real base64 elsewhere", host: "evil.test", body: "{\"d\":\"" + base64.StdEncoding.EncodeToString([]byte(realGH)) + "\"}", wantRule: RuleExfiltration},
		{name: "url-encoded elsewhere", host: "evil.test", body: "a=" + url.QueryEscape("k:"+realTok), wantRule: RuleExfiltration},
		{name: "swap opt-in", host: "api.github.com", body: strings.Repeat("y", 40000) + phGH + "!", want: strings.Repeat("y", 40000) + realGH + "!"},
		{name: "no swap without opt-in", host: "api.anthropic.com", body: "k=" + phTok, want: "k=" + phTok},
		{name: "size limit", host: "small.test", body: "01234567890", wantRule: RuleBodySize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time: every split of a secret across reads.
			src := io.NopCloser(iotest.OneByteReader(strings.NewReader(tt.body)))
			got, err := io.ReadAll(in.Body(tt.host, 443, true, src))
			var d *Denial
			rule := ""
			if errors.As(err, &d) {
				rule = d.Rule
			} else if err != nil {
				t.Fatal(err)
			}
			if rule != tt.wantRule {
				t.Fatalf("rule = %q (err %v), want %q", rule, err, tt.wantRule)
			}
			if tt.wantRule != "" {
				if bytes.Contains(got, []byte(phTok[:len(phTok)-1])) || bytes.Contains(got, []byte(realGH[:10])) && tt.host != "api.github.com" {
					t.Errorf("part of the secret was passed on before the denial")
				}
				return
			}
			if string(got) != tt.want {
				t.Errorf("body differs: got %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	allow := func(string, int) bool { return true }
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no name", Config{Secrets: []Secret{{Value: []byte("a"), Placeholder: []byte("b"), Allows: allow}}}, "without a name"},
		{"twice", Config{Secrets: []Secret{{Name: "A", Value: []byte("a"), Placeholder: []byte("b"), Allows: allow}, {Name: "A", Value: []byte("a"), Placeholder: []byte("b"), Allows: allow}}}, "twice"},
		{"length", Config{Secrets: []Secret{{Name: "A", Value: []byte("aa"), Placeholder: []byte("b"), Allows: allow}}}, "length"},
		{"hosts", Config{Secrets: []Secret{{Name: "A", Value: []byte("a"), Placeholder: []byte("b")}}}, "no hosts"},
		{"limit", Config{Limits: []Limit{{Host: "x", MaxBody: -1}}}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestWants(t *testing.T) {
	in := newTestInjector(t)
	for host, want := range map[string]bool{"api.anthropic.com": true, "x.github.com": true, "github.com": false, "b.readonly.test": true, "evil.test": false} {
		if got := in.Wants(host, 443); got != want {
			t.Errorf("Wants(%s) = %v, want %v", host, got, want)
		}
	}
}
