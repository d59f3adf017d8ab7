package secrets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	environ := []string{"A=first", "TOKEN=old", "TOKEN=sk-ant-api03-value", "EMPTY=", "NOEQ"}
	tests := []struct {
		name string
		src  Source
		want string
	}{
		{"env last wins", Source{KindEnv, "TOKEN"}, "sk-ant-api03-value"},
		{"env value with equals", Source{KindEnv, "A"}, "first"},
		{"file trailing newline", Source{KindFile, writeFile(t, "ghp_abc\n")}, "ghp_abc"},
		{"file one newline only", Source{KindFile, writeFile(t, "ghp_abc\n\n")}, "ghp_abc\n"},
		{"file crlf", Source{KindFile, writeFile(t, "ghp_abc\r\n")}, "ghp_abc"},
		{"file no newline", Source{KindFile, writeFile(t, " x y ")}, " x y "},
		{"file at limit", Source{KindFile, writeFile(t, strings.Repeat("a", MaxValueSize))}, strings.Repeat("a", MaxValueSize)},
		{"cmd trimmed", Source{KindCmd, "printf '  xoxb-1-2-abc\\n\\n'"}, "xoxb-1-2-abc"},
		{"cmd stderr ignored", Source{KindCmd, "echo noise >&2; echo value"}, "value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Secret{Name: "S", Source: tt.src}
			got, err := s.Load(context.Background(), environ)
			if err != nil {
				t.Fatalf("Load: got error %v, want nil", err)
			}
			if string(got) != tt.want {
				t.Errorf("Load: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	old := CmdTimeout
	CmdTimeout = 300 * time.Millisecond
	t.Cleanup(func() { CmdTimeout = old })
	missing := filepath.Join(t.TempDir(), "missing")
	big := writeFile(t, strings.Repeat("a", MaxValueSize+1))
	nl := writeFile(t, "\n")
	tests := []struct {
		name   string
		src    Source
		want   string   // exact error, or prefix when wantIn is set
		wantIn []string // substrings that must appear
		notIn  []string // substrings that must not appear
		isErr  error
	}{
		{name: "env missing", src: Source{KindEnv, "NOPE"}, want: "load secret S from env:NOPE: variable is not set"},
		{name: "env empty", src: Source{KindEnv, "EMPTY"}, want: "load secret S from env:EMPTY: empty value", isErr: ErrEmpty},
		{name: "file missing", src: Source{KindFile, missing}, want: "load secret S from file:" + missing + ": open " + missing + ": no such file or directory", isErr: os.ErrNotExist},
		{name: "file too large", src: Source{KindFile, big}, want: "load secret S from file:" + big + ": file is larger than 65536 bytes"},
		{name: "file only newline", src: Source{KindFile, nl}, want: "load secret S from file:" + nl + ": empty value", isErr: ErrEmpty},
		{name: "cmd empty output", src: Source{KindCmd, "true"}, want: "load secret S from command: empty value", isErr: ErrEmpty},
		{name: "cmd failure redacted", src: Source{KindCmd, "echo sk-ant-api03-PARTIALVALUE; echo 'bad token sk-ant-api03-PARTIALVALUE and ghp_0123456789abcdefghijklmnopqrstuvwxyz' >&2; exit 3"},
			want:   "load secret S from command: command failed: exit status 3",
			wantIn: []string{`stderr: "bad token [REDACTED:S] and [REDACTED]"`},
			notIn:  []string{"PARTIALVALUE", "ghp_0123"}},
		{name: "cmd timeout", src: Source{KindCmd, "echo leaked-XYZZY >&2; sleep 10 & sleep 10"},
			want:   "load secret S from command: command timed out: context deadline exceeded",
			wantIn: []string{"leaked-XYZZY"}, isErr: context.DeadlineExceeded},
		{name: "cmd big output", src: Source{KindCmd, "head -c 70000 /dev/zero | tr '\\0' a"}, want: "load secret S from command: command printed more than 65536 bytes"},
		{name: "unknown kind", src: Source{"vault", "x"}, want: `load secret S from vault:x: unknown source kind "vault"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Secret{Name: "S", Source: tt.src}
			start := time.Now()
			got, err := s.Load(context.Background(), []string{"EMPTY="})
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("Load took %v, want well under the 10 s the command sleeps", elapsed)
			}
			if err == nil {
				t.Fatalf("Load: got %q, nil error; want error %q", got, tt.want)
			}
			msg := err.Error()
			if tt.wantIn != nil {
				if !strings.HasPrefix(msg, tt.want) {
					t.Errorf("Load: got %q, want prefix %q", msg, tt.want)
				}
			} else if msg != tt.want {
				t.Errorf("Load:\ngot  %s\nwant %s", msg, tt.want)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(msg, w) {
					t.Errorf("Load: got %q, want it to contain %q", msg, w)
				}
			}
			for _, w := range tt.notIn {
				if strings.Contains(msg, w) {
					t.Errorf("Load: got %q, want it not to contain %q", msg, w)
				}
			}
			if tt.isErr != nil && !errors.Is(err, tt.isErr) {
				t.Errorf("errors.Is(%v, %v): got false, want true", err, tt.isErr)
			}
		})
	}
}

func TestLoadCmdCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	s := Secret{Name: "S", Source: Source{KindCmd, "sleep 10"}}
	start := time.Now()
	_, err := s.Load(ctx, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Load: got %v, want context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Load took %v, want it to stop on cancel", elapsed)
	}
}
