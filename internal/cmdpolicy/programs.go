package cmdpolicy

import (
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// shells run shell code given with -c, as a script file, or on stdin.
var shells = []string{"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "rbash", "fish", "tcsh", "csh", "yash", "posh"}

func isShell(p string) bool { return slices.Contains(shells, p) }

// interpSpec describes how an interpreter takes code on its command line.
type interpSpec struct {
	code     string   // short options whose value is code: python -c, perl -e
	longCode []string // long options whose value is code: node --eval
	val      string   // other short options that take a value
	longVal  []string // other long options that take a value
	module   string   // short options that run a module: python -m
}

var interpSpecs = map[string]interpSpec{
	"python":    {code: "c", val: "WXQ", module: "m"},
	"perl":      {code: "eE", val: "x"},
	"ruby":      {code: "e", val: "rCEF"},
	"node":      {code: "ep", longCode: []string{"eval", "print"}, val: "r", longVal: []string{"require", "import", "loader", "experimental-loader", "env-file"}},
	"php":       {code: "r", val: "cdfz"},
	"lua":       {code: "e", val: "l"},
	"rscript":   {code: "e"},
	"osascript": {code: "e", val: "l"},
	"pwsh":      {code: "c", longCode: []string{"command", "c"}, longVal: []string{"file"}},
}

// interpKind returns the interpSpecs key for a program, or "".
func interpKind(p string) string {
	switch {
	case p == "python" || p == "python2" || p == "python3" || p == "pypy" || p == "pypy3" ||
		strings.HasPrefix(p, "python3.") || strings.HasPrefix(p, "python2."):
		return "python"
	case p == "perl" || strings.HasPrefix(p, "perl5"):
		return "perl"
	case p == "node" || p == "nodejs":
		return "node"
	case p == "ruby" || p == "php" || p == "lua" || p == "osascript":
		return p
	case p == "luajit":
		return "lua"
	case p == "Rscript":
		return "rscript"
	case p == "pwsh" || p == "powershell":
		return "pwsh"
	}
	return ""
}

// interpreterCode returns the words a shell or interpreter runs as code
// (script operands, -c/-e values for non-shells) and whether it reads its
// program from standard input.
func interpreterCode(u *unit) (code []word, stdin bool) {
	args := u.argv[1:]
	if u.prog == "source" || u.prog == "." {
		if len(args) == 0 {
			return nil, false
		}
		switch args[0].str() {
		case "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0", "-":
			return nil, true
		}
		return args[:1], false
	}
	if isShell(u.prog) {
		i := 0
		stdinFlag := false
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
				return nil, false // -c: the script is analyzed by unwrapping
			}
			if s[0] == '-' && strings.Contains(s[1:], "s") {
				stdinFlag = true
			}
			if strings.ContainsAny(s[1:], "oO") {
				i++
			}
			i++
		}
		if stdinFlag || i >= len(args) {
			return nil, true
		}
		return args[i : i+1], false
	}
	spec, ok := interpSpecs[interpKind(u.prog)]
	if !ok {
		return nil, false
	}
	for i := 0; i < len(args); i++ {
		s := args[i].str()
		if s == "-" {
			return nil, true
		}
		if s == "--" {
			if i+1 < len(args) {
				return args[i+1 : i+2], false
			}
			return nil, true
		}
		if len(s) < 2 || s[0] != '-' {
			return args[i : i+1], false
		}
		if strings.HasPrefix(s, "--") || u.prog == "pwsh" || u.prog == "powershell" {
			name, val, eq := strings.Cut(strings.TrimLeft(s, "-"), "=")
			name = strings.ToLower(name)
			if slices.Contains(spec.longCode, name) {
				if eq {
					x := args[i]
					x.vals = []string{val}
					return []word{x}, false
				}
				if i+1 < len(args) {
					return args[i+1 : i+2], false
				}
				return nil, false
			}
			if slices.Contains(spec.longVal, name) && !eq {
				i++
			}
			continue
		}
		for k := 1; k < len(s); k++ {
			c := s[k]
			switch {
			case strings.IndexByte(spec.code, c) >= 0:
				if k < len(s)-1 {
					x := args[i]
					if x.vals != nil {
						x.vals = []string{s[k+1:]}
					}
					return []word{x}, false
				}
				if i+1 < len(args) {
					return args[i+1 : i+2], false
				}
				return nil, false
			case strings.IndexByte(spec.module, c) >= 0:
				return nil, false
			case strings.IndexByte(spec.val, c) >= 0:
				if k == len(s)-1 {
					i++
				}
				k = len(s)
			}
		}
	}
	return nil, true
}

// stdinInterpreter reports a unit that runs the program it reads on stdin.
func stdinInterpreter(u *unit) (string, bool) {
	if !isShell(u.prog) && interpKind(u.prog) == "" && u.prog != "source" && u.prog != "." {
		return "", false
	}
	_, stdin := interpreterCode(u)
	return u.prog, stdin
}

// checkInterpreter reports code that a shell or interpreter gets from a
// download, a decoder, or a here-document.
func (a *analyzer) checkInterpreter(idx int) {
	code, stdin := interpreterCode(&a.units[idx])
	prog := a.units[idx].prog
	for _, w := range code {
		switch {
		case w.sub.fetch != "":
			a.flag(idx, CategoryDownloadExec, Ask, "%s runs code downloaded by %s", prog, w.sub.fetch)
		case w.sub.decode != "":
			a.flag(idx, CategoryObfuscation, Ask, "%s runs code decoded by %s", prog, w.sub.decode)
		}
		for _, v := range w.vals {
			for _, p := range a.absPaths(v) {
				if tool := a.downloads[p]; tool != "" {
					a.flag(idx, CategoryDownloadExec, Ask, "%s runs %s, which %s downloaded earlier in the command", prog, v, tool)
				}
			}
		}
	}
	if prog == "pwsh" || prog == "powershell" {
		for _, w := range a.units[idx].argv[1:] {
			if s := strings.ToLower(w.str()); s == "-encodedcommand" || s == "-enc" || s == "-e" || s == "-ec" {
				a.flag(idx, CategoryObfuscation, Ask, "%s %s runs base64-encoded code", prog, w.str())
			}
		}
	}
	if !stdin {
		return
	}
	text := a.units[idx].text
	redirs := a.units[idx].redirs
	for _, r := range redirs {
		if !r.readsStdin() {
			continue
		}
		var body *word
		switch r.op {
		case syntax.Hdoc, syntax.DashHdoc:
			body = r.hdoc
		case syntax.WordHdoc:
			body = &r.target
		case syntax.RdrIn:
			if r.target.sub.fetch != "" {
				a.flag(idx, CategoryDownloadExec, Ask, "%s runs code downloaded by %s", prog, r.target.sub.fetch)
			} else if r.target.sub.decode != "" {
				a.flag(idx, CategoryObfuscation, Ask, "%s runs code decoded by %s", prog, r.target.sub.decode)
			}
			continue
		}
		if body == nil {
			continue
		}
		if v, ok := body.value(); ok {
			if isShell(prog) {
				a.nestedScript(v, prog+" here-document", text, nil, false)
			}
			continue
		}
		switch {
		case body.sub.fetch != "":
			a.flag(idx, CategoryDownloadExec, Ask, "%s runs code downloaded by %s", prog, body.sub.fetch)
		case body.sub.decode != "":
			a.flag(idx, CategoryObfuscation, Ask, "%s runs code decoded by %s", prog, body.sub.decode)
		case isShell(prog):
			a.flag(idx, CategoryObfuscation, Ask, "%s runs a here-document built at run time", prog)
		}
	}
}

// fetchTools download data from the network.
var fetchTools = []string{"curl", "wget", "fetch", "aria2c", "http", "https", "xh", "lynx", "links", "w3m", "nc", "ncat", "netcat", "socat", "tftp", "ftp"}

// fetchTool returns the name of a download tool unit, or "".
func fetchTool(u *unit) string {
	if slices.Contains(fetchTools, u.prog) {
		return u.prog
	}
	return ""
}

// decoderName returns how a unit decodes its input, or "" when it does not.
func decoderName(u *unit) string {
	args := u.argv[1:]
	flag := func(short string, long ...string) bool { return hasFlag(args, len(args), short, long...) }
	switch p := u.prog; p {
	case "base64", "base32", "basenc":
		if flag("dD", "decode") {
			return p + " -d"
		}
	case "xxd":
		if flag("r", "revert") {
			return "xxd -r"
		}
	case "openssl":
		for _, w := range args {
			if s := w.str(); s == "-d" || s == "-base64" && flag("d") {
				return "openssl -d"
			}
		}
	case "uudecode", "rev", "tr", "gunzip", "zcat", "bzcat", "xzcat", "unxz", "lzcat", "zstdcat", "unzstd":
		return p
	case "gzip", "bzip2", "xz", "zstd", "brotli", "lzma":
		if flag("d", "decompress", "uncompress") {
			return p + " -d"
		}
	case "printf":
		if len(args) > 0 {
			if _, hidden := decodeEscapes(args[0].str(), true); hidden {
				return "printf escapes"
			}
		}
	case "echo":
		if flag("e") {
			for _, w := range args {
				if _, hidden := decodeEscapes(w.str(), false); hidden {
					return "echo -e escapes"
				}
			}
		}
	}
	if k := interpKind(u.prog); k == "python" || k == "perl" || k == "ruby" || k == "node" {
		for _, w := range args {
			s := strings.ToLower(w.str())
			if strings.Contains(s, "b64decode") || strings.Contains(s, "decode(") || strings.Contains(s, "unpack(") ||
				strings.Contains(s, "fromcharcode") || strings.Contains(s, "from(") && strings.Contains(s, "base64") {
				return u.prog + " decoding"
			}
		}
	}
	return ""
}

// staticOutput computes what a unit writes to stdout when its arguments and
// input are known: echo, printf, cat, base64 -d, xxd -r -p, rev.
func staticOutput(u *unit, in flow) (text string, known bool, decoder string) {
	args := u.argv[1:]
	vals := make([]string, 0, len(args))
	for _, w := range args {
		v, ok := w.value()
		if !ok {
			return "", false, ""
		}
		vals = append(vals, v)
	}
	switch u.prog {
	case "echo":
		newline, escapes := true, false
		i := 0
		for ; i < len(vals); i++ {
			v := vals[i]
			if len(v) < 2 || v[0] != '-' || strings.Trim(v[1:], "neE") != "" {
				break
			}
			newline = newline && !strings.Contains(v, "n")
			escapes = strings.Contains(v, "e")
		}
		s := strings.Join(vals[i:], " ")
		if escapes {
			var hidden bool
			s, hidden = decodeEscapes(s, false)
			if hidden {
				decoder = "echo -e escapes"
			}
		}
		if newline {
			s += "\n"
		}
		return s, true, decoder
	case "printf":
		if len(vals) == 0 || vals[0] == "-v" {
			return "", false, ""
		}
		if vals[0] == "--" {
			vals = vals[1:]
		}
		if len(vals) == 0 {
			return "", false, ""
		}
		s, ok := renderPrintf(vals[0], vals[1:])
		if !ok {
			return "", false, ""
		}
		if _, hidden := decodeEscapes(vals[0], true); hidden {
			decoder = "printf escapes"
		}
		return s, true, decoder
	case "cat", "tee":
		if u.prog == "cat" && len(operands(args, "")) > 0 && !(len(vals) == 1 && vals[0] == "-") {
			return "", false, ""
		}
		return in.text, in.known, ""
	case "base64":
		if !hasFlag(args, len(args), "dD", "decode") || len(operands(args, "w", "wrap")) > 0 || !in.known {
			return "", false, ""
		}
		clean := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
				return -1
			}
			return r
		}, in.text)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(clean); err == nil {
				return string(b), true, "base64 -d"
			}
		}
		return "", false, ""
	case "xxd":
		if !in.known || !hasFlag(args, len(args), "r") || !hasFlag(args, len(args), "p", "ps", "postscript", "plain") {
			return "", false, ""
		}
		clean := strings.Join(strings.Fields(in.text), "")
		b, err := hex.DecodeString(clean)
		if err != nil {
			return "", false, ""
		}
		return string(b), true, "xxd -r"
	case "rev":
		if !in.known || len(operands(args, "")) > 0 {
			return "", false, ""
		}
		lines := strings.Split(strings.TrimSuffix(in.text, "\n"), "\n")
		for i, l := range lines {
			r := []rune(l)
			slices.Reverse(r)
			lines[i] = string(r)
		}
		return strings.Join(lines, "\n") + "\n", true, "rev"
	}
	return "", false, ""
}

// renderPrintf renders a printf format with %s, %b, %d, %c and %% only,
// reusing the format while arguments remain, as printf does.
func renderPrintf(format string, args []string) (string, bool) {
	var b strings.Builder
	for round := 0; round < 64; round++ {
		used := 0
		chunk := 0
		for i := 0; i < len(format); i++ {
			if format[i] != '%' {
				continue
			}
			lit, _ := decodeEscapes(format[chunk:i], true)
			b.WriteString(lit)
			if i+1 >= len(format) {
				return "", false
			}
			i++
			chunk = i + 1
			switch format[i] {
			case '%':
				b.WriteByte('%')
			case 's', 'b', 'd', 'c':
				arg := ""
				if len(args) > 0 {
					arg, args = args[0], args[1:]
					used++
				}
				if format[i] == 'b' {
					arg, _ = decodeEscapes(arg, false)
				}
				if format[i] == 'c' && arg != "" {
					arg = arg[:1]
				}
				b.WriteString(arg)
			default:
				return "", false
			}
		}
		lit, _ := decodeEscapes(format[chunk:], true)
		b.WriteString(lit)
		if used == 0 || len(args) == 0 {
			break
		}
	}
	return b.String(), true
}

// checkDownload records files curl and wget write, so that running them
// later in the same command is a download-exec finding, and checks where
// they are written.
func (a *analyzer) checkDownload(idx int) {
	u := &a.units[idx]
	prog := u.prog
	args := u.argv[1:]
	record := func(w *word) {
		a.checkWrite(idx, "", w, prog+" writes")
		for _, v := range w.vals {
			for _, p := range a.absPaths(v) {
				if p != "" {
					if a.downloads == nil {
						a.downloads = make(map[string]string)
					}
					a.downloads[p] = prog
				}
			}
		}
	}
	remoteNames := func() {
		for _, w := range args {
			if v, ok := w.value(); ok && strings.Contains(v, "://") {
				rest := v[strings.Index(v, "://")+3:]
				rest, _, _ = strings.Cut(rest, "?")
				if _, p, ok := strings.Cut(rest, "/"); ok && path.Base(p) != "." && path.Base(p) != "/" && p != "" {
					x := litWord(path.Base(p))
					record(&x)
				}
			}
		}
	}
	wroteStdout := false
	named := false
	for i := 0; i < len(args); i++ {
		s := args[i].str()
		var val *word
		if i+1 < len(args) {
			val = &args[i+1]
		}
		switch {
		case prog == "curl" && (s == "-o" || s == "--output"):
			if val != nil {
				if v, _ := val.value(); v != "-" {
					record(val)
				}
				named = true
				i++
			}
		case prog == "curl" && (s == "-O" || s == "--remote-name" || s == "--remote-name-all"):
			named = true
			remoteNames()
		case prog == "curl" && s == "--output-dir" && val != nil:
			a.checkWrite(idx, "", val, "curl writes into")
			i++
		case prog == "wget" && (s == "-O" || s == "--output-document"):
			if val != nil {
				if v, _ := val.value(); v == "-" {
					wroteStdout = true
				} else {
					record(val)
				}
				named = true
				i++
			}
		case prog == "wget" && (s == "-P" || s == "--directory-prefix") && val != nil:
			a.checkWrite(idx, "", val, "wget writes into")
			named = true
			i++
		case prog == "wget" && strings.HasPrefix(s, "--output-document="):
			v := strings.TrimPrefix(s, "--output-document=")
			if v == "-" {
				wroteStdout = true
			} else {
				x := litWord(v)
				record(&x)
			}
			named = true
		case prog == "wget" && len(s) > 2 && s[0] == '-' && s[1] != '-' && strings.Contains(s, "O"):
			rest := s[strings.IndexByte(s, 'O')+1:]
			if rest == "" && val != nil {
				if v, _ := val.value(); v == "-" {
					wroteStdout = true
				} else {
					record(val)
				}
				i++
			} else if rest == "-" {
				wroteStdout = true
			} else if rest != "" {
				x := litWord(rest)
				record(&x)
			}
			named = true
		case prog == "curl" && len(s) > 2 && s[0] == '-' && s[1] != '-' && strings.ContainsAny(s, "oO"):
			if strings.HasSuffix(s, "o") && val != nil {
				record(val)
				i++
			} else if strings.Contains(s, "O") {
				remoteNames()
			}
			named = true
		}
	}
	if prog == "wget" && !named && !wroteStdout {
		remoteNames()
	}
}

// gitCommand splits git's global options from its subcommand.
func gitCommand(args []word) (sub string, rest []word, configs []string) {
	i := 0
	for i < len(args) {
		s := args[i].str()
		switch {
		case s == "-C" || s == "--git-dir" || s == "--work-tree" || s == "--namespace" || s == "--config-env":
			i += 2
			continue
		case s == "-c":
			if i+1 < len(args) {
				configs = append(configs, args[i+1].str())
			}
			i += 2
			continue
		case strings.HasPrefix(s, "-"):
			i++
			continue
		}
		return s, args[i+1:], configs
	}
	return "", nil, configs
}

// hookKeys are git settings that name programs git runs.
var hookKeys = []string{"core.hookspath", "core.fsmonitor", "core.sshcommand", "core.pager", "core.editor", "diff.external"}

func hookKey(k string) bool {
	k = strings.ToLower(k)
	if strings.HasPrefix(k, "alias.") || strings.HasPrefix(k, "filter.") {
		return true
	}
	return slices.Contains(hookKeys, k)
}

// checkGit reports force pushes, settings that make git run programs, and
// clones outside the workspace.
func (a *analyzer) checkGit(idx int) {
	sub, rest, configs := gitCommand(a.units[idx].argv[1:])
	for _, c := range configs {
		k, _, _ := strings.Cut(c, "=")
		if hookKey(k) {
			a.flag(idx, CategoryGitHookWrite, Ask, "git -c %s makes git run a program of the command's choosing", k)
		}
	}
	switch sub {
	case "push":
		a.checkPush(idx, rest)
	case "config":
		ops := operands(rest, "f", "file", "blob", "type", "default", "comment")
		if len(ops) >= 2 && hookKey(ops[0].str()) {
			a.flag(idx, CategoryGitHookWrite, Ask, "git config %s %s makes git run a program of the command's choosing", ops[0].str(), ops[1].disp)
		}
	case "clone":
		ops := operands(rest, "bocju", "branch", "origin", "config", "jobs", "upload-pack", "depth",
			"template", "reference", "separate-git-dir", "filter", "shallow-since", "shallow-exclude")
		if len(ops) >= 2 {
			a.checkWrite(idx, "", &ops[1], "git clone writes")
		}
	}
}

// checkPush reports git push --force and its equivalents.
func (a *analyzer) checkPush(idx int, args []word) {
	for i := 0; i < len(args); i++ {
		s := args[i].str()
		switch {
		case s == "--force" || strings.HasPrefix(s, "--force-with-lease") || s == "--force-if-includes":
			a.flag(idx, CategoryForcePush, Ask, "git push %s overwrites remote history", s)
			return
		case s == "--mirror":
			a.flag(idx, CategoryForcePush, Ask, "git push --mirror overwrites and deletes remote refs")
			return
		case s == "--delete":
			a.flag(idx, CategoryForcePush, Ask, "git push --delete deletes remote branches")
			return
		case s == "-o" || s == "--push-option" || s == "--repo" || s == "--receive-pack" || s == "--exec":
			i++
		case strings.HasPrefix(s, "--"):
		case len(s) > 1 && s[0] == '-':
			if strings.Contains(s, "f") {
				a.flag(idx, CategoryForcePush, Ask, "git push %s overwrites remote history", s)
				return
			}
			if strings.Contains(s, "d") {
				a.flag(idx, CategoryForcePush, Ask, "git push %s deletes remote branches", s)
				return
			}
		case strings.HasPrefix(s, "+"):
			a.flag(idx, CategoryForcePush, Ask, "git push %s force-updates the remote ref", s)
			return
		case strings.HasPrefix(s, ":") && len(s) > 1:
			a.flag(idx, CategoryForcePush, Ask, "git push %s deletes the remote ref", s)
			return
		}
	}
}

// checkPublish reports commands that upload packages or images.
func (a *analyzer) checkPublish(idx int) {
	u := &a.units[idx]
	args := u.argv[1:]
	ops := operands(args, "wCp", "registry", "prefix", "workspace", "userconfig", "cache", "loglevel",
		"otp", "tag", "access", "filter", "dir", "cwd", "repository", "repository-url", "config-file", "token")
	op := func(i int) string {
		if i < len(ops) {
			return ops[i].str()
		}
		return ""
	}
	what := ""
	switch p := u.prog; p {
	case "npm", "pnpm", "bun":
		if op(0) == "publish" || op(0) == "unpublish" {
			what = p + " " + op(0)
		}
	case "yarn":
		if op(0) == "publish" || op(0) == "npm" && op(1) == "publish" {
			what = "yarn " + strings.TrimSpace(op(0)+" "+op(1))
		}
	case "cargo", "poetry", "uv", "hatch", "flit", "vsce", "ovsx":
		if op(0) == "publish" {
			what = p + " publish"
		}
	case "twine":
		if op(0) == "upload" {
			what = "twine upload"
		}
	case "gem", "helm":
		if op(0) == "push" {
			what = p + " push"
		}
	case "dotnet":
		if op(0) == "nuget" && op(1) == "push" {
			what = "dotnet nuget push"
		}
	case "mvn", "gradle", "gradlew":
		for _, o := range ops {
			if s := o.str(); s == "deploy" || strings.HasPrefix(s, "publish") {
				what = p + " " + s
			}
		}
	case "gh":
		if op(0) == "release" && (op(1) == "create" || op(1) == "upload") {
			what = "gh release " + op(1)
		}
	}
	if what != "" {
		a.flag(idx, CategoryPublish, Ask, "%s publishes to a public registry", what)
	}
}

// dockerGlobalVal are docker's global options that take a value.
var dockerGlobalVal = []string{"H", "host", "context", "c", "config", "l", "log-level", "tlscacert", "tlscert", "tlskey"}

// dockerRunVal are docker run/create options that take a value.
var dockerRunVal = []string{
	"a", "attach", "add-host", "annotation", "blkio-weight", "c", "cpu-shares", "cap-add", "cap-drop",
	"cgroup-parent", "cgroupns", "cidfile", "cpus", "cpuset-cpus", "cpuset-mems", "device",
	"device-cgroup-rule", "dns", "dns-option", "dns-search", "domainname", "e", "env", "env-file",
	"entrypoint", "expose", "gpus", "group-add", "h", "hostname", "health-cmd", "health-interval",
	"health-retries", "health-start-period", "health-timeout", "ip", "ip6", "ipc", "isolation",
	"kernel-memory", "l", "label", "label-file", "link", "log-driver", "log-opt", "mac-address", "m",
	"memory", "memory-reservation", "memory-swap", "mount", "name", "network", "net", "network-alias",
	"oom-score-adj", "p", "publish", "pid", "pids-limit", "platform", "pull", "restart", "runtime",
	"security-opt", "shm-size", "stop-signal", "stop-timeout", "storage-opt", "sysctl", "tmpfs", "u",
	"user", "ulimit", "userns", "uts", "v", "volume", "volumes-from", "w", "workdir", "detach-keys",
}

// dangerousCaps are capabilities that let a container reach the host.
var dangerousCaps = []string{"ALL", "SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH", "DAC_OVERRIDE", "SYS_RAWIO", "NET_ADMIN", "BPF", "SYS_BOOT"}

// checkContainer reports image pushes and container options that give the
// container the host.
func (a *analyzer) checkContainer(idx int) {
	u := &a.units[idx]
	args := u.argv[1:]
	i := 0
	for i < len(args) {
		s := args[i].str()
		if !strings.HasPrefix(s, "-") {
			break
		}
		name, _, eq := strings.Cut(strings.TrimLeft(s, "-"), "=")
		if !eq && slices.Contains(dockerGlobalVal, name) {
			i++
		}
		i++
	}
	if i >= len(args) {
		return
	}
	sub := args[i].str()
	rest := args[i+1:]
	if (sub == "container" || sub == "image") && len(rest) > 0 {
		sub, rest = rest[0].str(), rest[1:]
	}
	switch sub {
	case "push":
		a.flag(idx, CategoryPublish, Ask, "%s push uploads an image to a registry", u.prog)
	case "buildx", "build":
		for _, w := range rest {
			if s := w.str(); s == "--push" || strings.Contains(s, "type=registry") {
				a.flag(idx, CategoryPublish, Ask, "%s %s --push uploads an image to a registry", u.prog, sub)
				break
			}
		}
	case "run", "create", "exec":
		a.checkRunOpts(idx, sub, rest)
	}
}

func (a *analyzer) checkRunOpts(idx int, sub string, args []word) {
	prog := a.units[idx].prog
	for i := 0; i < len(args); i++ {
		s := args[i].str()
		if !strings.HasPrefix(s, "-") || s == "-" {
			return // the image or container: the rest is the command
		}
		if s == "--" {
			return
		}
		var name, val string
		hasVal := false
		if strings.HasPrefix(s, "--") {
			var eq bool
			name, val, eq = strings.Cut(s[2:], "=")
			if !eq && slices.Contains(dockerRunVal, name) && i+1 < len(args) {
				i++
				val = args[i].str()
			}
			hasVal = eq || slices.Contains(dockerRunVal, name)
		} else {
			for k := 1; k < len(s); k++ {
				if slices.Contains(dockerRunVal, string(s[k])) {
					name = string(s[k])
					if k < len(s)-1 {
						val = s[k+1:]
					} else if i+1 < len(args) {
						i++
						val = args[i].str()
					}
					hasVal = true
					break
				}
			}
		}
		switch name {
		case "privileged":
			if !hasVal || val == "true" {
				a.flag(idx, CategoryContainerEscape, Ask, "%s %s --privileged gives the container full access to the host", prog, sub)
			}
		case "pid", "ipc", "uts", "userns", "cgroupns", "network", "net":
			if val == "host" {
				a.flag(idx, CategoryContainerEscape, Ask, "%s %s --%s=host shares the host's %s namespace", prog, sub, name, name)
			}
		case "cap-add":
			c := strings.TrimPrefix(strings.ToUpper(val), "CAP_")
			if slices.Contains(dangerousCaps, c) {
				a.flag(idx, CategoryContainerEscape, Ask, "%s %s --cap-add=%s lets the container reach the host", prog, sub, c)
			}
		case "security-opt":
			if strings.Contains(val, "unconfined") || strings.Contains(val, "disable") || val == "no-new-privileges=false" {
				a.flag(idx, CategoryContainerEscape, Ask, "%s %s --security-opt %s turns confinement off", prog, sub, val)
			}
		case "device":
			a.flag(idx, CategoryContainerEscape, Ask, "%s %s --device %s gives the container a host device", prog, sub, val)
		case "v", "volume":
			src, _, _ := strings.Cut(val, ":")
			a.checkMount(idx, src)
		case "mount":
			for _, kv := range strings.Split(val, ",") {
				if k, v, ok := strings.Cut(kv, "="); ok && (k == "source" || k == "src") {
					a.checkMount(idx, v)
				}
			}
		}
	}
}

// checkMount reports a host path mounted into a container that exposes
// the host: the root, system directories, the runtime socket, the home
// directory or credentials.
func (a *analyzer) checkMount(idx int, src string) {
	if src == "" || !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, "~") && !strings.HasPrefix(src, ".") {
		return // a named volume
	}
	if strings.HasPrefix(src, "~") {
		src = a.e.opts.Home + src[1:]
	}
	prog := a.units[idx].prog
	for _, p := range a.absPaths(src) {
		if p == "" {
			continue
		}
		if runtimeSocket(p) {
			a.flag(idx, CategoryContainerEscape, Ask, "%s mounts the container runtime socket %s, which controls the host", prog, p)
			return
		}
		if _, ok := a.credential(p); ok {
			a.flag(idx, CategoryContainerEscape, Ask, "%s mounts the credentials in %s into the container", prog, p)
			return
		}
		if what, ok := a.protected(p); ok && !within(p, a.e.opts.Workspace) && !slices.Contains(harmlessMounts, p) || within(p, "/var/lib/docker") {
			if what == "" {
				what = p
			}
			a.flag(idx, CategoryContainerEscape, Ask, "%s mounts %s into the container", prog, what)
			return
		}
	}
}

// harmlessMounts are system directories that give a container nothing of
// the host's.
var harmlessMounts = []string{"/tmp", "/var/tmp", "/mnt", "/media", "/opt", "/srv"}

// netTools connect to the hosts named in their arguments.
var netTools = map[string]bool{
	"curl": true, "wget": true, "nc": true, "ncat": true, "netcat": true, "nc.openbsd": true,
	"nc.traditional": true, "socat": true, "ssh": true, "scp": true, "sftp": true, "rsync": true,
	"telnet": true, "ftp": true, "lftp": true, "http": true, "https": true, "xh": true,
	"aria2c": true, "nmap": true, "mosh": true, "openssl": true, "tftp": true,
}

// urlTools take URLs among other arguments.
var urlTools = map[string]bool{"git": true, "pip": true, "pip3": true, "npm": true, "yarn": true, "pnpm": true, "helm": true, "uv": true}

// checkRawIP reports network tools aimed at an IP address instead of a
// host name: that skips DNS-based egress rules and is typical of payload
// servers and reverse shells. Loopback is fine.
func (a *analyzer) checkRawIP(idx int) {
	u := &a.units[idx]
	onlyURLs := urlTools[u.prog]
	for _, w := range u.argv[1:] {
		s := w.str()
		if strings.HasPrefix(s, "-") {
			_, v, ok := strings.Cut(s, "=")
			if !ok {
				continue
			}
			s = v
		}
		if onlyURLs && !strings.Contains(s, "://") {
			continue
		}
		for _, h := range hostsIn(s) {
			if ip, ok := rawIP(h.host, h.url); ok {
				a.flag(idx, CategoryRawIPNetwork, Ask, "%s connects to the IP address %s instead of a host name", u.prog, ip)
				return
			}
		}
	}
}

type hostRef struct {
	host string
	url  bool
}

// hostsIn returns the host names an argument may name: the host of a URL,
// the host of user@host:path, and each field of host:port or socat's
// TCP:host:port.
func hostsIn(s string) []hostRef {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			rest = rest[:j]
		}
		if j := strings.LastIndex(rest, "@"); j >= 0 {
			rest = rest[j+1:]
		}
		if strings.HasPrefix(rest, "[") {
			if j := strings.Index(rest, "]"); j > 0 {
				return []hostRef{{rest[1:j], true}}
			}
		}
		if strings.Count(rest, ":") == 1 {
			rest, _, _ = strings.Cut(rest, ":")
		}
		return []hostRef{{rest, true}}
	}
	if j := strings.LastIndex(s, "@"); j >= 0 {
		s = s[j+1:]
	}
	out := []hostRef{{strings.Trim(s, "[]"), false}}
	if strings.ContainsAny(s, ":,") {
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == '=' }) {
			out = append(out, hostRef{strings.Trim(f, "[]"), false})
		}
		if strings.HasPrefix(s, "[") {
			if j := strings.Index(s, "]"); j > 0 {
				out = append(out, hostRef{s[1:j], false})
			}
		}
	}
	return out
}

// rawIP reports an IP address literal that is not loopback or unspecified.
// In URLs the numeric forms browsers and curl accept (2130706433,
// 0x7f000001, 0177.0.0.1) count too.
func rawIP(h string, inURL bool) (string, bool) {
	if h == "" {
		return "", false
	}
	addr, err := netip.ParseAddr(h)
	if err != nil && inURL {
		addr, err = numericIPv4(h)
	}
	if err != nil {
		return "", false
	}
	if addr.IsLoopback() || addr.IsUnspecified() {
		return "", false
	}
	return addr.String(), true
}

type errNotIP struct{}

func (errNotIP) Error() string { return "not an IP address" }

// numericIPv4 parses the inet_aton forms: 1 to 4 parts, each decimal,
// octal (leading 0) or hexadecimal (0x).
func numericIPv4(h string) (netip.Addr, error) {
	parts := strings.Split(h, ".")
	if len(parts) > 4 || len(parts) == 0 {
		return netip.Addr{}, errNotIP{}
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 0, 32)
		if err != nil || p == "" || strings.Contains(p, "_") {
			return netip.Addr{}, errNotIP{}
		}
		nums[i] = n
	}
	var v uint64
	last := len(nums) - 1
	for i := 0; i < last; i++ {
		if nums[i] > 255 {
			return netip.Addr{}, errNotIP{}
		}
		v |= nums[i] << (24 - 8*i)
	}
	if nums[last] >= 1<<(8*(4-last)) {
		return netip.Addr{}, errNotIP{}
	}
	v |= nums[last]
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), nil
}
