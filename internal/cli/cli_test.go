package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airlock-sandbox/airlock/internal/doctor"
)

// The CLI is tested through the real binary, one row per user-visible
// behaviour: exit status and the exact stderr lines.

// airlockBin is the binary under test, built once by TestMain with a
// version stamped in, as a release build does.
var airlockBin string

const (
	testVersion = "0.0.0-clitest"
	// fixtureBase holds the binary and the workspaces. It is outside /tmp
	// because the sandbox replaces /tmp with a private tmpfs.
	fixtureBase = "/var/tmp"
	runTimeout  = 60 * time.Second
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp(fixtureBase, "airlock-cli-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	airlockBin = filepath.Join(dir, "airlock")
	build := exec.Command("go", "build",
		"-ldflags", "-X github.com/airlock-sandbox/airlock/internal/cli.Version="+testVersion,
		"-o", airlockBin, "../../cmd/airlock")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build airlock: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireRoot skips a case that starts a sandbox when not root (CI is root).
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: starts a sandbox (CI runs as root)")
	}
}

// workspace is a fresh home directory with a workspace inside it.
type workspace struct{ Home, Dir string }

func newWorkspace(t *testing.T) workspace {
	t.Helper()
	d, err := os.MkdirTemp(fixtureBase, "airlock-cli-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	home, err := filepath.EvalSymlinks(d)
	if err != nil {
		t.Fatal(err)
	}
	w := workspace{Home: home, Dir: filepath.Join(home, "project")}
	if err := os.Mkdir(w.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return w
}

type result struct {
	code           int
	stdout, stderr string
}

// airlock runs the binary in the workspace with a minimal environment.
func (w workspace) airlock(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, airlockBin, args...)
	cmd.Dir = w.Dir
	cmd.Env = []string{"HOME=" + w.Home, "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG=C.UTF-8"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("airlock %q: timed out after %v", args, runTimeout)
	}
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("airlock %q itself was killed by %v\nstderr:\n%s", args, ws.Signal(), r.stderr)
		}
	default:
		t.Fatalf("airlock %q: %v", args, err)
	}
	return r
}

func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func TestCLI(t *testing.T) {
	const degradedLandlock = `airlock: warning: layer "landlock" may be missing: it is not required on this run (--allow-degraded landlock)`
	cases := []struct {
		name string
		args []string
		// root marks cases that start a sandbox.
		root bool
		// files are written into the workspace first.
		files map[string]string

		wantCode int
		// stderrLines must each appear as a whole line of stderr, stderrRE
		// are regular expressions for whole lines; quiet means stderr must
		// be empty. "$WS" stands for the workspace and "$HOME" for home.
		stderrLines []string
		stderrRE    []string
		quiet       bool
		// wantStdout is the exact output when set; stdoutLines must each
		// appear as a whole line (after trimming spaces), stdoutNot must not.
		wantStdout  *string
		stdoutLines []string
		stdoutNot   []string
	}{
		{
			name:        "no arguments prints the usage",
			wantCode:    2,
			stderrLines: lines(usage),
		},
		{
			name:        "help prints the usage on stdout",
			args:        []string{"help"},
			wantStdout:  ptr(usage),
			quiet:       true,
			stdoutLines: []string{"Usage:"},
		},
		{
			name:     "unknown command",
			args:     []string{"x"},
			wantCode: 2,
			stderrLines: []string{
				`airlock: error: unknown command "x"`,
				"airlock: hint: run `airlock help` for the list of commands",
			},
		},
		{
			name:       "version",
			args:       []string{"version"},
			wantStdout: ptr("airlock " + testVersion + "\n"),
			quiet:      true,
		},
		{
			name:       "--version",
			args:       []string{"--version"},
			wantStdout: ptr("airlock " + testVersion + "\n"),
			quiet:      true,
		},
		{
			name:     "run without a command",
			args:     []string{"run"},
			wantCode: 125,
			stderrLines: []string{
				"airlock: error: no command given",
				"airlock: hint: airlock run [flags] -- CMD [ARGS...]",
			},
		},
		{
			name:     "run with flags but no command",
			args:     []string{"run", "--memory", "1G", "--"},
			wantCode: 125,
			stderrLines: []string{
				"airlock: error: no command given",
			},
		},
		{
			name:     "bad --memory value",
			args:     []string{"run", "--memory", "lots", "--", "true"},
			wantCode: 125,
			stderrRE: []string{`airlock: error: --memory: invalid size "lots": .+`},
		},
		{
			name:     "bad --timeout value",
			args:     []string{"run", "--timeout", "soon", "--", "true"},
			wantCode: 125,
			stderrRE: []string{`airlock: error: --timeout: .*"soon".*`},
		},
		{
			name:     "unknown --allow-degraded layer",
			args:     []string{"run", "--allow-degraded", "bogus", "--", "true"},
			wantCode: 125,
			stderrLines: []string{
				`airlock: error: --allow-degraded: unknown layer "bogus" (valid: userns, seccomp, landlock, cgroup)`,
			},
		},
		{
			name:     "bad --tty value",
			args:     []string{"run", "--tty", "bogus", "--", "true"},
			wantCode: 125,
			stderrLines: []string{
				`airlock: error: --tty: want auto, always or never, got "bogus"`,
			},
		},
		{
			name:     "policy file with an unknown key points at it",
			args:     []string{"run", "--policy", "p.yaml", "--", "true"},
			files:    map[string]string{"p.yaml": "version: 1\nfilesystem:\n  deny_reed: [x]\n"},
			wantCode: 125,
			stderrLines: []string{
				`airlock: error: p.yaml:3:3: filesystem.deny_reed: unknown key (did you mean "deny_read"?)`,
				"airlock: hint: see docs/POLICY.md for the policy format",
			},
		},
		{
			name:     "policy show reports the same policy error",
			args:     []string{"policy", "show", "--policy", "p.yaml"},
			files:    map[string]string{"p.yaml": "version: 1\nfilesystem:\n  deny_reed: [x]\n"},
			wantCode: 125,
			stderrRE: []string{`airlock: error: p\.yaml:3:3: filesystem\.deny_reed: unknown key.*`},
		},
		{
			name:     "missing policy file",
			args:     []string{"run", "--policy", "nope.yaml", "--", "true"},
			wantCode: 125,
			stderrRE: []string{`airlock: error: .*nope\.yaml.*`},
		},
		{
			name:     "missing workspace",
			args:     []string{"run", "--workspace", "$HOME/nope", "--", "true"},
			wantCode: 125,
			stderrLines: []string{
				"airlock: error: workspace $HOME/nope: no such file or directory",
				"airlock: hint: pass an existing directory with --workspace DIR",
			},
		},
		{
			name:     "deny-read containing the workspace",
			args:     []string{"run", "--deny-read", "$HOME", "--", "true"},
			wantCode: 125,
			stderrLines: []string{
				`airlock: error: filesystem.workspace: the workspace "$WS" is hidden by filesystem.deny_read entry "$HOME"; add it to filesystem.allow_read to expose it`,
			},
		},
		{
			name:     "allow-write of a missing path",
			args:     []string{"run", "--allow-write", "$HOME/cache", "--", "true"},
			wantCode: 125,
			stderrLines: []string{
				"airlock: error: allow_write $HOME/cache: no such file or directory",
				"airlock: hint: create it first; airlock never creates host paths",
			},
		},
		{
			name:     "undefined flag",
			args:     []string{"run", "--bogus", "--", "true"},
			wantCode: 125,
			stderrRE: []string{`.*flag provided but not defined: -bogus`},
		},
		{
			name:        "run -h prints the run usage",
			args:        []string{"run", "-h"},
			stderrLines: []string{"Usage: airlock run [flags] -- CMD [ARGS...]"},
			stderrRE:    []string{`\s+-allow-degraded LAYER`},
		},
		{
			name:     "policy without a subcommand",
			args:     []string{"policy"},
			wantCode: 2,
			stderrLines: []string{
				"airlock: error: usage: airlock policy show [flags]",
			},
		},
		{
			name:        "policy show prints the agent profile",
			args:        []string{"policy", "show"},
			quiet:       true,
			stdoutLines: []string{"profile: agent", "deny_read:", "- ~/.ssh", "- .env", "- /etc/shadow"},
			stdoutNot:   []string{"- /x"},
		},
		{
			name:        "policy show reflects --deny-read",
			args:        []string{"policy", "show", "--deny-read", "/x"},
			quiet:       true,
			stdoutLines: []string{"deny_read:", "- ~/.ssh", "- /x"},
		},
		{
			name:        "policy show --profile none has no deny list",
			args:        []string{"policy", "show", "--profile", "none"},
			quiet:       true,
			stdoutLines: []string{"profile: none"},
			stdoutNot:   []string{"deny_read:", "- ~/.ssh"},
		},
		{
			name:     "policy show with an unknown profile",
			args:     []string{"policy", "show", "--profile", "agnet"},
			wantCode: 125,
			stderrRE: []string{`airlock: error: .*unknown profile "agnet".*`},
		},
		{
			name:     "run a missing command",
			args:     []string{"run", "--", "/nonexistent"},
			root:     true,
			wantCode: 127,
			stderrRE: []string{`airlock: error: .*/nonexistent: no such file or directory`},
		},
		{
			name:     "run a command that cannot be executed",
			args:     []string{"run", "--", "./data.txt"},
			files:    map[string]string{"data.txt": "not a program\n"},
			root:     true,
			wantCode: 126,
			stderrRE: []string{`airlock: error: .*data\.txt: .+`},
		},
		{
			name:  "run true",
			args:  []string{"run", "--", "true"},
			root:  true,
			quiet: true,
		},
		{
			name:     "run passes the exit status through",
			args:     []string{"run", "--", "sh", "-c", "exit 42"},
			root:     true,
			wantCode: 42,
			quiet:    true,
		},
		{
			name:     "run reports death by signal as 128+N",
			args:     []string{"run", "--", "sh", "-c", "kill -TERM $$"},
			root:     true,
			wantCode: 128 + int(syscall.SIGTERM),
			quiet:    true,
		},
		{
			name:        "run starts in the workspace and marks the environment",
			args:        []string{"run", "--", "sh", "-c", `pwd; echo "sandbox=$AIRLOCK_SANDBOX"`},
			root:        true,
			quiet:       true,
			wantStdout:  ptr("$WS\nsandbox=1\n"),
			stdoutLines: nil,
		},
		{
			name:        "run --allow-degraded landlock warns",
			args:        []string{"run", "--allow-degraded", "landlock", "--", "true"},
			root:        true,
			stderrLines: []string{degradedLandlock},
		},
		{
			name:     "run --timeout stops the command",
			args:     []string{"run", "--timeout", "1s", "--", "sleep", "30"},
			root:     true,
			wantCode: 124,
			stderrLines: []string{
				"airlock: error: command stopped: the time limit was reached (--timeout 1s)",
			},
		},
		{
			name:     "creating a protected name is denied and explained",
			args:     []string{"run", "--", "mkdir", ".vscode"},
			root:     true,
			wantCode: 1,
			stderrLines: []string{
				"airlock: denied: mkdir $WS/.vscode: protected .vscode",
			},
			stderrRE: []string{
				`airlock: hint: .*write-protected.*filesystem\.unprotect.*"\.vscode".*`,
				`mkdir: cannot create directory .*: Operation not permitted`,
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root {
				requireRoot(t)
			}
			w := newWorkspace(t)
			expand := func(s string) string {
				return strings.NewReplacer("$WS", w.Dir, "$HOME", w.Home).Replace(s)
			}
			for name, content := range c.files {
				if err := os.WriteFile(filepath.Join(w.Dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := make([]string, len(c.args))
			for i, a := range c.args {
				args[i] = expand(a)
			}
			r := w.airlock(t, args...)
			if r.code != c.wantCode {
				t.Errorf("exit status: got %d, want %d\nstderr:\n%s", r.code, c.wantCode, r.stderr)
			}
			errLines := lines(r.stderr)
			for _, l := range c.stderrLines {
				if want := expand(l); !slices.Contains(errLines, want) {
					t.Errorf("stderr: got\n%s\nwant the line %q", r.stderr, want)
				}
			}
			for _, re := range c.stderrRE {
				rx := regexp.MustCompile("^" + expand(re) + "$")
				if !slices.ContainsFunc(errLines, rx.MatchString) {
					t.Errorf("stderr: got\n%s\nwant a line matching %q", r.stderr, rx)
				}
			}
			if c.quiet && r.stderr != "" {
				t.Errorf("stderr: got %q, want nothing", r.stderr)
			}
			if c.wantStdout != nil {
				if want := expand(*c.wantStdout); r.stdout != want {
					t.Errorf("stdout: got %q, want %q", r.stdout, want)
				}
			}
			outLines := lines(r.stdout)
			for i := range outLines {
				outLines[i] = strings.TrimSpace(outLines[i])
			}
			for _, l := range c.stdoutLines {
				if !slices.Contains(outLines, expand(l)) {
					t.Errorf("stdout: got\n%s\nwant the line %q", r.stdout, l)
				}
			}
			for _, l := range c.stdoutNot {
				if slices.Contains(outLines, expand(l)) {
					t.Errorf("stdout: got\n%s\nwant no line %q", r.stdout, l)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

// requiredLayers are the layers without which doctor fails.
var requiredLayers = []string{"userns", "mountns", "pidns", "netns", "seccomp", "landlock"}

func TestDoctor(t *testing.T) {
	w := newWorkspace(t)
	text := w.airlock(t, "doctor")
	js := w.airlock(t, "doctor", "--json")

	var report struct {
		Checks []struct {
			Layer  string `json:"layer"`
			Status string `json:"status"`
			Detail string `json:"detail"`
			Fix    string `json:"fix"`
		} `json:"checks"`
	}
	dec := json.NewDecoder(strings.NewReader(js.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&report); err != nil {
		t.Fatalf("doctor --json: %v\nstdout:\n%s", err, js.stdout)
	}
	if js.stderr != "" {
		t.Errorf("doctor --json stderr: got %q, want nothing", js.stderr)
	}
	var layers []string
	status := map[string]string{}
	for _, c := range report.Checks {
		layers = append(layers, c.Layer)
		status[c.Layer] = c.Status
		if !slices.Contains([]string{"available", "degraded", "missing"}, c.Status) {
			t.Errorf("check %s: got status %q, want available, degraded or missing", c.Layer, c.Status)
		}
		if c.Detail == "" {
			t.Errorf("check %s: got an empty detail, want what was found", c.Layer)
		}
		if c.Status != "available" && c.Fix == "" {
			t.Errorf("check %s (%s): got no fix, want how to make it available", c.Layer, c.Status)
		}
	}
	if !slices.Equal(layers, doctor.Layers) {
		t.Errorf("doctor --json layers: got %q, want %q", layers, doctor.Layers)
	}

	// Both forms agree on the exit status: 0 exactly when every required
	// layer is available. This host is expected to have them all.
	wantCode := 0
	for _, l := range requiredLayers {
		if status[l] != "available" {
			wantCode = 1
		}
	}
	if wantCode != 0 {
		t.Errorf("doctor: required layers not all available here: %v", status)
	}
	for _, r := range []struct {
		name string
		res  result
	}{{"doctor", text}, {"doctor --json", js}} {
		if r.res.code != wantCode {
			t.Errorf("%s: exit status got %d, want %d\nstderr:\n%s", r.name, r.res.code, wantCode, r.res.stderr)
		}
	}

	// The text report has one line per layer, starting with its name and
	// status, in the same order.
	var textLayers []string
	for _, l := range lines(text.stdout) {
		f := strings.Fields(l)
		if len(f) >= 2 && slices.Contains(doctor.Layers, f[0]) {
			textLayers = append(textLayers, f[0])
			if f[1] != status[f[0]] {
				t.Errorf("doctor: %s status got %q, want %q as in --json", f[0], f[1], status[f[0]])
			}
		}
	}
	if !slices.Equal(textLayers, doctor.Layers) {
		t.Errorf("doctor: got layers %q, want %q\nstdout:\n%s", textLayers, doctor.Layers, text.stdout)
	}
	if !slices.Contains(textLayers, "landlock") {
		t.Errorf("doctor: got\n%s\nwant a landlock line", text.stdout)
	}

	bad := w.airlock(t, "doctor", "--bogus")
	if bad.code != 2 {
		t.Errorf("doctor --bogus: exit status got %d, want 2", bad.code)
	}
}
