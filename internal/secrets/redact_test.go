package secrets

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

const pemBlock = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0123\nabcdef==\n-----END RSA PRIVATE KEY-----"

func TestRedactorString(t *testing.T) {
	r := NewRedactor(map[string][]byte{
		"ANTHROPIC_API_KEY": []byte("sk-ant-api03-REALvalue"),
		"PLACEHOLDER":       []byte("hunter2hunter2"),
		"SHORT":             []byte("hunter2"),
		"EMPTY":             nil,
	})
	tests := []struct {
		name, in, want string
	}{
		{"known value", "key=sk-ant-api03-REALvalue;", "key=[REDACTED:ANTHROPIC_API_KEY];"},
		{"longest known wins", "x hunter2hunter2 y hunter2", "x [REDACTED:PLACEHOLDER] y [REDACTED:SHORT]"},
		{"overlapping known", "hunter2hunter2hunter2", "[REDACTED:PLACEHOLDER]"},
		{"github classic", "token ghp_0123456789abcdefghijABCDEFGHIJ012345 end", "token [REDACTED] end"},
		{"github oauth", "gho_0123456789abcdefghijABCDEFGHIJ012345", "[REDACTED]"},
		{"github user", "ghu_0123456789abcdefghijABCDEFGHIJ012345", "[REDACTED]"},
		{"github server", "ghs_0123456789abcdefghijABCDEFGHIJ012345", "[REDACTED]"},
		{"github refresh", "ghr_0123456789abcdefghijABCDEFGHIJ012345", "[REDACTED]"},
		{"github fine-grained", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF!", "[REDACTED]!"},
		{"anthropic", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz_-0123", "[REDACTED]"},
		{"openai", "OPENAI_API_KEY=sk-abcdefghijklmnopqrstuvwxyz0123", "OPENAI_API_KEY=[REDACTED]"},
		{"openai project", "sk-proj-abcdefghijklmnopqrstuvwxyz0123", "[REDACTED]"},
		{"aws akia", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "aws_access_key_id = [REDACTED]"},
		{"aws asia", "ASIAIOSFODNN7EXAMPLE.", "[REDACTED]."},
		{"slack bot", "xoxb-1234567890-abcdefghij", "[REDACTED]"},
		{"slack user", "xoxp-1234567890-abcdefghij", "[REDACTED]"},
		{"jwt", "auth eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk done",
			"auth [REDACTED] done"},
		{"bearer", "Authorization: Bearer abc.def-ghi_123", "Authorization: Bearer [REDACTED]"},
		{"bearer lower", "authorization: bearer 0123456789", "authorization: bearer [REDACTED]"},
		{"pem block", "key:\n" + pemBlock + "\nafter", "key:\n[REDACTED]\nafter"},
		{"pem unterminated", "key:\n-----BEGIN PRIVATE KEY-----\nMIIE\nmore", "key:\n[REDACTED]"},
		{"pem ec", "-----BEGIN EC PRIVATE KEY-----\nx\n-----END EC PRIVATE KEY----- tail", "[REDACTED] tail"},
		{"public key kept", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"},
		{"ordinary text", "skip-tests task-ant-farm risk-free desk-proj-x akia ghp_short xoxb-1 bearer x eyJ", "skip-tests task-ant-farm risk-free desk-proj-x akia ghp_short xoxb-1 bearer x eyJ"},
		{"sk inside word", "task-abcdefghijklmnopqrstuvwxyz0123", "task-abcdefghijklmnopqrstuvwxyz0123"},
		{"aws too long", "AKIAIOSFODNN7EXAMPLEXX", "AKIAIOSFODNN7EXAMPLEXX"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q):\ngot  %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactorWriter(t *testing.T) {
	r := NewRedactor(map[string][]byte{"TOKEN": []byte("real-secret-value-42")})
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"split known value", []string{"a real-secret-", "value-42 b\n"}, "a [REDACTED:TOKEN] b\n"},
		{"split byte by byte", strings.Split("x real-secret-value-42\n", ""), "x [REDACTED:TOKEN]\n"},
		{"split shape", []string{"ghp_0123456789abcdef", "ghijABCDEFGHIJ012345\n"}, "[REDACTED]\n"},
		{"several lines in one write", []string{"a\nreal-secret-value-42\nc\n"}, "a\n[REDACTED:TOKEN]\nc\n"},
		{"partial line flushed on close", []string{"tail real-secret-value-42"}, "tail [REDACTED:TOKEN]"},
		{"pem across lines", []string{"k:\n-----BEGIN OPENSSH PRIVATE KEY-----\n", "b3BlbnNzaC1rZXktdjEAAAAA\n", "AAAA\n-----END OPENSSH PRIVATE KEY----- t\nnext\n"},
			"k:\n[REDACTED] t\nnext\n"},
		{"pem unterminated", []string{"-----BEGIN PRIVATE KEY-----\nMIIE\nMIIE\n"}, "[REDACTED]"},
		{"ordinary", []string{"skip-tests\n", "task-ant-farm\n"}, "skip-tests\ntask-ant-farm\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := r.Writer(&buf)
			for _, s := range tt.writes {
				n, err := w.Write([]byte(s))
				if err != nil || n != len(s) {
					t.Fatalf("Write(%q): got (%d, %v), want (%d, nil)", s, n, err, len(s))
				}
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("output:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRedactorWriterNoEarlyFlush(t *testing.T) {
	r := NewRedactor(map[string][]byte{"TOKEN": []byte("real-secret-value-42")})
	var buf bytes.Buffer
	w := r.Writer(&buf)
	w.Write([]byte("no newline yet real-secret-"))
	if buf.Len() != 0 {
		t.Errorf("before newline: got %q written, want nothing", buf.String())
	}
}

func TestRedactorWriterLongLine(t *testing.T) {
	secret := "real-secret-value-42"
	r := NewRedactor(map[string][]byte{"TOKEN": []byte(secret)})
	var buf bytes.Buffer
	w := r.Writer(&buf)
	// A line of several times maxLine, with the value placed across each
	// write boundary and at many offsets.
	chunk := strings.Repeat("x", 4093)
	var in strings.Builder
	for in.Len() < 4*maxLine {
		in.WriteString(chunk)
		in.WriteString(secret)
	}
	data := in.String()
	for i := 0; i < len(data); i += 1000 {
		w.Write([]byte(data[i:min(i+1000, len(data))]))
	}
	if buf.Len() == 0 {
		t.Errorf("after %d bytes without newline: got nothing written, want the head flushed", len(data))
	}
	w.Close()
	got := buf.String()
	if strings.Contains(got, secret) || strings.Contains(got, "real-secret") {
		t.Errorf("output contains the value")
	}
	if want := strings.Count(data, secret); strings.Count(got, "[REDACTED:TOKEN]") != want {
		t.Errorf("got %d labels, want %d", strings.Count(got, "[REDACTED:TOKEN]"), want)
	}
}

type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

func TestRedactorWriterError(t *testing.T) {
	w := NewRedactor(nil).Writer(failWriter{})
	if _, err := w.Write([]byte("a\n")); err == nil || err.Error() != "disk full" {
		t.Errorf("Write: got %v, want disk full", err)
	}
	if _, err := w.Write([]byte("b")); err == nil {
		t.Errorf("second Write: got nil, want the sticky error")
	}
}

func TestRedactorWriterConcurrent(t *testing.T) {
	r := NewRedactor(map[string][]byte{"TOKEN": []byte("real-secret-value-42")})
	var buf bytes.Buffer
	w := r.Writer(&buf)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				w.Write([]byte("line real-secret-value-42\n"))
				_ = r.String("x real-secret-value-42")
			}
		}()
	}
	wg.Wait()
	w.Close()
	if got, want := strings.Count(buf.String(), "line [REDACTED:TOKEN]\n"), 800; got != want {
		t.Errorf("got %d redacted lines, want %d", got, want)
	}
}

func TestFindTokens(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"none", "task-ant-farm and skip-tests", nil},
		{"github", "token=ghp_" + strings.Repeat("a", 36) + " end", []string{"ghp_" + strings.Repeat("a", 36)}},
		{"bearer group", "Authorization: Bearer abcdefgh12345", []string{"abcdefgh12345"}},
		{"two", "AKIAABCDEFGHIJKLMNOP sk-ant-" + strings.Repeat("x", 24), []string{"AKIAABCDEFGHIJKLMNOP", "sk-ant-" + strings.Repeat("x", 24)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, tok := range FindTokens(tt.in) {
				got = append(got, tt.in[tok.Start:tok.End])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("FindTokens(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
