package cmdpolicy

import (
	"slices"
	"strings"
)

// inner is what a wrapper command runs: either another argv (sudo CMD,
// env CMD, xargs CMD, find -exec CMD ;) or a string of shell code
// (sh -c STR, eval STR, su -c STR, watch STR).
type inner struct {
	argv []word

	script     *word
	what       string   // how the script is run, for reasons: "bash -c"
	positional []string // $0, $1... for sh -c STR NAME ARGS
	sameShell  bool     // eval and alias run in the current shell
}

// str returns the value of a word when it is known, else its display text.
func (w *word) str() string {
	if v, ok := w.value(); ok {
		return v
	}
	return w.disp
}

// skipOpts returns the index of the first operand in args, skipping
// options. shortVal lists the short options that take a value (attached,
// "-n10", or as the next word, "-n 10"); longVal the long options that take
// one when not written with "=". "--" ends the options.
func skipOpts(args []word, shortVal string, longVal ...string) int {
	i := 0
	for i < len(args) {
		s := args[i].str()
		if s == "--" {
			return i + 1
		}
		if len(s) < 2 || s[0] != '-' {
			return i
		}
		if strings.HasPrefix(s, "--") {
			name, _, eq := strings.Cut(s[2:], "=")
			if !eq && slices.Contains(longVal, name) {
				i += 2
			} else {
				i++
			}
			continue
		}
		step := 1
		for k := 1; k < len(s); k++ {
			if strings.IndexByte(shortVal, s[k]) >= 0 {
				if k == len(s)-1 {
					step = 2
				}
				break
			}
		}
		i += step
	}
	return len(args)
}

// hasFlag reports whether the options before the first operand contain a
// short flag letter (also inside bundles like -xc) or one of the long names.
func hasFlag(args []word, end int, short string, long ...string) bool {
	for _, w := range args[:min(end, len(args))] {
		s := w.str()
		if strings.HasPrefix(s, "--") {
			name, _, _ := strings.Cut(s[2:], "=")
			if slices.Contains(long, name) {
				return true
			}
			continue
		}
		if len(s) > 1 && s[0] == '-' && strings.ContainsAny(s[1:], short) {
			return true
		}
	}
	return false
}

func argvFrom(args []word, i int) []inner {
	if i >= len(args) {
		return nil
	}
	return []inner{{argv: args[i:]}}
}

// unwrap returns what the wrapper unit idx runs, if it is a wrapper.
func (a *analyzer) unwrap(idx int) []inner {
	u := &a.units[idx]
	args := u.argv[1:]
	switch u.prog {
	case "env":
		return a.unwrapEnv(idx)
	case "nice":
		return argvFrom(args, skipOpts(args, "n", "adjustment"))
	case "nohup", "builtin", "setsid", "unbuffer", "torsocks", "rlwrap":
		return argvFrom(args, skipOpts(args, ""))
	case "timeout":
		return argvFrom(args, skipOpts(args, "ks", "kill-after", "signal")+1)
	case "time":
		return argvFrom(args, skipOpts(args, "fo", "format", "output"))
	case "command":
		i := skipOpts(args, "")
		if hasFlag(args, i, "vV") {
			return nil
		}
		return argvFrom(args, i)
	case "exec":
		return argvFrom(args, skipOpts(args, "a"))
	case "stdbuf":
		return argvFrom(args, skipOpts(args, "ioe", "input", "output", "error"))
	case "ionice":
		i := skipOpts(args, "cnpPu", "class", "classdata", "pid", "pgid", "uid")
		if hasFlag(args, i, "pPu", "pid", "pgid", "uid") {
			return nil
		}
		return argvFrom(args, i)
	case "chrt", "taskset":
		i := skipOpts(args, "")
		if hasFlag(args, i, "p", "pid") {
			return nil
		}
		return argvFrom(args, i+1)
	case "chroot":
		return argvFrom(args, skipOpts(args, "", "userspec", "groups")+1)
	case "nsenter":
		return argvFrom(args, skipOpts(args, "tSG", "target", "setuid", "setgid"))
	case "unshare":
		return argvFrom(args, skipOpts(args, "SG", "setuid", "setgid"))
	case "strace":
		return argvFrom(args, skipOpts(args, "abeEIoOpPsSuUX"))
	case "proxychains", "proxychains4":
		return argvFrom(args, skipOpts(args, "f"))
	case "xargs":
		i := skipOpts(args, "adEILnPs", "arg-file", "delimiter", "eof", "replace", "max-lines",
			"max-args", "max-procs", "max-chars", "process-slot-var")
		if i >= len(args) {
			return []inner{{argv: []word{litWord("echo")}}}
		}
		return argvFrom(args, i)
	case "find":
		return findExec(args)
	case "sudo", "sudoedit":
		i := skipOpts(args, "CDgpRrtTUu", "close-from", "chdir", "group", "prompt", "chroot",
			"role", "type", "command-timeout", "other-user", "user", "host")
		if u.prog == "sudoedit" || hasFlag(args, i, "elvVK", "edit", "list", "validate", "version", "remove-timestamp") {
			return nil
		}
		return argvFrom(args, i)
	case "doas":
		return argvFrom(args, skipOpts(args, "uC"))
	case "run0":
		return argvFrom(args, skipOpts(args, "uDg", "user", "group", "chdir", "setenv", "unit",
			"property", "description", "slice", "nice", "machine"))
	case "pkexec":
		return argvFrom(args, skipOpts(args, "", "user"))
	case "su", "runuser", "sg":
		return a.unwrapSu(u.prog, args)
	case "watch":
		i := skipOpts(args, "nq", "interval", "equexit")
		if i >= len(args) {
			return nil
		}
		if hasFlag(args, i, "x", "exec") {
			return argvFrom(args, i)
		}
		return joinedScript(args[i:], "watch")
	case "flock":
		i := skipOpts(args, "wE", "timeout", "wait", "conflict-exit-code")
		if i+1 >= len(args) {
			return nil
		}
		if s := args[i+1].str(); s == "-c" || s == "--command" {
			if i+2 < len(args) {
				return []inner{{script: &args[i+2], what: "flock -c"}}
			}
			return nil
		}
		return argvFrom(args, i+1)
	case "script":
		for k, w := range args {
			s := w.str()
			if (s == "-c" || s == "--command") && k+1 < len(args) {
				return []inner{{script: &args[k+1], what: "script -c"}}
			}
			if v, ok := strings.CutPrefix(s, "--command="); ok {
				x := w
				x.vals = []string{v}
				return []inner{{script: &x, what: "script -c"}}
			}
		}
		return nil
	case "parallel":
		return parallelCmd(args)
	case "busybox":
		return argvFrom(args, 0)
	case "eval":
		return a.evalScript(args)
	case "alias":
		var out []inner
		for _, w := range args {
			v, ok := w.value()
			name, body, eq := strings.Cut(v, "=")
			if !ok || !eq {
				continue
			}
			x := w
			x.vals = []string{body}
			out = append(out, inner{script: &x, what: "alias " + name, sameShell: true})
		}
		return out
	case "trap":
		i := skipOpts(args, "")
		if i < len(args) && len(args)-i >= 2 {
			if v, ok := args[i].value(); ok && (v == "" || v == "-") {
				return nil
			}
			return []inner{{script: &args[i], what: "trap", sameShell: true}}
		}
		return nil
	case "poetry", "pipenv", "pdm", "hatch", "uv", "bundle", "conda":
		return toolRun(u.prog, args)
	}
	if isShell(u.prog) {
		return shellScript(u.prog, args)
	}
	return nil
}

// unwrapEnv handles env [-i] [-u NAME] [-C DIR] [-S STRING] [NAME=VALUE]... CMD.
func (a *analyzer) unwrapEnv(idx int) []inner {
	args := a.units[idx].argv[1:]
	i := 0
	var split *word
	for i < len(args) {
		s := args[i].str()
		if s == "--" {
			i++
			break
		}
		if len(s) < 2 || s[0] != '-' {
			break
		}
		if strings.HasPrefix(s, "--") {
			name, val, eq := strings.Cut(s[2:], "=")
			switch name {
			case "unset", "chdir", "split-string":
				if !eq && i+1 < len(args) {
					i++
					val = args[i].str()
				}
				if name == "unset" {
					a.checkVar(val, nil, "env --unset", a.units[idx].text)
				}
				if name == "split-string" {
					x := litWord(val)
					split = &x
				}
			}
			i++
			continue
		}
		step := 1
		for k := 1; k < len(s); k++ {
			c := s[k]
			if c != 'u' && c != 'C' && c != 'S' && c != 'P' {
				continue
			}
			val := s[k+1:]
			if val == "" && i+1 < len(args) {
				val = args[i+1].str()
				step = 2
			}
			if c == 'u' {
				a.checkVar(val, nil, "env -u", a.units[idx].text)
			}
			if c == 'S' {
				x := litWord(val)
				if step == 2 {
					x = args[i+1]
				}
				split = &x
			}
			break
		}
		i += step
	}
	for i < len(args) {
		s := args[i].str()
		name, val, eq := strings.Cut(s, "=")
		if !eq || !validName(name) {
			break
		}
		v := args[i]
		v.vals = []string{val}
		a.checkVar(name, &v, "env", a.units[idx].text)
		i++
	}
	if split != nil {
		// env -S splits its string into words; as shell code it splits the
		// same way for everything that matters here.
		rest := joinDisp(args[i:])
		x := *split
		if v, ok := split.value(); ok {
			x.vals = []string{strings.TrimSpace(v + " " + rest)}
		}
		return []inner{{script: &x, what: "env -S"}}
	}
	return argvFrom(args, i)
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// unwrapSu handles su [opts] [-c CMD] [USER], runuser and sg.
func (a *analyzer) unwrapSu(prog string, args []word) []inner {
	what := prog + " -c"
	for k := 0; k < len(args); k++ {
		s := args[k].str()
		switch {
		case s == "-c" || s == "--command" || s == "--session-command":
			if k+1 < len(args) {
				return []inner{{script: &args[k+1], what: what}}
			}
			return nil
		case strings.HasPrefix(s, "--command=") || strings.HasPrefix(s, "--session-command="):
			_, v, _ := strings.Cut(s, "=")
			x := args[k]
			x.vals = []string{v}
			return []inner{{script: &x, what: what}}
		case len(s) > 2 && s[0] == '-' && s[1] != '-' && strings.Contains(s, "c"):
			// -lc CMD or -cCMD
			at := strings.IndexByte(s, 'c')
			if at == len(s)-1 {
				if k+1 < len(args) {
					return []inner{{script: &args[k+1], what: what}}
				}
				return nil
			}
			x := args[k]
			x.vals = []string{s[at+1:]}
			return []inner{{script: &x, what: what}}
		}
	}
	if prog == "runuser" {
		// runuser -u USER [--] CMD ARGS
		i := skipOpts(args, "ugGsw", "user", "group", "supp-group", "shell", "whitelist-environment")
		return argvFrom(args, i)
	}
	if prog == "sg" && len(args) >= 2 {
		return joinedScript(args[1:], "sg")
	}
	return nil
}

// shellScript finds the -c script of sh, bash, zsh and the like.
func shellScript(prog string, args []word) []inner {
	cmode := false
	i := 0
	for i < len(args) {
		s := args[i].str()
		if s == "--" || s == "-" {
			i++
			break
		}
		if len(s) < 2 || (s[0] != '-' && s[0] != '+') {
			break
		}
		if strings.HasPrefix(s, "--") {
			if s == "--rcfile" || s == "--init-file" {
				i++
			}
			i++
			continue
		}
		if s[0] == '-' && strings.Contains(s[1:], "c") {
			cmode = true
		}
		if strings.ContainsAny(s[1:], "oO") {
			i++ // -o OPTION takes a value
		}
		i++
	}
	if !cmode || i >= len(args) {
		return nil
	}
	var pos []string
	for _, w := range args[i+1:] {
		pos = append(pos, w.str())
	}
	if pos == nil {
		pos = []string{prog}
	}
	return []inner{{script: &args[i], what: prog + " -c", positional: pos}}
}

// joinedScript treats words as the parts of one shell command line, as
// watch, sg and eval do.
func joinedScript(args []word, what string) []inner {
	if len(args) == 0 {
		return nil
	}
	x := word{disp: joinDisp(args), start: args[0].start, end: args[len(args)-1].end}
	vals := make([]string, 0, len(args))
	known := true
	for _, w := range args {
		v, ok := w.value()
		if !ok {
			known = false
			break
		}
		vals = append(vals, v)
		x.hidden = x.hidden || w.hidden
		x.lit = x.lit || w.lit
	}
	for _, w := range args {
		x.sub.merge(w.sub)
		x.param = x.param || w.param
		x.subst = x.subst || w.subst
	}
	if known {
		x.vals = []string{strings.Join(vals, " ")}
	}
	return []inner{{script: &x, what: what}}
}

// evalScript joins the arguments of eval into the code it runs.
func (a *analyzer) evalScript(args []word) []inner {
	in := joinedScript(args, "eval")
	for i := range in {
		in[i].sameShell = true
	}
	return in
}

// findExec returns the commands of find's -exec, -execdir, -ok and -okdir.
func findExec(args []word) []inner {
	var out []inner
	for i := 0; i < len(args); i++ {
		switch args[i].str() {
		case "-exec", "-execdir", "-ok", "-okdir":
			j := i + 1
			for j < len(args) {
				if s := args[j].str(); s == ";" || s == "+" {
					break
				}
				j++
			}
			if j > i+1 {
				out = append(out, inner{argv: args[i+1 : j]})
			}
			i = j
		}
	}
	return out
}

// parallelCmd returns the command GNU parallel runs for each input.
func parallelCmd(args []word) []inner {
	i := skipOpts(args, "jSINna", "jobs", "sshlogin", "colsep", "halt", "delay", "timeout",
		"joblog", "results", "arg-file", "max-args", "max-replace-args", "tmpdir", "workdir")
	j := i
	for j < len(args) && !strings.HasPrefix(args[j].str(), ":::") {
		j++
	}
	if j == i {
		return nil
	}
	cmd := args[i:j]
	if len(cmd) == 1 && strings.ContainsAny(cmd[0].str(), " \t;|&") {
		return []inner{{script: &cmd[0], what: "parallel"}}
	}
	return []inner{{argv: cmd}}
}

// toolRun handles "poetry run CMD", "uv run CMD", "bundle exec CMD" and
// the like.
func toolRun(prog string, args []word) []inner {
	i := skipOpts(args, "")
	if i >= len(args) {
		return nil
	}
	sub := args[i].str()
	if !(sub == "run" || prog == "bundle" && sub == "exec") {
		return nil
	}
	rest := args[i+1:]
	return argvFrom(rest, skipOpts(rest, "pn", "with", "python", "project", "directory",
		"env-file", "package", "extra", "group", "index", "name", "prefix", "env"))
}
