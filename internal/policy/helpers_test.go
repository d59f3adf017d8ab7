package policy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// inTempDir makes a fresh temporary directory the working directory, so that
// files can be named by short relative paths that appear verbatim in errors.
func inTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// wantError checks that err is an *Error with exactly the message want.
func wantError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("got error %q of type %T, want *policy.Error", err, err)
	}
	if got := err.Error(); got != want {
		t.Errorf("got error\n\t%s\nwant\n\t%s", got, want)
	}
}
