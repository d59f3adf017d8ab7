package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/airlock-sandbox/airlock/internal/cmdpolicy"
	"github.com/airlock-sandbox/airlock/internal/hook"
	"github.com/airlock-sandbox/airlock/internal/policy"
)

// Exit codes of `airlock check`.
const (
	CheckAllow = 0
	CheckDeny  = 1
	CheckAsk   = 2
)

// commandEngine compiles the policy's command rules for a workspace.
func commandEngine(p *policy.Policy, workspace, home string) (*cmdpolicy.Engine, error) {
	var rules []cmdpolicy.Rule
	add := func(list []policy.CommandRule, d cmdpolicy.Decision) {
		for _, r := range list {
			rules = append(rules, cmdpolicy.Rule{Pattern: r.Pattern, Decision: d, Justification: r.Justification,
				Match: r.Match, NotMatch: r.NotMatch, Source: r.Source})
		}
	}
	add(p.Commands.Allow, cmdpolicy.Allow)
	add(p.Commands.Ask, cmdpolicy.Ask)
	add(p.Commands.Deny, cmdpolicy.Deny)
	return cmdpolicy.Compile(rules, cmdpolicy.Options{Workspace: workspace, Home: home})
}

func (a *App) home() string {
	if h := a.getenv("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

// check implements `airlock check [--json] [policy flags] -- 'COMMAND'`.
func (a *App) check(args []string) int {
	fs := a.flagSet("check")
	var pf policyFlags
	pf.register(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	fs.Usage = func() {
		fmt.Fprint(a.Stderr, "Usage: airlock check [--json] [policy flags] -- 'COMMAND STRING'\n\nExit status: 0 allow, 1 deny, 2 ask, 125 bad policy or usage.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if done, code := a.parseFlags(fs, args, ExitSetup); done {
		return code
	}
	if fs.NArg() == 0 {
		a.errorf("no command given")
		a.hintf("airlock check -- 'git push --force origin main'")
		return ExitSetup
	}
	command := strings.Join(fs.Args(), " ")
	p, err := pf.build()
	if err != nil {
		a.reportPolicyErr(err)
		return ExitSetup
	}
	ws := p.Filesystem.Workspace
	cwd, _ := os.Getwd()
	if ws == "" {
		ws = cwd
	} else if !filepath.IsAbs(ws) {
		ws = filepath.Join(cwd, ws)
	}
	eng, err := commandEngine(p, ws, a.home())
	if err != nil {
		a.errorf("%v", err)
		return ExitSetup
	}
	res := eng.Check(command)
	if *asJSON {
		b, _ := json.MarshalIndent(checkJSON(command, res), "", "  ")
		fmt.Fprintln(a.Stdout, string(b))
	} else {
		writeCheck(a, res)
	}
	switch res.Decision {
	case cmdpolicy.Allow:
		return CheckAllow
	case cmdpolicy.Deny:
		return CheckDeny
	}
	return CheckAsk
}

// checkJSON is the --json form of a Result.
func checkJSON(command string, r cmdpolicy.Result) map[string]any {
	rules := []map[string]any{}
	for _, m := range r.Matched {
		rules = append(rules, map[string]any{"decision": m.Rule.Decision.String(), "pattern": m.Rule.Pattern,
			"justification": m.Rule.Justification, "source": m.Rule.Source, "command": m.Command})
	}
	findings := []map[string]any{}
	for _, f := range r.Findings {
		findings = append(findings, map[string]any{"category": f.Category, "decision": f.Decision.String(), "reason": f.Reason, "command": f.Command})
	}
	cmds := r.Commands
	if cmds == nil {
		cmds = [][]string{}
	}
	out := map[string]any{"command": command, "decision": r.Decision.String(), "explicit": r.Explicit,
		"rules": rules, "findings": findings, "commands": cmds}
	if r.ParseError != "" {
		out["parse_error"] = r.ParseError
	}
	return out
}

func writeCheck(a *App, r cmdpolicy.Result) {
	how := "by rule"
	if !r.Explicit {
		how = "no rule or finding applies"
	} else if len(r.Matched) == 0 {
		how = "by the analysis"
	}
	fmt.Fprintf(a.Stdout, "decision: %s (%s)\n", r.Decision, how)
	if r.ParseError != "" {
		fmt.Fprintf(a.Stdout, "parse error: %s\n", r.ParseError)
	}
	for _, m := range r.Matched {
		line := fmt.Sprintf("rule: %s %q", m.Rule.Decision, m.Rule.Pattern)
		if m.Rule.Source != "" {
			line += " (" + m.Rule.Source + ")"
		}
		if m.Rule.Justification != "" {
			line += ": " + m.Rule.Justification
		}
		fmt.Fprintf(a.Stdout, "%s\n  matched: %s\n", line, m.Command)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(a.Stdout, "finding: %s [%s]: %s\n  in: %s\n", f.Category, f.Decision, f.Reason, f.Command)
	}
}

// verdict turns a Result into the hook's Verdict.
func verdict(r cmdpolicy.Result) hook.Verdict {
	var parts []string
	for _, m := range r.Matched {
		s := fmt.Sprintf("airlock rule %s %q", m.Rule.Decision, m.Rule.Pattern)
		if m.Rule.Justification != "" {
			s += ": " + m.Rule.Justification
		}
		parts = append(parts, s)
	}
	for _, f := range r.Findings {
		parts = append(parts, fmt.Sprintf("%s: %s", f.Category, f.Reason))
	}
	if r.ParseError != "" {
		parts = append(parts, "the command could not be parsed: "+r.ParseError)
	}
	reason := strings.Join(parts, "; ")
	if reason == "" {
		reason = "no airlock rule applies"
	}
	return hook.Verdict{Decision: r.Decision.String(), Explicit: r.Explicit, Reason: reason}
}

// hookCmd implements `airlock hook claude-code|codex [policy flags]`: the
// agent CLI's pre-tool hook. Every failure denies (exit 2).
func (a *App) hookCmd(args []string) int {
	if len(args) == 0 || (args[0] != "claude-code" && args[0] != "codex") {
		a.errorf("usage: airlock hook claude-code|codex [policy flags]")
		return ExitUsage
	}
	agent := args[0]
	fs := a.flagSet("hook " + agent)
	var pf policyFlags
	pf.register(fs)
	if done, _ := a.parseFlags(fs, args[1:], ExitUsage); done {
		return ExitUsage
	}
	var check hook.Checker
	p, err := pf.build()
	if err != nil {
		check = hook.FailClosed(fmt.Errorf("airlock policy: %w", err))
	} else {
		home := a.home()
		check = func(command, cwd string) hook.Verdict {
			ws := p.Filesystem.Workspace
			if ws == "" || !filepath.IsAbs(ws) {
				ws = filepath.Join(cwd, ws)
			}
			eng, err := commandEngine(p, ws, home)
			if err != nil {
				return hook.Verdict{Decision: hook.Deny, Explicit: true, Reason: "airlock command rules: " + err.Error()}
			}
			return verdict(eng.Check(command))
		}
	}
	in := a.Stdin
	if in == nil {
		in = os.Stdin
	}
	if agent == "claude-code" {
		err = hook.ClaudeCode(in, a.Stdout, check)
	} else {
		err = hook.Codex(in, a.Stdout, check)
	}
	if err != nil {
		fmt.Fprintf(a.Stderr, "airlock: %v\n", err)
	}
	return hook.ExitCode(err)
}

// initCmd implements `airlock init claude-code [--policy FILE] [DIR]` and
// `airlock init codex [--policy FILE]`.
func (a *App) initCmd(args []string) int {
	if len(args) == 0 || (args[0] != "claude-code" && args[0] != "codex") {
		a.errorf("usage: airlock init claude-code [--policy FILE] [DIR] | airlock init codex [--policy FILE]")
		return ExitUsage
	}
	agent := args[0]
	fs := a.flagSet("init " + agent)
	policyFile := fs.String("policy", "", "native YAML policy `FILE` the hook checks commands against")
	noSandbox := fs.Bool("no-sandbox-settings", false, "claude-code: do not write the matching sandbox settings block")
	if done, code := a.parseFlags(fs, args[1:], ExitUsage); done {
		return code
	}
	self, err := os.Executable()
	if err != nil {
		a.errorf("find the airlock binary: %v", err)
		return 1
	}
	var extra []string
	p, err := policy.Build("", "", "", policy.Overrides{})
	if *policyFile != "" {
		abs, aerr := filepath.Abs(*policyFile)
		if aerr != nil {
			a.errorf("%v", aerr)
			return ExitUsage
		}
		extra = []string{"--policy", abs}
		p, err = policy.Build("", abs, "", policy.Overrides{})
	}
	if err != nil {
		a.reportPolicyErr(err)
		return ExitSetup
	}
	// The rules must compile (their examples hold) before a hook uses them.
	if _, err := commandEngine(p, "/", a.home()); err != nil {
		a.errorf("%v", err)
		return ExitSetup
	}
	var written, skipped []string
	switch agent {
	case "claude-code":
		dir := "."
		if fs.NArg() > 0 {
			dir = fs.Arg(0)
		}
		var sandbox map[string]any
		if !*noSandbox {
			sandbox = claudeSandboxSettings(p)
		}
		written, err = hook.InitClaudeCode(dir, self, sandbox, extra...)
	case "codex":
		home := a.getenv("CODEX_HOME")
		if home == "" {
			home = filepath.Join(a.home(), ".codex")
		}
		written, skipped, err = hook.InitCodex(home, codexRules(p))
		if err == nil {
			var w []string
			w, err = hook.InitCodexHook(home, self, extra...)
			written = append(written, w...)
		}
	}
	if err != nil {
		a.errorf("%v", err)
		if errors.Is(err, hook.ErrSymlink) {
			a.hintf("replace the symlink with the file it points to, then run airlock init again")
		}
		return 1
	}
	for _, w := range written {
		fmt.Fprintf(a.Stdout, "wrote %s\n", w)
	}
	if len(written) == 0 {
		fmt.Fprintln(a.Stdout, "already set up: nothing to change")
	}
	for _, s := range skipped {
		fmt.Fprintf(a.Stdout, "left out of the Codex rules (not a literal prefix): %s\n", s)
	}
	return ExitOK
}

// claudeSandboxSettings is Claude Code's sandbox block matching p.
func claudeSandboxSettings(p *policy.Policy) map[string]any {
	s := map[string]any{
		"enabled":                  true,
		"allowUnsandboxedCommands": false,
		"network":                  map[string]any{"allowedDomains": nonNil(p.Network.AllowDomains)},
	}
	fsys := map[string]any{}
	if len(p.Filesystem.DenyRead) > 0 {
		fsys["denyRead"] = p.Filesystem.DenyRead
	}
	if len(p.Filesystem.AllowWrite) > 0 {
		fsys["allowWrite"] = p.Filesystem.AllowWrite
	}
	if len(fsys) > 0 {
		s["filesystem"] = fsys
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// codexRules turns the policy's command rules into Codex prefix rules: a
// trailing "*" word means "any arguments", which is what a prefix rule
// means already.
func codexRules(p *policy.Policy) []hook.CodexRule {
	var out []hook.CodexRule
	add := func(list []policy.CommandRule, d string) {
		for _, r := range list {
			words := strings.Fields(r.Pattern)
			if len(words) > 1 && words[len(words)-1] == "*" {
				words = words[:len(words)-1]
			}
			out = append(out, hook.CodexRule{Pattern: words, Decision: d, Justification: r.Justification, Match: r.Match, NotMatch: r.NotMatch})
		}
	}
	add(p.Commands.Deny, hook.Deny)
	add(p.Commands.Ask, hook.Ask)
	add(p.Commands.Allow, hook.Allow)
	return out
}
