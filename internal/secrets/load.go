package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// MaxValueSize is the largest real value Load accepts, from any source.
const MaxValueSize = 64 << 10

// maxStderr bounds how much of a failed command's stderr goes into an error.
const maxStderr = 1 << 10

// CmdTimeout bounds how long a "cmd:" source may run when the caller's
// context has no earlier deadline. A variable so tests can shorten it.
var CmdTimeout = 30 * time.Second

// ErrEmpty is returned (wrapped) when a source yields an empty value.
var ErrEmpty = errors.New("empty value")

// Load reads the real value from its source on the host.
//
//   - env: the variable from environ (the last entry wins, as in os/exec),
//     not from this process's environment;
//   - file: the whole file, minus one trailing "\n" or "\r\n"; files over
//     MaxValueSize are refused;
//   - cmd: the stdout of /bin/sh -c COMMAND, with surrounding white space
//     trimmed; the command is killed (with its process group) when ctx is
//     done or CmdTimeout passes; on failure the error carries its exit
//     status and its stderr, redacted.
//
// An empty value is an error wrapping ErrEmpty. Errors never contain the
// value.
func (s Secret) Load(ctx context.Context, environ []string) ([]byte, error) {
	var (
		v   []byte
		err error
	)
	switch s.Source.Kind {
	case KindEnv:
		v, err = loadEnv(s.Source.Ref, environ)
	case KindFile:
		v, err = loadFile(s.Source.Ref)
	case KindCmd:
		v, err = loadCmd(ctx, s.Name, s.Source.Ref)
	default:
		err = fmt.Errorf("unknown source kind %q", s.Source.Kind)
	}
	if err == nil && len(v) == 0 {
		err = ErrEmpty
	}
	if err != nil {
		return nil, fmt.Errorf("load secret %s from %s: %w", s.Name, s.sourceLabel(), err)
	}
	return v, nil
}

// sourceLabel names the source for errors. Commands are not quoted in full:
// a careless user may have written a value into the command line.
func (s Secret) sourceLabel() string {
	if s.Source.Kind == KindCmd {
		return "command"
	}
	return s.Source.String()
}

func loadEnv(name string, environ []string) ([]byte, error) {
	var (
		val   string
		found bool
	)
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			val, found = v, true
		}
	}
	if !found {
		return nil, errors.New("variable is not set")
	}
	return []byte(val), nil
}

func loadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read one byte past the limit instead of trusting the size from stat:
	// the path may be a pipe or a file that grows.
	b, err := io.ReadAll(io.LimitReader(f, MaxValueSize+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(b) > MaxValueSize {
		return nil, fmt.Errorf("file is larger than %d bytes", MaxValueSize)
	}
	if b2, ok := bytes.CutSuffix(b, []byte("\n")); ok {
		b, _ = bytes.CutSuffix(b2, []byte("\r"))
	}
	return b, nil
}

// limitedBuffer keeps the first max bytes written and counts the rest.
type limitedBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room < len(p) {
		l.overflow = true
		if room > 0 {
			l.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return l.buf.Write(p)
}
