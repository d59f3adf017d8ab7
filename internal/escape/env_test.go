package escape

// The environment half of the escape suite: host secrets in the airlock
// process's environment stay outside, --env passes exactly what it names,
// PID 1 leaks nothing through /proc, and the command's identity (host name,
// uid, HOME) is the sandbox's.

import (
	"os"
	"strings"
	"testing"
)

// envSecrets are credentials set on the airlock process, as an agent's
// launcher typically has them.
var envSecrets = []struct{ name, value string }{
	{"AWS_SECRET_ACCESS_KEY", "ENV-AWS-CANARY-wJalrXUtnFEMI"},
	{"GITHUB_TOKEN", "ENV-GITHUB-CANARY-ghp_16C7e42F292c"},
	{"ANTHROPIC_API_KEY", "ENV-ANTHROPIC-CANARY-sk-ant-api03"},
}

func envSecretVars() []string {
	var out []string
	for _, s := range envSecrets {
		out = append(out, s.name+"="+s.value)
	}
	return out
}

// TestEnvSecretsScrubbed runs `env` with secrets in airlock's environment:
// neither names nor values reach the command. The control is `env` outside.
func TestEnvSecretsScrubbed(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	r := f.sandbox(t, nil, `env`, envSecretVars()...)
	fsMustSucceed(t, "env inside", r)
	mustContain(t, "inside stdout", r.Stdout, "AIRLOCK_SANDBOX=1\n")
	c := f.outside(t, `env`, envSecretVars()...)
	for _, s := range envSecrets {
		t.Run(s.name, func(t *testing.T) {
			mustNotContain(t, "inside stdout", r.Stdout, s.name+"=")
			mustNotContain(t, "inside stdout", r.Stdout, s.value)
			mustContain(t, "control stdout", c.Stdout, s.name+"="+s.value+"\n")
		})
	}
}

// TestEnvExplicit checks --env: "NAME" copies the host value of that one
// variable, "NAME=VALUE" sets it; nothing else comes along. The control is
// the same run without the flag: the variable is absent.
func TestEnvExplicit(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name, flag string
		want       string   // line in `env`
		absent     []string // values that must not appear
	}{
		{"pass one host variable", "GITHUB_TOKEN", "GITHUB_TOKEN=" + envSecrets[1].value,
			[]string{envSecrets[0].value, envSecrets[2].value}},
		{"set a new variable", "DEPLOY_TARGET=staging", "DEPLOY_TARGET=staging",
			[]string{envSecrets[0].value, envSecrets[1].value, envSecrets[2].value}},
		{"set over a host secret", "ANTHROPIC_API_KEY=sandbox-scoped-key", "ANTHROPIC_API_KEY=sandbox-scoped-key",
			[]string{envSecrets[0].value, envSecrets[1].value, envSecrets[2].value}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			r := f.sandbox(t, []string{"--env", tc.flag}, `env`, envSecretVars()...)
			fsMustSucceed(t, "env with --env", r)
			mustContain(t, "stdout", r.Stdout, tc.want+"\n")
			for _, a := range tc.absent {
				mustNotContain(t, "stdout", r.Stdout, a)
			}
			name, _, _ := strings.Cut(tc.want, "=")
			c := f.sandbox(t, nil, `env`, envSecretVars()...)
			mustNotContain(t, "control stdout (no --env)", c.Stdout, name+"=")
		})
	}
	t.Run("pass an unset variable", func(t *testing.T) {
		f := newFixture(t)
		r := f.sandbox(t, []string{"--env", "AIRLOCK_ESCAPE_UNSET"}, `env`, envSecretVars()...)
		fsMustSucceed(t, "env", r)
		mustNotContain(t, "stdout", r.Stdout, "AIRLOCK_ESCAPE_UNSET")
		c := f.sandbox(t, []string{"--env", "AIRLOCK_ESCAPE_UNSET"}, `env`, append(envSecretVars(), "AIRLOCK_ESCAPE_UNSET=now-set")...)
		mustContain(t, "control stdout (variable set on the host)", c.Stdout, "AIRLOCK_ESCAPE_UNSET=now-set\n")
	})
}

// TestEnvProcInit reads the environment and command line of PID 1 (airlock's
// init, which the supervisor started) and of every other visible process.
// The control shows the secrets are in the environment of the processes that
// start airlock, so /proc would expose them if they were inherited.
func TestEnvProcInit(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	script := `for p in /proc/[0-9]*; do cat "$p/environ" "$p/cmdline" 2>/dev/null; done; echo; ` + fsPy(`
attempt("environ", lambda: open("/proc/1/environ", "rb").read())
attempt("cmdline", lambda: open("/proc/1/cmdline", "rb").read().replace(b"\0", b" "))
`)
	r := f.sandbox(t, nil, script, envSecretVars()...)
	fsMustSucceed(t, "attack", r)
	for _, s := range envSecrets {
		mustNotContain(t, "inside stdout", r.Stdout, s.value)
	}
	var environ, cmdline string
	for _, line := range strings.Split(r.Stdout, "\n") {
		switch {
		case strings.HasPrefix(line, "environ "):
			environ = strings.TrimSpace(line)
		case strings.HasPrefix(line, "cmdline "):
			cmdline = line
		}
	}
	if environ != "environ errno=EACCES" && environ != "environ ok" {
		t.Errorf("/proc/1/environ: got %q, want \"environ errno=EACCES\" (unreadable) or \"environ ok\" (empty)", environ)
	}
	if cmdline == "" {
		t.Errorf("/proc/1/cmdline: got no result line in %q", r.Stdout)
	}
	c := f.outside(t, `tr '\0' '\n' < /proc/$$/environ`, envSecretVars()...)
	for _, s := range envSecrets {
		mustContain(t, "control stdout", c.Stdout, s.name+"="+s.value+"\n")
	}
}

// TestEnvIdentity checks who the command is: its own host name (and it
// cannot change the host's), uid and gid 1000 when root invoked airlock,
// and HOME pointing at the invoking user's (the fixture's) home.
func TestEnvIdentity(t *testing.T) {
	requireRoot(t)
	f := newFixture(t)
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	script := `hostname; id -u; id -g; echo "$HOME"; hostname escape-test-host`
	r := f.sandbox(t, nil, script)
	lines := strings.Split(r.Stdout, "\n")
	if len(lines) < 4 {
		t.Fatalf("got %v, want four lines of output", r)
	}
	checks := []struct{ what, got, want string }{
		{"hostname", lines[0], "airlock"},
		{"id -u", lines[1], "1000"},
		{"id -g", lines[2], "1000"},
		{"HOME", lines[3], f.Home},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s inside: got %q, want %q", c.what, c.got, c.want)
		}
	}
	if lines[0] == host {
		t.Errorf("hostname inside: got the host's %q", host)
	}
	// hostname(1) prints this for EPERM from sethostname(2).
	fsMustFail(t, "sethostname inside", r)
	mustContain(t, "sethostname stderr", r.Stderr, "hostname: you must be root to change the host name")
	if now, _ := os.Hostname(); now != host {
		t.Errorf("host name after the run: got %q, want unchanged %q", now, host)
	}
	c := f.outside(t, `hostname; id -u`)
	if want := host + "\n0\n"; c.Stdout != want {
		t.Errorf("control outside: got %q, want %q", c.Stdout, want)
	}
	// Control for sethostname: root outside can, in its own UTS namespace.
	u := runCmd(t, f.Work, f.env(), "unshare", "-u", "/bin/sh", "-c", `hostname escape-test-host && hostname`)
	if u.Stdout != "escape-test-host\n" {
		t.Errorf("control sethostname in unshare -u: got %v, want stdout \"escape-test-host\\n\"", u)
	}
	// --root makes the command uid 0 inside, still without privilege on
	// the host name.
	rr := f.sandbox(t, []string{"--root"}, `id -u; hostname escape-test-host`)
	mustContain(t, "--root stdout", rr.Stdout, "0\n")
	mustContain(t, "--root sethostname stderr", rr.Stderr, "hostname: you must be root to change the host name")
	if now, _ := os.Hostname(); now != host {
		t.Errorf("host name after the --root run: got %q, want unchanged %q", now, host)
	}
}
