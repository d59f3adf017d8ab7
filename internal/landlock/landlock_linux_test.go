package landlock

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// helperEnv switches the test binary into the helper that restricts itself
// and runs filesystem operations. Its value is the JSON helperSpec.
const helperEnv = "AIRLOCK_LANDLOCK_TEST_HELPER"

type helperSpec struct {
	Restrict bool
	SkipNNP  bool
	MinABI   int
	Rules    Rules
	Ops      []op
}

type op struct {
	Name  string
	Kind  string // read, write, create, truncate, list, mkdir, rename, signal, abstract
	Path  string
	Path2 string
	Pid   int
}

type helperOut struct {
	RestrictErr string
	Result      Result
	Ops         map[string]string
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(helperMain(spec))
	}
	os.Exit(m.Run())
}

// helperMain restricts its thread, reports "ready", waits for a line on
// stdin (the parent changes the tree meanwhile), runs the operations on the
// restricted thread and prints the outcome as JSON.
func helperMain(specJSON string) int {
	var spec helperSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "helper: decode spec:", err)
		return 2
	}
	runtime.LockOSThread()
	out := helperOut{Ops: map[string]string{}}
	if spec.Restrict {
		if !spec.SkipNNP {
			if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
				fmt.Fprintln(os.Stderr, "helper: no_new_privs:", err)
				return 2
			}
		}
		res, err := Restrict(spec.Rules, spec.MinABI)
		out.Result = res
		if err != nil {
			out.RestrictErr = err.Error()
		}
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fmt.Fprintln(os.Stderr, "helper: wait for parent:", err)
		return 2
	}
	if out.RestrictErr == "" {
		for _, o := range spec.Ops {
			out.Ops[o.Name] = outcome(runOp(o))
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		return 2
	}
	return 0
}

func runOp(o op) error {
	switch o.Kind {
	case "read":
		_, err := os.ReadFile(o.Path)
		return err
	case "write":
		f, err := os.OpenFile(o.Path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteString("x")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	case "create":
		f, err := os.OpenFile(o.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		return f.Close()
	case "truncate":
		return os.Truncate(o.Path, 0)
	case "list":
		_, err := os.ReadDir(o.Path)
		return err
	case "mkdir":
		return os.Mkdir(o.Path, 0o755)
	case "rename":
		return os.Rename(o.Path, o.Path2)
	case "signal":
		return unix.Kill(o.Pid, 0)
	case "abstract":
		c, err := net.Dial("unix", "@"+o.Path)
		if err != nil {
			return err
		}
		return c.Close()
	}
	return fmt.Errorf("unknown op kind %q", o.Kind)
}

// outcome renders an operation result as "ok" or the errno name.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// runHelper runs the helper with spec; between runs after the helper has
// restricted itself and before it runs the operations.
func runHelper(t *testing.T, spec helperSpec, between func()) helperOut {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(b))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = cmd.Wait()
		t.Fatalf("helper did not report ready: got %q, %v; stderr: %s", line, err, stderr.String())
	}
	if between != nil {
		between()
	}
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	var out helperOut
	if err := json.NewDecoder(r).Decode(&out); err != nil {
		_ = cmd.Wait()
		t.Fatalf("decode helper output: %v; stderr: %s", err, stderr.String())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v; stderr: %s", err, stderr.String())
	}
	return out
}

func requireLandlock(t *testing.T) int {
	t.Helper()
	abi, err := ABI()
	if err != nil {
		t.Skipf("landlock unavailable: %v", err)
	}
	return abi
}

// tempDir returns a fresh temporary directory with symlinks resolved, so the
// paths in rules and in operations agree.
func tempDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func TestABI(t *testing.T) {
	abi, err := ABI()
	if err != nil {
		t.Fatalf("ABI() error: %v (this test host has landlock enabled)", err)
	}
	if abi < 1 {
		t.Fatalf("ABI() = %d, want >= 1", abi)
	}
}

func TestHandledFS(t *testing.T) {
	tests := []struct {
		abi  int
		want uint64
	}{
		{1, accessFSV1},
		{2, accessFSV1 | unix.LANDLOCK_ACCESS_FS_REFER},
		{3, accessFSV1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE},
		{4, accessFSV1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE},
		{5, accessFSV1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV},
		{7, accessFSV1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV},
		{9, accessFSV1 | unix.LANDLOCK_ACCESS_FS_REFER | unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV | unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("abi%d", tt.abi), func(t *testing.T) {
			if got := handledFS(tt.abi); got != tt.want {
				t.Errorf("handledFS(%d) = %#x, want %#x", tt.abi, got, tt.want)
			}
		})
	}
}

// buildTree creates the scenario tree under base and returns the rules.
func buildTree(t *testing.T, base string) Rules {
	t.Helper()
	ro := filepath.Join(base, "ro")
	rw := filepath.Join(base, "rw")
	writeFile(t, filepath.Join(ro, "a.txt"), "a")
	writeFile(t, filepath.Join(ro, "sub", "b.txt"), "b")
	writeFile(t, filepath.Join(ro, "secret", "key.txt"), "key")
	writeFile(t, filepath.Join(ro, "token.txt"), "token")
	writeFile(t, filepath.Join(ro, "sibling.txt"), "sibling")
	symlink(t, "token.txt", filepath.Join(ro, "link-token"))
	symlink(t, "sibling.txt", filepath.Join(ro, "link-sibling"))
	symlink(t, "future-secret", filepath.Join(ro, "link-future"))
	writeFile(t, filepath.Join(ro, "nested", "deep", "hidden.txt"), "hidden")
	writeFile(t, filepath.Join(ro, "nested", "deep", "other.txt"), "other")
	writeFile(t, filepath.Join(ro, "nested", "x.txt"), "x")
	if err := os.Mkdir(filepath.Join(ro, "later"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(rw, "existing.txt"), "e")
	if err := os.Mkdir(filepath.Join(rw, "dst"), 0o755); err != nil {
		t.Fatal(err)
	}
	return Rules{
		ReadOnly:  []string{ro},
		ReadWrite: []string{rw},
		Deny: []string{
			filepath.Join(ro, "secret"),
			filepath.Join(ro, "token.txt"),
			filepath.Join(ro, "nested", "deep", "hidden.txt"),
			filepath.Join(ro, "later", "new.txt"),
			filepath.Join(ro, "absent", "creds"),
			filepath.Join(ro, "link-future"),
		},
	}
}

// createLate adds files to the tree after the helper has restricted itself,
// as the host would while the sandbox runs.
func createLate(t *testing.T, base string) {
	ro := filepath.Join(base, "ro")
	writeFile(t, filepath.Join(ro, "later", "new.txt"), "new")
	writeFile(t, filepath.Join(ro, "later", "other.txt"), "other")
	writeFile(t, filepath.Join(ro, "absent", "creds"), "creds")
	writeFile(t, filepath.Join(ro, "future-secret"), "future")
	writeFile(t, filepath.Join(ro, "sub", "fresh.txt"), "fresh")
}

func TestRestrictFilesystem(t *testing.T) {
	abi := requireLandlock(t)

	type row struct {
		op         op
		restricted string
	}
	rowsFor := func(base string) []row {
		ro := filepath.Join(base, "ro")
		rw := filepath.Join(base, "rw")
		p := func(parts ...string) string { return filepath.Join(append([]string{base}, parts...)...) }
		truncWant := "EACCES"
		if abi < 3 {
			truncWant = "ok"
		}
		return []row{
			{op{Name: "read ro file", Kind: "read", Path: p("ro", "a.txt")}, "ok"},
			{op{Name: "read ro nested file", Kind: "read", Path: p("ro", "sub", "b.txt")}, "ok"},
			{op{Name: "write ro file", Kind: "write", Path: p("ro", "a.txt")}, "EACCES"},
			{op{Name: "truncate ro file", Kind: "truncate", Path: p("ro", "sibling.txt")}, truncWant},
			{op{Name: "create in ro dir", Kind: "create", Path: p("ro", "sub", "created.txt")}, "EACCES"},
			{op{Name: "list ro root (chain dir)", Kind: "list", Path: ro}, "ok"},
			{op{Name: "list chain dir", Kind: "list", Path: p("ro", "nested")}, "ok"},
			{op{Name: "read denied dir file", Kind: "read", Path: p("ro", "secret", "key.txt")}, "EACCES"},
			// READ_DIR is inherited from the chain: names stay listable
			// (documented limitation; the mount layer hides them).
			{op{Name: "list denied dir", Kind: "list", Path: p("ro", "secret")}, "ok"},
			{op{Name: "read denied file", Kind: "read", Path: p("ro", "token.txt")}, "EACCES"},
			{op{Name: "read symlink to denied file", Kind: "read", Path: p("ro", "link-token")}, "EACCES"},
			{op{Name: "read symlink to sibling", Kind: "read", Path: p("ro", "link-sibling")}, "ok"},
			{op{Name: "read sibling of denied", Kind: "read", Path: p("ro", "sibling.txt")}, "ok"},
			{op{Name: "read deep denied", Kind: "read", Path: p("ro", "nested", "deep", "hidden.txt")}, "EACCES"},
			{op{Name: "read deep sibling", Kind: "read", Path: p("ro", "nested", "deep", "other.txt")}, "ok"},
			{op{Name: "read chain sibling", Kind: "read", Path: p("ro", "nested", "x.txt")}, "ok"},
			{op{Name: "read denied created later", Kind: "read", Path: p("ro", "later", "new.txt")}, "EACCES"},
			{op{Name: "read undenied created later in chain dir", Kind: "read", Path: p("ro", "later", "other.txt")}, "EACCES"},
			{op{Name: "read denied with missing parent created later", Kind: "read", Path: p("ro", "absent", "creds")}, "EACCES"},
			{op{Name: "read dangling denied symlink target created later", Kind: "read", Path: p("ro", "link-future")}, "EACCES"},
			{op{Name: "read denied symlink target directly", Kind: "read", Path: p("ro", "future-secret")}, "EACCES"},
			{op{Name: "read created later in granted dir", Kind: "read", Path: p("ro", "sub", "fresh.txt")}, "ok"},
			{op{Name: "read outside all rules", Kind: "read", Path: "/etc/passwd"}, "EACCES"},
			{op{Name: "write rw file", Kind: "write", Path: filepath.Join(rw, "existing.txt")}, "ok"},
			{op{Name: "create in rw dir", Kind: "create", Path: filepath.Join(rw, "new.txt")}, "ok"},
			{op{Name: "mkdir in rw dir", Kind: "mkdir", Path: filepath.Join(rw, "newdir")}, "ok"},
			{op{Name: "rename across rw dirs", Kind: "rename", Path: filepath.Join(rw, "new.txt"), Path2: filepath.Join(rw, "dst", "new.txt")}, "ok"},
			{op{Name: "truncate rw file", Kind: "truncate", Path: filepath.Join(rw, "existing.txt")}, "ok"},
		}
	}

	for _, restricted := range []bool{true, false} {
		name := "restricted"
		if !restricted {
			name = "control"
		}
		t.Run(name, func(t *testing.T) {
			base := tempDir(t)
			rules := buildTree(t, base)
			rows := rowsFor(base)
			spec := helperSpec{Restrict: restricted, MinABI: 1, Rules: rules}
			for _, r := range rows {
				spec.Ops = append(spec.Ops, r.op)
			}
			out := runHelper(t, spec, func() { createLate(t, base) })
			if out.RestrictErr != "" {
				t.Fatalf("Restrict error: %s", out.RestrictErr)
			}
			if restricted {
				if out.Result.ABI != abi {
					t.Errorf("Result.ABI = %d, want %d", out.Result.ABI, abi)
				}
				if out.Result.HandledFS != handledFS(abi) {
					t.Errorf("Result.HandledFS = %#x, want %#x", out.Result.HandledFS, handledFS(abi))
				}
				if out.Result.Rules == 0 {
					t.Errorf("Result.Rules = 0, want > 0")
				}
			}
			for _, r := range rows {
				want := r.restricted
				if !restricted {
					want = "ok"
				}
				if got := out.Ops[r.op.Name]; got != want {
					t.Errorf("%s (%s %s): got %s, want %s", r.op.Name, r.op.Kind, r.op.Path, got, want)
				}
			}
		})
	}
}

func TestRestrictScopes(t *testing.T) {
	abi := requireLandlock(t)
	if abi < scopeABI {
		t.Skipf("landlock abi %d has no scopes (need %d)", abi, scopeABI)
	}
	name := fmt.Sprintf("airlock-landlock-test-%d", os.Getpid())
	ln, err := net.Listen("unix", "@"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	ops := []op{
		{Name: "signal outside domain", Kind: "signal", Pid: os.Getpid()},
		{Name: "abstract connect outside domain", Kind: "abstract", Path: name},
	}
	tests := []struct {
		name       string
		scoped     bool
		wantScoped uint64
		want       string
	}{
		{"scoped", true, unix.LANDLOCK_SCOPE_SIGNAL | unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, "EPERM"},
		{"control", false, 0, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := helperSpec{
				Restrict: true,
				MinABI:   scopeABI,
				Rules:    Rules{ReadOnly: []string{"/"}, ScopeSignals: tt.scoped, ScopeAbstractUnix: tt.scoped},
				Ops:      ops,
			}
			out := runHelper(t, spec, nil)
			if out.RestrictErr != "" {
				t.Fatalf("Restrict error: %s", out.RestrictErr)
			}
			if out.Result.Scoped != tt.wantScoped {
				t.Errorf("Result.Scoped = %#x, want %#x", out.Result.Scoped, tt.wantScoped)
			}
			for _, o := range ops {
				if got := out.Ops[o.Name]; got != tt.want {
					t.Errorf("%s: got %s, want %s", o.Name, got, tt.want)
				}
			}
		})
	}
}

func TestRestrictErrors(t *testing.T) {
	requireLandlock(t)
	base := tempDir(t)
	rw := filepath.Join(base, "rw")
	ro := filepath.Join(base, "ro")
	writeFile(t, filepath.Join(rw, "secret.txt"), "s")
	writeFile(t, filepath.Join(ro, "a.txt"), "a")
	secret := filepath.Join(rw, "secret.txt")

	tests := []struct {
		name        string
		spec        helperSpec
		wantErr     string // substring; "" means success
		wantSkipped []string
		wantOps     map[string]string
	}{
		{
			name:    "abi too low",
			spec:    helperSpec{Restrict: true, MinABI: 1 << 20, Rules: Rules{ReadOnly: []string{ro}}},
			wantErr: "lower than the required",
		},
		{
			name:    "no_new_privs unset",
			spec:    helperSpec{Restrict: true, SkipNNP: true, MinABI: 1, Rules: Rules{ReadOnly: []string{ro}}},
			wantErr: "no_new_privs is not set",
		},
		{
			name:    "deny under writable",
			spec:    helperSpec{Restrict: true, MinABI: 1, Rules: Rules{ReadWrite: []string{rw}, Deny: []string{secret}}},
			wantErr: "lies inside read-write path",
		},
		{
			name:    "relative path",
			spec:    helperSpec{Restrict: true, MinABI: 1, Rules: Rules{ReadOnly: []string{"relative/dir"}}},
			wantErr: "is not absolute",
		},
		{
			name:    "path under a file is an error, not skipped",
			spec:    helperSpec{Restrict: true, MinABI: 1, Rules: Rules{ReadOnly: []string{filepath.Join(ro, "a.txt", "x")}}},
			wantErr: "not a directory",
		},
		{
			name: "deny under writable skipped when asked",
			spec: helperSpec{Restrict: true, MinABI: 1,
				Rules: Rules{ReadWrite: []string{rw}, Deny: []string{secret}, SkipDenyUnderWritable: true},
				Ops:   []op{{Name: "read skipped deny", Kind: "read", Path: secret}, {Name: "create in rw", Kind: "create", Path: filepath.Join(rw, "n.txt")}},
			},
			wantSkipped: []string{secret},
			wantOps:     map[string]string{"read skipped deny": "ok", "create in rw": "ok"},
		},
		{
			name: "missing paths are skipped",
			spec: helperSpec{Restrict: true, MinABI: 1,
				Rules: Rules{ReadOnly: []string{ro, filepath.Join(base, "nope")}, ReadWrite: []string{filepath.Join(base, "nope2")}},
				Ops:   []op{{Name: "read ro", Kind: "read", Path: filepath.Join(ro, "a.txt")}, {Name: "read rw", Kind: "read", Path: secret}},
			},
			wantOps: map[string]string{"read ro": "ok", "read rw": "EACCES"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runHelper(t, tt.spec, nil)
			if tt.wantErr != "" {
				if !strings.Contains(out.RestrictErr, tt.wantErr) {
					t.Fatalf("Restrict error = %q, want it to contain %q", out.RestrictErr, tt.wantErr)
				}
				return
			}
			if out.RestrictErr != "" {
				t.Fatalf("Restrict error = %q, want none", out.RestrictErr)
			}
			if !reflect.DeepEqual(out.Result.Skipped, tt.wantSkipped) {
				t.Errorf("Result.Skipped = %q, want %q", out.Result.Skipped, tt.wantSkipped)
			}
			for name, want := range tt.wantOps {
				if got := out.Ops[name]; got != want {
					t.Errorf("%s: got %s, want %s", name, got, want)
				}
			}
		})
	}
}

func TestMakePlan(t *testing.T) {
	base := tempDir(t)
	ro := filepath.Join(base, "ro")
	writeFile(t, filepath.Join(ro, "nested", "deep", "hidden.txt"), "h")
	writeFile(t, filepath.Join(ro, "a.txt"), "a")
	symlink(t, "nested", filepath.Join(ro, "linkdir"))
	symlink(t, "../future", filepath.Join(ro, "dangling"))
	j := func(parts ...string) string { return filepath.Join(append([]string{base}, parts...)...) }

	tests := []struct {
		name       string
		rules      Rules
		wantRO     []string
		wantChain  []string
		wantDenied []string
	}{
		{
			name:       "deep deny",
			rules:      Rules{ReadOnly: []string{ro}, Deny: []string{j("ro", "nested", "deep", "hidden.txt")}},
			wantChain:  []string{ro, j("ro", "nested"), j("ro", "nested", "deep")},
			wantDenied: []string{j("ro", "nested", "deep", "hidden.txt")},
		},
		{
			name:       "missing parent is the deny point",
			rules:      Rules{ReadOnly: []string{ro}, Deny: []string{j("ro", "absent", "creds")}},
			wantChain:  []string{ro},
			wantDenied: []string{j("ro", "absent")},
		},
		{
			name:       "deny through a symlinked directory covers both forms",
			rules:      Rules{ReadOnly: []string{ro}, Deny: []string{j("ro", "linkdir", "deep")}},
			wantChain:  []string{ro, j("ro", "nested")},
			wantDenied: []string{j("ro", "linkdir"), j("ro", "nested", "deep")},
		},
		{
			name:       "dangling symlink also denies its future target",
			rules:      Rules{ReadOnly: []string{base}, Deny: []string{j("ro", "dangling")}},
			wantChain:  []string{base, ro},
			wantDenied: []string{j("future"), j("ro", "dangling")},
		},
		{
			name:       "deny equal to root",
			rules:      Rules{ReadOnly: []string{ro}, Deny: []string{ro}},
			wantDenied: []string{ro},
		},
		{
			name:       "deny outside read-only roots",
			rules:      Rules{ReadOnly: []string{j("ro", "nested")}, Deny: []string{j("ro", "a.txt")}},
			wantRO:     []string{j("ro", "nested")},
			wantDenied: []string{j("ro", "a.txt")},
		},
		{
			name:       "deny inside a denied directory adds no chain",
			rules:      Rules{ReadOnly: []string{ro}, Deny: []string{j("ro", "nested"), j("ro", "nested", "deep", "hidden.txt")}},
			wantChain:  []string{ro},
			wantDenied: []string{j("ro", "nested"), j("ro", "nested", "deep", "hidden.txt")},
		},
		{
			name: "explicit read-only root inside a denied directory is punched on its own",
			rules: Rules{ReadOnly: []string{ro, j("ro", "nested", "deep")},
				Deny: []string{j("ro", "nested"), j("ro", "nested", "deep", "hidden.txt")}},
			wantChain:  []string{ro, j("ro", "nested", "deep")},
			wantDenied: []string{j("ro", "nested"), j("ro", "nested", "deep", "hidden.txt")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := makePlan(tt.rules)
			if err != nil {
				t.Fatalf("makePlan: %v", err)
			}
			var denied []string
			for d := range p.denied {
				denied = append(denied, d)
			}
			sort.Strings(denied)
			if !reflect.DeepEqual(p.ro, tt.wantRO) {
				t.Errorf("read-only rules = %q, want %q", p.ro, tt.wantRO)
			}
			if !reflect.DeepEqual(p.chain, tt.wantChain) {
				t.Errorf("chain = %q, want %q", p.chain, tt.wantChain)
			}
			if !reflect.DeepEqual(denied, tt.wantDenied) {
				t.Errorf("denied = %q, want %q", denied, tt.wantDenied)
			}
		})
	}
}

func TestOpenNoSymlinks(t *testing.T) {
	base := tempDir(t)
	writeFile(t, filepath.Join(base, "dir", "f"), "f")
	symlink(t, "dir", filepath.Join(base, "link"))
	tests := []struct {
		name     string
		path     string
		wantMode uint32
		wantErr  bool
	}{
		{"directory", filepath.Join(base, "dir"), unix.S_IFDIR, false},
		{"file", filepath.Join(base, "dir", "f"), unix.S_IFREG, false},
		{"final symlink is not followed", filepath.Join(base, "link"), unix.S_IFLNK, false},
		{"symlink component fails", filepath.Join(base, "link", "f"), 0, true},
		{"missing", filepath.Join(base, "nope"), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fd, mode, err := openNoSymlinks(tt.path)
			if tt.wantErr {
				if err == nil {
					unix.Close(fd)
					t.Fatalf("openNoSymlinks(%q): got no error, want one", tt.path)
				}
				return
			}
			if err != nil {
				t.Fatalf("openNoSymlinks(%q): %v", tt.path, err)
			}
			unix.Close(fd)
			if mode != tt.wantMode {
				t.Errorf("mode = %#o, want %#o", mode, tt.wantMode)
			}
		})
	}
}

func FuzzWithin(f *testing.F) {
	f.Add("/a/b", "/a")
	f.Add("/ab", "/a")
	f.Add("/", "/")
	f.Fuzz(func(t *testing.T, p, root string) {
		if !filepath.IsAbs(p) || !filepath.IsAbs(root) {
			return
		}
		p, root = filepath.Clean(p), filepath.Clean(root)
		rel, err := filepath.Rel(root, p)
		want := err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
		if got := within(p, root); got != want {
			t.Errorf("within(%q, %q) = %v, want %v", p, root, got, want)
		}
	})
}
