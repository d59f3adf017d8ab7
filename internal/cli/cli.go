package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/airlock-sandbox/airlock/internal/cgroup"
	"github.com/airlock-sandbox/airlock/internal/doctor"
	"github.com/airlock-sandbox/airlock/internal/guard"
	"github.com/airlock-sandbox/airlock/internal/policy"
	"github.com/airlock-sandbox/airlock/internal/sandbox"
	"github.com/airlock-sandbox/airlock/internal/secrets"
	"github.com/airlock-sandbox/airlock/internal/session"
)

// Exit codes of airlock itself. `run` otherwise exits with the command's status.
const (
	ExitOK    = 0
	ExitUsage = 2
	// ExitSetup: the sandbox could not be set up as asked (bad policy or
	// flags, a missing kernel layer). The command did not run.
	ExitSetup = sandbox.ExitSetup
)

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

const usage = `airlock: run AI agents and the commands they emit inside a sandbox

Usage:
  airlock run [flags] -- CMD [ARGS...]   run CMD confined (see airlock run -h)
  airlock doctor [--json]                report which isolation layers this host offers
  airlock policy show [flags]            print the effective policy after defaults and flags
  airlock proxy --listen ADDR [flags]    run the egress proxy standalone (containers, VMs)
  airlock connect HOST PORT              relay stdin/stdout through $HTTPS_PROXY (ssh ProxyCommand)
  airlock sessions                       list the --overlay sessions
  airlock diff [SESSION] [PATH...]       show what a session changed (--stat, --name-only)
  airlock apply [SESSION] [PATH...]      apply a session's changes to the workspace (--interactive, --force)
  airlock discard [SESSION]              throw a session away
  airlock check [--json] -- 'COMMAND'    decide a shell command against the command rules (0 allow, 1 deny, 2 ask)
  airlock hook claude-code|codex         an agent CLI's pre-tool hook (JSON on stdin)
  airlock init claude-code [DIR]|codex   write the hook configuration for an agent CLI
  airlock version                        print the version

Exit status of run: the command's own status (128+N when killed by signal N),
124 when --timeout stopped it, 125 when the sandbox could not be set up,
126/127 when the command could not be executed / found.
`

// App carries the process's standard streams, so tests can drive Main.
type App struct {
	Stdin          *os.File
	Stdout, Stderr io.Writer
	Env            []string
}

// Main runs the CLI and returns the process exit status.
func (a *App) Main(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.Stderr, usage)
		return ExitUsage
	}
	// An apply that an earlier airlock left half-done (killed, power
	// lost) is finished or rolled back before anything else happens.
	switch args[0] {
	case "version", "--version", "help", "-h", "--help", "hook", "check":
	default:
		a.recoverSessions()
	}
	switch args[0] {
	case "run":
		return a.run(args[1:])
	case "doctor":
		return a.doctor(args[1:])
	case "policy":
		return a.policy(args[1:])
	case "proxy":
		return a.proxyCmd(args[1:])
	case "connect":
		return a.connect(args[1:])
	case "check":
		return a.check(args[1:])
	case "scan":
		return a.scanCmd(args[1:])
	case "sessions":
		return a.sessionsCmd(args[1:])
	case "diff":
		return a.diffCmd(args[1:])
	case "apply":
		return a.applyCmd(args[1:])
	case "discard":
		return a.discardCmd(args[1:])
	case "hook":
		return a.hookCmd(args[1:])
	case "init":
		return a.initCmd(args[1:])
	case "version", "--version":
		fmt.Fprintf(a.Stdout, "airlock %s\n", Version)
		return ExitOK
	case "help", "-h", "--help":
		fmt.Fprint(a.Stdout, usage)
		return ExitOK
	}
	a.errorf("unknown command %q", args[0])
	a.hintf("run `airlock help` for the list of commands")
	return ExitUsage
}

func (a *App) errorf(format string, args ...any) {
	fmt.Fprintf(a.Stderr, "airlock: error: "+format+"\n", args...)
}

func (a *App) hintf(format string, args ...any) {
	fmt.Fprintf(a.Stderr, "airlock: hint: "+format+"\n", args...)
}

func (a *App) warnf(format string, args ...any) {
	fmt.Fprintf(a.Stderr, "airlock: warning: "+format+"\n", args...)
}

func (a *App) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(a.Stderr, "Usage: airlock %s [flags]\n\nFlags:\n", name)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and reports a bad flag in airlock's own format.
// It returns done=true with the exit status when the caller should stop:
// after -h (0) or on an error (errCode).
func (a *App) parseFlags(fs *flag.FlagSet, args []string, errCode int) (done bool, code int) {
	usage := fs.Usage
	fs.Usage = func() {} // errors are reported below, -h prints usage
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(a.Stderr)
	switch {
	case err == nil:
		return false, 0
	case errors.Is(err, flag.ErrHelp):
		usage()
		return true, ExitOK
	}
	a.errorf("%v", err)
	a.hintf("run `airlock %s -h` for the flags", fs.Name())
	return true, errCode
}

// reportPolicyErr prints a policy or plan error with its hint.
func (a *App) reportPolicyErr(err error) {
	a.errorf("%v", err)
	var pe *sandbox.PlanError
	if errors.As(err, &pe) && pe.Hint != "" {
		a.hintf("%s", pe.Hint)
	}
	var polErr *policy.Error
	if errors.As(err, &polErr) && polErr.File != "" {
		a.hintf("see docs/POLICY.md for the policy format")
	}
}

func (a *App) run(args []string) int {
	fs := a.flagSet("run")
	var pf policyFlags
	pf.register(fs)
	var ef egressFlags
	ef.register(fs)
	var cf credFlags
	cf.register(fs)
	scanWS := fs.Bool("scan", true, "warn when the workspace holds files that look like credentials and stay readable")
	overlay := fs.Bool("overlay", false, "keep the command's writes to the workspace in a session for review (airlock diff/apply/discard)")
	sessionName := fs.String("session", "", "name of the --overlay session; an existing one is resumed")
	tty := fs.String("tty", "auto", "give the command a pty: auto, always or never")
	ask := fs.Bool("ask", false, "ask on the terminal before allowing egress to a destination the policy does not list")
	fs.Usage = func() {
		fmt.Fprintln(a.Stderr, "Usage: airlock run [flags] -- CMD [ARGS...]\n\nFlags:")
		fs.PrintDefaults()
	}
	if done, code := a.parseFlags(fs, args, ExitSetup); done {
		return code
	}
	argv := fs.Args()
	if len(argv) == 0 {
		a.errorf("no command given")
		a.hintf("airlock run [flags] -- CMD [ARGS...]")
		return ExitSetup
	}
	p, err := pf.build()
	if err != nil {
		a.reportPolicyErr(err)
		return ExitSetup
	}
	// Command rules are compiled, and their examples checked, by every
	// command that loads the policy: a rule that fails its own examples
	// is a load error here too.
	if _, err := commandEngine(p, "/", a.home()); err != nil {
		a.errorf("%v", err)
		return ExitSetup
	}
	for _, l := range p.AllowDegraded {
		a.warnf("layer %q may be missing: it is not required on this run (--allow-degraded %s)", l, l)
	}
	in, err := a.planInput(argv, *tty)
	if err != nil {
		a.errorf("%v", err)
		return ExitSetup
	}
	token, err := newToken()
	if err != nil {
		a.errorf("%v", err)
		return ExitSetup
	}
	in.ProxyUser, in.ProxyToken = proxyUser, token
	var cr *credentials
	cf.secrets = append(slices.Clone(p.Credentials.Secrets), cf.secrets...)
	cf.secretFiles = append(slices.Clone(p.Credentials.Files), cf.secretFiles...)
	cf.tlsExclude = append(slices.Clone(p.Credentials.TLSExclude), cf.tlsExclude...)
	if cf.any() {
		cr, err = a.loadCredentials(context.Background(), &cf, p, in.Cwd, in.Home)
		if err != nil {
			a.errorf("%v", err)
			return ExitSetup
		}
		// Everything Airlock itself writes from here on is redacted.
		rw := cr.redact.Writer(a.Stderr)
		defer rw.Close()
		a.Stderr = rw
		p.Network.AllowDomains = appendMissing(p.Network.AllowDomains, cr.allow)
		p.Process.Env = append(p.Process.Env, cr.env...)
	}
	var asker *asker
	var askFn func(context.Context, string, int) bool
	if *ask {
		if !in.TTY {
			a.errorf("--ask needs an interactive terminal (standard input and output)")
			a.hintf("run it from a terminal, or list the destinations with --allow-domain")
			return ExitSetup
		}
		asker = newAsker(a.Stderr, 30*time.Second)
		askFn = asker.Ask
	}
	er, err := a.newEgress(p, ef, fmt.Sprintf("airlock-%d", os.Getpid()), token, askFn, cr)
	if err != nil {
		a.reportPolicyErr(err)
		return ExitSetup
	}
	defer er.close()
	spec, err := sandbox.Plan(p, in)
	if err != nil {
		a.reportPolicyErr(err)
		return ExitSetup
	}
	spec.NotifyExec = ef.audit != "" && ef.auditExec
	if cr != nil {
		spec.Files = cr.files
		spec.Gateway = len(cr.routes) > 0
	}
	if *sessionName != "" && !*overlay {
		a.errorf("--session needs --overlay")
		return ExitSetup
	}
	var sess *session.Session
	if *overlay {
		sess, err = a.startOverlay(*sessionName, spec.Workspace, argv)
		if err != nil {
			a.errorf("overlay session: %v", err)
			return ExitSetup
		}
		spec.Overlay = &sandbox.Overlay{Upper: sess.UpperDir(), Work: sess.WorkDir()}
	}
	if err := a.applyUnsafeDisable(spec); err != nil {
		a.errorf("%v", err)
		return ExitSetup
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if files := nonEmpty(pf.policyFile, pf.settingsFile); len(files) > 0 {
		// SIGHUP belongs to the command (it is forwarded); the policy
		// files are watched instead.
		go watchFiles(ctx, files, time.Second, func() { er.reload(pf.build) })
	}
	opts := sandbox.Options{
		Egress:        er.serve,
		Limits:        cgroup.Limits{MemoryBytes: p.Limits.MemoryBytes, Pids: p.Limits.Pids, CPUs: p.Limits.CPUs},
		Timeout:       p.Limits.Timeout,
		AllowNoCgroup: slices.Contains(p.AllowDegraded, policy.LayerCgroup),
		Warn: func(layer, msg string) {
			a.warnf("running WITHOUT the %s layer: %s (allowed by --allow-degraded %s)", layer, msg, layer)
		},
		Notify: func(ctx context.Context, listener, landlockFD int) {
			cfg := guard.Config{Protected: spec.Protected, DenyCreate: spec.DenyCreate, GitDirs: spec.GitDirs,
				LandlockFD: landlockFD, OnDeny: func(d guard.Denial) {
					a.explainDenial(d)
					er.writeEvent(map[string]any{"event": "fs_denied", "pid": d.Pid, "syscall": d.Syscall, "path": d.Path, "rule": d.Rule, "hint": d.Allow})
				}}
			if spec.NotifyExec {
				cfg.OnExec = er.writeExec
			}
			if err := guard.Serve(ctx, listener, cfg); err != nil && ctx.Err() == nil {
				a.errorf("%v", err)
			}
		},
	}
	if asker != nil {
		// The prompter owns the terminal's input and forwards keystrokes
		// to the sandbox except while a question is open.
		pr, pw, err := os.Pipe()
		if err != nil {
			a.errorf("%v", err)
			return ExitSetup
		}
		defer pr.Close()
		go asker.feed(a.Stdin, pw)
		opts.Input = pr
	}
	if *scanWS {
		go a.warnReadableSecrets(ctx, p, spec)
	}
	res, err := sandbox.Run(ctx, spec, opts)
	if sess != nil {
		code := res.Code
		if err != nil {
			code = ExitSetup
		}
		a.endOverlay(sess, code, p.Protected())
	}
	if err != nil {
		return a.reportSetupErr(err)
	}
	a.reportKilled(res.Killed, p.Limits)
	return res.Code
}

// reportSetupErr explains a sandbox that could not be set up and returns
// the exit status: the error's own (a command that cannot be found or
// executed) or ExitSetup, with doctor's diagnosis of the missing layer.
func (a *App) reportSetupErr(err error) int {
	var se *sandbox.SetupError
	if !errors.As(err, &se) {
		a.errorf("%v", err)
		return ExitSetup
	}
	a.errorf("%s", se.Msg)
	if se.Code != 0 {
		return se.Code
	}
	if se.Hint != "" {
		a.hintf("%s", se.Hint)
	}
	a.diagnose(se.Layer)
	return ExitSetup
}

// reportKilled says which limit ended the command, if one did.
func (a *App) reportKilled(killed string, l policy.Limits) {
	switch killed {
	case "timeout":
		a.errorf("command stopped: the time limit was reached (--timeout %s)", l.Timeout)
	case "memory":
		a.errorf("command killed: the memory limit was reached (--memory %d bytes)", l.MemoryBytes)
		a.hintf("raise it with --memory, e.g. --memory %dM", 2*l.MemoryBytes>>20)
	case "pids":
		a.errorf("command hit the process limit (--pids %d): fork failed", l.Pids)
	}
}

// unsafeDisableEnv names layers to switch off entirely. It exists so tests
// can show what one layer blocks (the control of an escape test); it is not
// a user setting, and every run that uses it says so loudly.
const unsafeDisableEnv = "AIRLOCK_UNSAFE_DISABLE"

func (a *App) applyUnsafeDisable(spec *sandbox.Spec) error {
	v := a.getenv(unsafeDisableEnv)
	if v == "" {
		return nil
	}
	for _, layer := range strings.Split(v, ",") {
		switch layer {
		case policy.LayerLandlock:
			spec.Landlock = sandbox.Off
		case policy.LayerSeccomp:
			spec.Seccomp = sandbox.Off
			spec.NotifyCreate = false
		default:
			return fmt.Errorf("%s: unknown layer %q (want landlock or seccomp)", unsafeDisableEnv, layer)
		}
		a.warnf("UNSAFE: the %s layer is switched off by %s; this is for testing only", layer, unsafeDisableEnv)
	}
	return nil
}

func (a *App) getenv(name string) string {
	for _, kv := range a.Env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// diagnose prints doctor's findings for the layer a set-up failed on, so
// `airlock run` fails with the same explanation `airlock doctor` gives.
func (a *App) diagnose(layer string) {
	probe := map[string][]string{
		"userns": {"userns"}, "mount": {"mountns", "userns"}, "pidns": {"pidns"}, "netns": {"netns"},
		"utsns": {"utsns"}, "cgroupns": {"cgroupns"}, "seccomp": {"seccomp", "no_new_privs"},
		"landlock": {"landlock"}, "cgroup": {"cgroup-v2", "cgroup-v1"},
	}[layer]
	if len(probe) == 0 {
		return
	}
	// From a fresh goroutine: the run's goroutine stays locked to the
	// thread that started init, whose bounding set is reduced.
	rep := make(chan doctor.Report, 1)
	go func() { rep <- doctor.Run(context.Background()) }()
	for _, c := range (<-rep).Missing(probe...) {
		a.hintf("doctor: %s is %s: %s", c.Layer, c.Status, c.Detail)
		if c.Fix != "" {
			a.hintf("doctor: fix: %s", c.Fix)
		}
	}
}

func (a *App) planInput(argv []string, tty string) (sandbox.PlanInput, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return sandbox.PlanInput{}, fmt.Errorf("current directory: %w", err)
	}
	home := os.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	self, _ := os.Executable()
	in := sandbox.PlanInput{
		Argv: argv, HostEnv: a.Env, Cwd: cwd, Home: home,
		UID: os.Getuid(), GID: os.Getgid(), Self: self,
	}
	switch tty {
	case "auto":
		in.TTY = isTerminal(a.Stdin) && isTerminal(os.Stdout)
	case "always":
		if !isTerminal(a.Stdin) {
			return in, fmt.Errorf("--tty always: standard input is not a terminal")
		}
		in.TTY = true
	case "never":
	default:
		return in, fmt.Errorf("--tty: want auto, always or never, got %q", tty)
	}
	return in, nil
}

func isTerminal(f *os.File) bool {
	return f != nil && isTerminalFD(int(f.Fd()))
}

func (a *App) doctor(args []string) int {
	fs := a.flagSet("doctor")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if done, code := a.parseFlags(fs, args, ExitUsage); done {
		return code
	}
	r := doctor.Run(context.Background())
	if *asJSON {
		b, err := r.JSON()
		if err != nil {
			a.errorf("%v", err)
			return 1
		}
		fmt.Fprintf(a.Stdout, "%s\n", b)
	} else {
		r.Write(a.Stdout, isTerminal(os.Stdout))
	}
	if len(r.Missing("userns", "mountns", "pidns", "netns", "seccomp", "landlock")) > 0 {
		return 1
	}
	return ExitOK
}

func (a *App) policy(args []string) int {
	if len(args) == 0 || args[0] != "show" {
		a.errorf("usage: airlock policy show [flags]")
		return ExitUsage
	}
	fs := a.flagSet("policy show")
	var pf policyFlags
	pf.register(fs)
	if done, code := a.parseFlags(fs, args[1:], ExitUsage); done {
		return code
	}
	p, err := pf.build()
	if err != nil {
		a.reportPolicyErr(err)
		return ExitSetup
	}
	b, err := policy.Show(p)
	if err != nil {
		a.errorf("%v", err)
		return 1
	}
	// A policy names where secrets come from, never their values; a
	// value pasted into a cmd: source anyway is not printed.
	b = []byte(secrets.NewRedactor(nil).String(string(b)))
	_, _ = a.Stdout.Write(b)
	if !strings.HasSuffix(string(b), "\n") {
		fmt.Fprintln(a.Stdout)
	}
	return ExitOK
}

// explainDenial tells the user (and the agent reading stderr) why a write
// was refused and which setting would allow it.
func (a *App) explainDenial(d guard.Denial) {
	fmt.Fprintf(a.Stderr, "airlock: denied: %s %s: %s\n", d.Syscall, d.Path, d.Rule)
	switch {
	case d.Allow == "":
	case strings.HasPrefix(d.Rule, "protected "):
		fmt.Fprintf(a.Stderr, "airlock: hint: host tools execute this path, so it is write-protected; to allow it, set %s in the policy\n", d.Allow)
	default:
		fmt.Fprintf(a.Stderr, "airlock: hint: to allow it, %s in the policy\n", d.Allow)
	}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
