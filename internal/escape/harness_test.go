package escape

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// airlockBin is the binary under test, built once by TestMain.
var airlockBin string

// baseDir holds the fixtures. It is outside /tmp on purpose: the sandbox
// replaces /tmp with a private tmpfs, so homes and workspaces under the
// host's /tmp would be invisible (or trivially safe) inside.
const baseDir = "/var/tmp"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp(baseDir, "airlock-escape-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// World-readable so the uid 65534 cases can execute it.
	_ = os.Chmod(dir, 0o755)
	airlockBin = filepath.Join(dir, "airlock")
	build := exec.Command("go", "build", "-o", airlockBin, "../../cmd/airlock")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build airlock: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireRoot skips a test that needs root (CI runs as root, so it runs there).
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: run the suite as root (CI does)")
	}
}

// fixture is a fake home with secrets and a git workspace inside it, laid
// out like a developer's machine.
type fixture struct {
	Home string // $HOME, with .ssh/id_rsa, .aws/credentials, .netrc ...
	Work string // $HOME/project, a git repository with .git/hooks and .git/config
}

// Secret contents written into the fixture; tests grep for them.
const (
	secretSSH = "SSH-PRIVATE-KEY-CANARY"
	secretAWS = "AWS-SECRET-CANARY"
	secretEnv = "DOTENV-SECRET-CANARY"
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	home, err := os.MkdirTemp(baseDir, "airlock-escape-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	f := &fixture{Home: home, Work: filepath.Join(home, "project")}
	files := map[string]string{
		".ssh/id_rsa":               secretSSH,
		".aws/credentials":          "[default]\naws_secret_access_key=" + secretAWS + "\n",
		".netrc":                    "machine example.com password NETRC-CANARY\n",
		"project/.env":              "TOKEN=" + secretEnv + "\n",
		"project/README.md":         "hello\n",
		"project/.git/config":       "[core]\n\tbare = false\n",
		"project/.git/HEAD":         "ref: refs/heads/main\n",
		"project/.git/hooks/sample": "#!/bin/sh\n",
	}
	for name, content := range files {
		p := filepath.Join(home, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// result is how a command ended.
type result struct {
	Code   int
	Stdout string
	Stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %q\nstderr: %q", r.Code, r.Stdout, r.Stderr)
}

// runTimeout bounds every command of the suite.
const runTimeout = 60 * time.Second

func runCmd(t *testing.T, dir string, env []string, argv ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v: timed out after %v", argv, runTimeout)
	}
	return exitResult(t, argv, err, out.String(), errb.String())
}

// exitResult turns the error of cmd.Wait into the command's status
// (128+N when killed by signal N).
func exitResult(t *testing.T, argv []string, err error, stdout, stderr string) result {
	t.Helper()
	r := result{Stdout: stdout, Stderr: stderr}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.Code = 128 + int(ws.Signal())
		}
	default:
		t.Fatalf("%v: %v", argv, err)
	}
	return r
}

func (f *fixture) env(extra ...string) []string {
	return append([]string{
		"HOME=" + f.Home,
		"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
		"LANG=C.UTF-8",
	}, extra...)
}

// sandbox runs script with /bin/sh -c inside `airlock run [flags]`, in the
// fixture's workspace.
func (f *fixture) sandbox(t *testing.T, flags []string, script string, env ...string) result {
	t.Helper()
	argv := append([]string{airlockBin, "run"}, flags...)
	argv = append(argv, "--", "/bin/sh", "-c", script)
	return runCmd(t, f.Work, f.env(env...), argv...)
}

// outside runs the same script directly on the host: the control.
func (f *fixture) outside(t *testing.T, script string, env ...string) result {
	t.Helper()
	return runCmd(t, f.Work, f.env(env...), "/bin/sh", "-c", script)
}

// treeHash hashes every path, mode and content below dir (symlinks by
// target), so a test can show the host was not changed.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", strings.TrimPrefix(p, dir), fi.Mode())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			line += " " + hex.EncodeToString(sum[:])
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatalf("hash %s: %v", dir, err)
	}
	sort.Strings(lines)
	for _, l := range lines {
		h.Write([]byte(l + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// mustContain fails unless s contains want.
func mustContain(t *testing.T, what, s, want string) {
	t.Helper()
	if !strings.Contains(s, want) {
		t.Errorf("%s: got %q, want it to contain %q", what, s, want)
	}
}

// mustNotContain fails if s contains bad.
func mustNotContain(t *testing.T, what, s, bad string) {
	t.Helper()
	if strings.Contains(s, bad) {
		t.Errorf("%s: got %q, must not contain %q", what, s, bad)
	}
}

// pyErrno runs a python3 snippet that performs one syscall through ctypes
// and prints "errno=NAME" or "ok". It is used for syscalls no shell tool
// exposes. The snippet gets helper functions: sc(nr, *args) returning
// (ret, errno) and report(ret, errno).
const pyPrelude = `
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sc(nr, *args):
    ret = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return ret, ctypes.get_errno()
def report(ret, e):
    print("ok" if ret >= 0 else "errno=" + errno.errorcode.get(e, str(e)))
`

func pyScript(body string) string {
	return "exec /usr/bin/python3 -c '" + strings.ReplaceAll(pyPrelude+body, "'", `'"'"'`) + "'"
}
