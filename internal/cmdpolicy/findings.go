package cmdpolicy

import (
	"path"
	"slices"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Finding categories. They are stable identifiers: policies, logs and tests
// refer to them.
const (
	CategoryPrivilegeEscalation   = "privilege-escalation"
	CategoryDestructive           = "destructive"
	CategoryStartupFileWrite      = "startup-file-write"
	CategoryGitHookWrite          = "git-hook-write"
	CategoryDownloadExec          = "download-exec"
	CategoryRawIPNetwork          = "raw-ip-network"
	CategoryDisableSafety         = "disable-safety"
	CategoryCredentialAccess      = "credential-access"
	CategoryPublish               = "publish"
	CategoryForcePush             = "force-push"
	CategoryContainerEscape       = "container-escape"
	CategoryInsecurePermissions   = "insecure-permissions"
	CategoryObfuscation           = "obfuscation"
	CategoryDeviceWrite           = "device-write"
	CategoryWriteOutsideWorkspace = "write-outside-workspace"
	CategoryParseError            = "parse-error"
)

// Categories returns every finding category, in a fixed order.
func Categories() []string {
	return []string{
		CategoryPrivilegeEscalation, CategoryDestructive, CategoryStartupFileWrite,
		CategoryGitHookWrite, CategoryDownloadExec, CategoryRawIPNetwork, CategoryDisableSafety,
		CategoryCredentialAccess, CategoryPublish, CategoryForcePush, CategoryContainerEscape,
		CategoryInsecurePermissions, CategoryObfuscation, CategoryDeviceWrite,
		CategoryWriteOutsideWorkspace, CategoryParseError,
	}
}

// progName returns the base name a program is known by.
func progName(p string) string {
	if p == "" {
		return ""
	}
	b := path.Base(p)
	if b == "/" || b == "." && p != "." {
		return p
	}
	return b
}

// checkUnit runs the checks that look at one simple command's own words.
// It adds findings but never units.
func (a *analyzer) checkUnit(idx int) {
	u := &a.units[idx]
	prog := u.prog
	a.genericArgs(idx)
	if prog == "" {
		return
	}
	if p, ok := u.argv[0].value(); ok && strings.Contains(p, "/") {
		for _, abs := range a.absPaths(p) {
			if tool := a.downloads[abs]; tool != "" {
				a.flag(idx, CategoryDownloadExec, Ask, "runs %s, which %s downloaded earlier in the command", p, tool)
			}
		}
	}
	if n := len(a.funcs); n > 0 && prog == a.funcs[n-1] && a.async > 0 {
		a.flag(idx, CategoryDestructive, Deny, "fork bomb: the function %s starts copies of itself in a pipeline or in the background", prog)
	}
	args := u.argv[1:]
	switch prog {
	case "cd":
		a.chdir(args)
	case "pushd":
		a.dirStack = append(a.dirStack, a.cwd)
		a.chdir(args)
	case "popd":
		if n := len(a.dirStack); n > 0 {
			a.cwd, a.dirStack = a.dirStack[n-1], a.dirStack[:n-1]
		} else {
			a.cwd = []string{""}
		}
	case "sudo", "doas", "pkexec", "run0", "sudoedit", "su", "runuser":
		a.checkPrivilege(idx)
	case "setcap":
		a.flag(idx, CategoryPrivilegeEscalation, Ask, "setcap grants Linux capabilities to a program")
	case "visudo":
		a.flag(idx, CategoryPrivilegeEscalation, Ask, "visudo edits who may use sudo")
	case "usermod", "gpasswd", "adduser", "addgroup", "useradd":
		a.checkGroups(idx)
	case "chown", "chgrp":
		a.checkChown(idx)
	case "chmod":
		a.checkChmod(idx)
	case "rm", "unlink", "rmdir", "shred", "srm", "wipe":
		a.checkRm(idx)
	case "find":
		a.checkFind(idx)
	case "mv", "cp", "install", "ln", "rsync", "scp":
		a.checkCopy(idx)
	case "dd":
		a.checkDd(idx)
	case "tee":
		for _, w := range operands(args, "") {
			a.checkWrite(idx, "", &w, "tee writes")
		}
	case "touch", "mkdir", "truncate", "mkfifo", "mknod":
		for _, w := range operands(args, "mdrtsZ", "mode", "reference", "date", "size", "context") {
			a.checkWrite(idx, "", &w, prog+" writes")
		}
	case "sed", "perl":
		a.checkInPlace(idx)
	case "tar":
		a.checkTar(idx)
	case "unzip":
		for i, w := range args {
			if w.str() == "-d" && i+1 < len(args) {
				a.checkWrite(idx, "", &args[i+1], "unzip extracts into")
			}
		}
	case "curl", "wget":
		a.checkDownload(idx)
	case "git":
		a.checkGit(idx)
	case "docker", "podman", "nerdctl", "buildah":
		a.checkContainer(idx)
	case "nsenter":
		a.flag(idx, CategoryContainerEscape, Ask, "nsenter enters the namespaces of another process")
	case "chroot":
		a.flag(idx, CategoryContainerEscape, Ask, "chroot changes the root directory")
	case "mount":
		if len(operands(args, "tOoL")) > 0 {
			a.flag(idx, CategoryContainerEscape, Ask, "mount attaches a file system (%s)", joinDisp(args))
		}
	case "kill", "pkill", "killall", "skill", "pgrep":
		if prog != "pgrep" {
			a.checkKill(idx)
		}
	case "unset":
		for _, w := range operands(args, "") {
			a.checkVar(w.str(), nil, "unset", u.text)
		}
	case "set":
		for i, w := range args {
			if w.str() == "+o" && i+1 < len(args) && args[i+1].str() == "history" {
				a.flag(idx, CategoryDisableSafety, Ask, "set +o history turns the shell history off")
			}
		}
	case "history":
		if hasFlag(args, len(args), "cd") {
			a.flag(idx, CategoryDisableSafety, Ask, "history %s erases the shell history", joinDisp(args))
		}
	case "setenforce", "ufw", "iptables", "ip6tables", "iptables-legacy", "ip6tables-legacy",
		"iptables-nft", "ip6tables-nft", "nft", "systemctl", "service", "aa-teardown", "aa-disable",
		"aa-complain", "auditctl", "sysctl":
		a.checkSafety(idx)
	case "crontab":
		if ops := operands(args, "u"); len(ops) > 0 || !hasFlag(args, len(args), "lr") {
			a.flag(idx, CategoryStartupFileWrite, Ask, "crontab installs commands that run on a schedule")
		}
	case "umask":
		if ops := operands(args, ""); len(ops) == 1 {
			if v, err := strconv.ParseUint(ops[0].str(), 8, 32); err == nil && v&0o002 == 0 {
				a.flag(idx, CategoryInsecurePermissions, Ask, "umask %s makes new files writable by everyone", ops[0].str())
			}
		}
	case "echo", "printf", "printenv":
		a.checkSecretPrint(idx)
	case "npm", "yarn", "pnpm", "bun", "cargo", "twine", "gem", "poetry", "uv", "hatch", "flit",
		"helm", "dotnet", "mvn", "gh", "vsce", "ovsx", "gradle", "gradlew":
		a.checkPublish(idx)
	case "mkfs", "mke2fs", "mkswap", "wipefs", "fdisk", "sfdisk", "cfdisk", "parted", "sgdisk",
		"gdisk", "blkdiscard":
		a.checkDisk(idx)
	}
	if strings.HasPrefix(prog, "mkfs.") {
		a.checkDisk(idx)
	}
	if isShell(prog) || interpKind(prog) != "" || prog == "source" || prog == "." {
		a.checkInterpreter(idx)
	}
}

// chdir follows cd: the new working directories are every value of the
// operand resolved against every current one.
func (a *analyzer) chdir(args []word) {
	ops := operands(args, "")
	if len(ops) == 0 {
		a.cwd = []string{a.e.opts.Home}
		return
	}
	w := ops[0]
	if w.vals == nil || w.str() == "-" {
		a.cwd = []string{""}
		return
	}
	var next []string
	for _, v := range w.vals {
		for _, p := range a.absPaths(v) {
			next = dirUnion(next, []string{p})
		}
	}
	a.cwd = next
}

// operands returns the non-option words of args. shortVal and longVal name
// the options that take a value, as for skipOpts; options may come after
// operands, as GNU tools allow.
func operands(args []word, shortVal string, longVal ...string) []word {
	var out []word
	for i := 0; i < len(args); i++ {
		s := args[i].str()
		if s == "--" {
			return append(out, args[i+1:]...)
		}
		if len(s) < 2 || s[0] != '-' {
			out = append(out, args[i])
			continue
		}
		if strings.HasPrefix(s, "--") {
			name, _, eq := strings.Cut(s[2:], "=")
			if !eq && slices.Contains(longVal, name) {
				i++
			}
			continue
		}
		for k := 1; k < len(s); k++ {
			if strings.IndexByte(shortVal, s[k]) >= 0 {
				if k == len(s)-1 {
					i++
				}
				break
			}
		}
	}
	return out
}

// credentialExempt are programs that take key files to use them, or look
// only at names and metadata, not at the content.
var credentialExempt = map[string]bool{
	"ls": true, "stat": true, "test": true, "[": true, "[[": true, "file": true, "du": true,
	"wc": true, "realpath": true, "readlink": true, "basename": true, "dirname": true,
	"find": true, "which": true, "type": true, "chmod": true, "chown": true, "chgrp": true,
	"touch": true, "mkdir": true, "rm": true, "rmdir": true, "unlink": true, "shred": true,
	"echo": true, "printf": true, "ssh": true, "ssh-add": true, "ssh-keygen": true,
	"ssh-copy-id": true, "source": true, ".": true, "tee": true, "mv": true, "ln": true,
	"sudo": true, "doas": true, "env": true, "nice": true, "nohup": true, "timeout": true,
	"time": true, "command": true, "exec": true, "xargs": true, "export": true,
}

// copyTools take sources first and a destination last.
var copyTools = map[string]bool{"cp": true, "mv": true, "install": true, "ln": true, "rsync": true, "scp": true}

// runtimeSockets are the sockets of container runtimes: whoever talks to
// them controls the host.
var runtimeSockets = []string{"docker.sock", "containerd.sock", "podman.sock", "crio.sock", "cri-dockerd.sock", "buildkitd.sock"}

// genericArgs checks every word of a unit for raw network devices,
// container runtime sockets, credential files and raw IP addresses.
func (a *analyzer) genericArgs(idx int) {
	u := &a.units[idx]
	prog := u.prog
	args := u.argv[1:]
	last := -1
	if copyTools[prog] {
		ops := operands(args, "tSgmoeFiJlP")
		if len(ops) > 0 {
			last = ops[len(ops)-1].start
		}
	}
	sockExempt := prog == "ls" || prog == "stat" || prog == "test" || prog == "[" || prog == "docker" || prog == "podman"
	skipNext := false
	netDone, sockDone := false, false
	for i := range args {
		w := &args[i]
		for _, v := range w.vals {
			if host, ok := devTCP(v); ok && !netDone {
				a.flag(idx, CategoryRawIPNetwork, Ask, "%s opens a network connection to %s through /dev/tcp", prog, host)
				netDone = true
			}
			if !sockExempt && !sockDone && runtimeSocket(v) {
				a.flag(idx, CategoryContainerEscape, Ask, "%s talks to the container runtime socket in %s", prog, v)
				sockDone = true
			}
		}
		if credentialExempt[prog] || prog == "" {
			continue
		}
		if skipNext {
			skipNext = false
			continue
		}
		s := w.str()
		switch s {
		case "-i", "--identity", "--identity-file", "--env-file", "--key", "--cert", "--cacert":
			// A key or environment file handed to a tool that uses it.
			skipNext = s != "-i" || prog == "scp" || prog == "sftp"
			continue
		}
		cands := w.vals
		if strings.HasPrefix(s, "-") {
			_, v, ok := strings.Cut(s, "=")
			if !ok || strings.HasPrefix(s, "--env-file") {
				continue
			}
			if strings.HasPrefix(v, "~/") {
				v = a.e.opts.Home + v[1:]
			}
			cands = []string{v}
		}
		if copyTools[prog] && w.start == last && last >= 0 {
			continue
		}
		for _, v := range cands {
			// curl -d @FILE, -F name=@FILE, --data-binary @~/FILE
			if at := strings.IndexByte(v, '@'); at == 0 || at > 0 && v[at-1] == '=' {
				v = v[at+1:]
				if strings.HasPrefix(v, "~/") {
					v = a.e.opts.Home + v[1:]
				}
			}
			if what, ok := a.credentialAt(v); ok {
				a.flag(idx, CategoryCredentialAccess, Ask, "%s reads %s (%s)", prog, v, what)
				break
			}
		}
	}
	if netTools[prog] || urlTools[prog] {
		a.checkRawIP(idx)
	}
}

// credentialAt classifies a path as written, relative or absolute.
func (a *analyzer) credentialAt(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	for _, p := range a.absPaths(v) {
		if p == "" {
			p = v
		}
		if what, ok := a.credential(p); ok {
			return what, true
		}
	}
	return "", false
}

// devTCP recognizes bash's /dev/tcp/HOST/PORT and /dev/udp/HOST/PORT.
func devTCP(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "/dev/tcp/")
	if !ok {
		rest, ok = strings.CutPrefix(p, "/dev/udp/")
	}
	if !ok {
		return "", false
	}
	host, port, _ := strings.Cut(rest, "/")
	if port != "" {
		return host + ":" + port, true
	}
	return host, true
}

func runtimeSocket(v string) bool {
	for _, s := range runtimeSockets {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}

// checkWrite classifies a file a unit writes. unit is -1 for a
// redirection, whose text is given. A target whose value cannot be known
// statically is not judged (see the package documentation).
func (a *analyzer) checkWrite(unit int, text string, w *word, verb string) {
	for _, v := range w.vals {
		if host, ok := devTCP(v); ok {
			if unit < 0 {
				a.add(unit, CategoryRawIPNetwork, Ask, text, "%s to %s through /dev/tcp, a raw network connection", verb, host)
			}
			continue
		}
		for _, p := range a.absPaths(v) {
			a.classifyWrite(unit, text, p, v, verb)
		}
	}
}

// classifyWrite reports a write to path p (written as orig).
func (a *analyzer) classifyWrite(unit int, text, p, orig, verb string) {
	ws := a.e.opts.Workspace
	if p == "" {
		a.add(unit, CategoryWriteOutsideWorkspace, Ask, text, "%s %s relative to a working directory that cannot be known statically", verb, orig)
		return
	}
	switch {
	case benignDevice(p):
		return
	case blockDevice(p):
		a.add(unit, CategoryDeviceWrite, Deny, text, "%s %s, a disk or memory device", verb, p)
		return
	case strings.HasPrefix(p, "/dev/"):
		a.add(unit, CategoryDeviceWrite, Ask, text, "%s the device %s", verb, p)
		return
	}
	if what, ok := a.startupFile(p); ok {
		a.add(unit, CategoryStartupFileWrite, Ask, text, "%s %s", verb, what)
		return
	}
	if what, ok := gitHook(p); ok {
		a.add(unit, CategoryGitHookWrite, Ask, text, "%s %s", verb, what)
		return
	}
	if within(p, "/etc/sudoers") || within(p, "/etc/sudoers.d") {
		a.add(unit, CategoryPrivilegeEscalation, Ask, text, "%s %s, which says who may use sudo", verb, p)
		return
	}
	if within(p, ws) || a.inTemp(p) {
		return
	}
	if airlockPath(p) {
		a.add(unit, CategoryDisableSafety, Ask, text, "%s %s, which belongs to the airlock sandbox", verb, p)
		return
	}
	a.add(unit, CategoryWriteOutsideWorkspace, Ask, text, "%s %s, outside the workspace %s", verb, p, ws)
}

// checkDelete classifies a path a unit deletes; recursive deletions of
// protected directories are Deny.
func (a *analyzer) checkDelete(idx int, w *word, recursive bool, verb string) {
	if w.vals == nil {
		if recursive && w.leadVar != "" && strings.Contains(w.disp, "/") {
			if _, known := a.lookup(w.leadVar); !known {
				a.flag(idx, CategoryDestructive, Ask, "%s %s: if $%s is empty or unset this deletes from /", verb, w.disp, w.leadVar)
			}
		}
		return
	}
	for _, v := range w.vals {
		for _, p := range a.absPaths(v) {
			if p == "" {
				if recursive {
					a.flag(idx, CategoryDestructive, Ask, "%s %s in a working directory that cannot be known statically", verb, v)
				} else {
					a.classifyWrite(idx, "", "", v, verb)
				}
				continue
			}
			if recursive {
				if what, ok := a.protected(p); ok {
					a.flag(idx, CategoryDestructive, Deny, "%s %s deletes %s", verb, w.disp, what)
					continue
				}
				if path.Base(p) == ".git" && within(p, a.e.opts.Workspace) {
					a.flag(idx, CategoryDestructive, Ask, "%s %s deletes the git repository and its history", verb, w.disp)
					continue
				}
			}
			a.classifyWrite(idx, "", p, v, verb)
		}
	}
}

// checkRm handles rm and its relatives; -r, -R, --recursive in any
// combination (-rf, -fr, -r -f, --recursive --force) mean recursive.
func (a *analyzer) checkRm(idx int) {
	u := &a.units[idx]
	prog := u.prog
	args := u.argv[1:]
	recursive := false
	var targets []word
	for i := 0; i < len(args); i++ {
		s := args[i].str()
		switch {
		case s == "--":
			targets = append(targets, args[i+1:]...)
			i = len(args)
		case s == "--recursive":
			recursive = true
		case s == "--no-preserve-root":
			a.flag(idx, CategoryDestructive, Deny, "%s --no-preserve-root turns off the protection of /", prog)
		case strings.HasPrefix(s, "--"):
		case len(s) > 1 && s[0] == '-':
			if prog == "rm" && strings.ContainsAny(s[1:], "rR") {
				recursive = true
			}
			if prog == "shred" && (s == "-n" || s == "-s") {
				i++ // -n N, -s N take a value
			}
		default:
			targets = append(targets, args[i])
		}
	}
	verb := prog
	if recursive {
		verb = "rm -r"
	}
	if prog == "shred" || prog == "wipe" || prog == "srm" {
		verb = prog
	}
	for i := range targets {
		a.checkDelete(idx, &targets[i], recursive || prog == "wipe" || prog == "srm", verb)
	}
}

// checkFind treats find -delete as rm: without a filter it deletes
// everything below its start paths.
func (a *analyzer) checkFind(idx int) {
	args := a.units[idx].argv[1:]
	var starts []word
	i := 0
	for i < len(args) {
		s := args[i].str()
		if s == "-H" || s == "-L" || s == "-P" || strings.HasPrefix(s, "-O") || s == "-D" {
			if s == "-D" {
				i++
			}
			i++
			continue
		}
		break
	}
	for i < len(args) {
		s := args[i].str()
		if strings.HasPrefix(s, "-") || s == "(" || s == "!" || s == ")" || s == "," {
			break
		}
		starts = append(starts, args[i])
		i++
	}
	del, filtered := false, false
	exprs := args[i:]
	for k := 0; k < len(exprs); k++ {
		switch s := exprs[k].str(); s {
		case "-delete":
			del = true
		case "-exec", "-execdir", "-ok", "-okdir":
			// -exec rm ... {} deletes what it finds, like -delete.
			if k+1 < len(exprs) && progName(exprs[k+1].str()) == "rm" {
				del = true
			}
			for k+1 < len(exprs) {
				k++
				if t := exprs[k].str(); t == ";" || t == "+" {
					break
				}
			}
		case "-depth", "-maxdepth", "-mindepth", "-xdev", "-mount", "-print", "-print0", "-noleaf",
			"-ignore_readdir_race", "-daystart", "-follow":
		default:
			if strings.HasPrefix(s, "-") || s == "!" || s == "(" {
				filtered = true
			}
		}
	}
	if !del {
		return
	}
	if len(starts) == 0 {
		starts = []word{litWord(".")}
	}
	for k := range starts {
		a.checkDelete(idx, &starts[k], !filtered, "find -delete")
	}
}

// checkCopy handles cp, mv, install, ln, rsync and scp: the destination is
// written; mv also removes its sources.
func (a *analyzer) checkCopy(idx int) {
	u := &a.units[idx]
	prog := u.prog
	args := u.argv[1:]
	var ops []word
	var dest *word
	switch prog {
	case "rsync":
		ops = operands(args, "eBfT", "rsh", "exclude", "include", "filter", "rsync-path", "password-file", "chown", "chmod")
	case "scp":
		ops = operands(args, "cFiJlPSoD")
	default:
		ops = operands(args, "tSgmo", "target-directory", "suffix", "group", "mode", "owner")
		for i, w := range args {
			s := w.str()
			if (s == "-t" || s == "--target-directory") && i+1 < len(args) {
				dest = &args[i+1]
			} else if v, ok := strings.CutPrefix(s, "--target-directory="); ok {
				x := litWord(v)
				dest = &x
			}
		}
	}
	if len(ops) == 0 {
		return
	}
	srcs := ops
	if dest == nil {
		if len(ops) < 2 {
			return // ln TARGET makes its link in the working directory
		}
		dest = &ops[len(ops)-1]
		srcs = ops[:len(ops)-1]
	}
	remote := func(w *word) bool {
		v := w.str()
		c := strings.IndexByte(v, ':')
		return c > 0 && !strings.Contains(v[:c], "/")
	}
	if (prog == "rsync" || prog == "scp") && remote(dest) {
		return
	}
	if prog == "mv" {
		if v, ok := dest.value(); ok && v == "/dev/null" {
			a.flag(idx, CategoryDestructive, Ask, "mv %s /dev/null destroys what it moves", joinDisp(srcs))
			return
		}
		for i := range srcs {
			a.checkWrite(idx, "", &srcs[i], "mv removes")
		}
	}
	verbs := map[string]string{"cp": "cp writes", "mv": "mv writes", "install": "install writes",
		"ln": "ln creates a link at", "rsync": "rsync writes", "scp": "scp writes"}
	a.checkWrite(idx, "", dest, verbs[prog])
}

// checkDd handles dd of=FILE (written) and if=FILE (read).
func (a *analyzer) checkDd(idx int) {
	for _, w := range a.units[idx].argv[1:] {
		k, v, ok := strings.Cut(w.str(), "=")
		if !ok {
			continue
		}
		x := w
		x.vals = nil
		if _, known := w.value(); known {
			x.vals = []string{v}
		}
		switch k {
		case "of":
			a.checkWrite(idx, "", &x, "dd writes")
		case "if":
			for _, val := range x.vals {
				for _, p := range a.absPaths(val) {
					if blockDevice(p) {
						a.flag(idx, CategoryCredentialAccess, Ask, "dd reads the raw device %s, bypassing file permissions", p)
					} else if what, ok := a.credential(p); ok {
						a.flag(idx, CategoryCredentialAccess, Ask, "dd reads %s (%s)", val, what)
					}
				}
			}
		}
	}
}

// checkInPlace handles sed -i and perl -i, which rewrite their files.
func (a *analyzer) checkInPlace(idx int) {
	u := &a.units[idx]
	args := u.argv[1:]
	inPlace, scriptGiven := false, false
	var files []word
	for i := 0; i < len(args); i++ {
		s := args[i].str()
		switch {
		case s == "--":
			files = append(files, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(s, "--in-place"):
			inPlace = true
		case s == "--expression" || s == "--file":
			scriptGiven = true
			i++
		case strings.HasPrefix(s, "--expression=") || strings.HasPrefix(s, "--file="):
			scriptGiven = true
		case strings.HasPrefix(s, "--"):
		case len(s) > 1 && s[0] == '-':
			for k := 1; k < len(s); k++ {
				c := s[k]
				if c == 'i' {
					inPlace = true
					if u.prog == "sed" {
						break // the rest is a backup suffix
					}
					continue
				}
				if c == 'e' || c == 'f' || c == 'E' && u.prog == "perl" {
					scriptGiven = true
					if k == len(s)-1 {
						i++
					}
					break
				}
				if u.prog == "sed" && c == 'l' {
					if k == len(s)-1 {
						i++
					}
					break
				}
			}
		default:
			files = append(files, args[i])
		}
	}
	if !inPlace {
		return
	}
	if !scriptGiven && len(files) > 0 {
		files = files[1:]
	}
	for i := range files {
		a.checkWrite(idx, "", &files[i], u.prog+" -i rewrites")
	}
}

// checkTar looks at where tar extracts to and what archive it creates.
func (a *analyzer) checkTar(idx int) {
	args := a.units[idx].argv[1:]
	extract, create := false, false
	var dir, file *word
	for i := 0; i < len(args); i++ {
		s := args[i].str()
		next := func() *word {
			if i+1 < len(args) {
				i++
				return &args[i]
			}
			return nil
		}
		switch {
		case s == "--extract" || s == "--get":
			extract = true
		case s == "--create" || s == "--append" || s == "--update":
			create = true
		case s == "--directory":
			dir = next()
		case strings.HasPrefix(s, "--directory="):
			x := litWord(strings.TrimPrefix(s, "--directory="))
			dir = &x
		case s == "--file":
			file = next()
		case strings.HasPrefix(s, "--file="):
			x := litWord(strings.TrimPrefix(s, "--file="))
			file = &x
		case strings.HasPrefix(s, "--"):
		case i == 0 && !strings.HasPrefix(s, "-") || len(s) > 1 && s[0] == '-':
			// Old style "xzf ARCHIVE" or a bundle "-xzf ARCHIVE".
			letters := strings.TrimPrefix(s, "-")
			oldStyle := !strings.HasPrefix(s, "-")
			for k := 0; k < len(letters); k++ {
				c := letters[k]
				switch c {
				case 'x':
					extract = true
				case 'c', 'r', 'u':
					create = true
				}
				if strings.IndexByte("fCTXbHVNgKL", c) < 0 {
					continue
				}
				var val *word
				if oldStyle || k == len(letters)-1 {
					val = next()
				} else {
					x := litWord(letters[k+1:])
					val = &x
				}
				switch c {
				case 'f':
					file = val
				case 'C':
					dir = val
				}
				if !oldStyle {
					break
				}
			}
		}
	}
	if extract && dir != nil {
		a.checkWrite(idx, "", dir, "tar extracts into")
	}
	if create && file != nil {
		if v, ok := file.value(); !ok || v != "-" {
			a.checkWrite(idx, "", file, "tar writes")
		}
	}
}

// checkChmod finds world-writable modes, setuid and setgid bits, and
// recursive changes to protected directories.
func (a *analyzer) checkChmod(idx int) {
	args := a.units[idx].argv[1:]
	recursive := false
	var ops []word
	for i := 0; i < len(args); i++ {
		s := args[i].str()
		switch {
		case s == "-R" || s == "--recursive":
			recursive = true
		case s == "--":
			ops = append(ops, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(s, "--reference"):
			ops = append(ops, litWord("--reference"))
		case strings.HasPrefix(s, "--"):
		case len(s) > 1 && s[0] == '-' && strings.Trim(s[1:], "cfvR") == "":
			recursive = recursive || strings.Contains(s, "R")
		default:
			ops = append(ops, args[i])
		}
	}
	if len(ops) < 2 {
		return
	}
	mode, targets := ops[0], ops[1:]
	m := mode.str()
	if worldWritable, special := modeRisk(m); worldWritable || special != "" {
		list := joinDisp(targets)
		if worldWritable {
			a.flag(idx, CategoryInsecurePermissions, Ask, "chmod %s makes %s writable by everyone", m, list)
		}
		if special != "" {
			a.flag(idx, CategoryInsecurePermissions, Ask, "chmod %s sets the %s bit on %s", m, special, list)
		}
	}
	a.checkTargets(idx, targets, recursive, "chmod")
}

// checkTargets reports recursive permission or owner changes of protected
// directories, and changes outside the workspace.
func (a *analyzer) checkTargets(idx int, targets []word, recursive bool, prog string) {
	for i := range targets {
		w := &targets[i]
		for _, v := range w.vals {
			for _, p := range a.absPaths(v) {
				if p != "" && recursive {
					if what, ok := a.protected(p); ok {
						a.flag(idx, CategoryDestructive, Deny, "%s -R %s changes %s", prog, w.disp, what)
						continue
					}
				}
				a.classifyWrite(idx, "", p, v, prog+" changes")
			}
		}
	}
}

// modeRisk parses a chmod mode, numeric or symbolic.
func modeRisk(m string) (worldWritable bool, special string) {
	if v, err := strconv.ParseUint(m, 8, 32); err == nil && m != "" {
		if v&0o002 != 0 {
			worldWritable = true
		}
		switch {
		case v&0o4000 != 0 && v&0o2000 != 0:
			special = "setuid and setgid"
		case v&0o4000 != 0:
			special = "setuid"
		case v&0o2000 != 0:
			special = "setgid"
		}
		return worldWritable, special
	}
	for _, clause := range strings.Split(m, ",") {
		who := strings.TrimLeft(clause, "ugoa")
		whoSet := clause[:len(clause)-len(who)]
		for len(who) > 0 {
			op := who[0]
			if op != '+' && op != '=' && op != '-' {
				break
			}
			perms := who[1:]
			end := strings.IndexAny(perms, "+-=")
			if end < 0 {
				end = len(perms)
			}
			p := perms[:end]
			who = perms[end:]
			if op == '-' {
				continue
			}
			if strings.Contains(p, "w") && strings.ContainsAny(whoSet, "oa") {
				worldWritable = true
			}
			if strings.Contains(p, "s") {
				switch {
				case strings.ContainsAny(whoSet, "a") || whoSet == "":
					special = "setuid and setgid"
				case strings.Contains(whoSet, "u") && strings.Contains(whoSet, "g"):
					special = "setuid and setgid"
				case strings.Contains(whoSet, "u"):
					special = "setuid"
				case strings.Contains(whoSet, "g"):
					special = "setgid"
				}
			}
		}
	}
	return worldWritable, special
}

// checkChown reports files given to root and recursive owner changes.
func (a *analyzer) checkChown(idx int) {
	u := &a.units[idx]
	args := u.argv[1:]
	recursive := hasFlag(args, len(args), "R", "recursive")
	ops := operands(args, "", "from")
	if hasFlag(args, len(args), "", "reference") {
		ops = append([]word{litWord("--reference")}, ops...)
	}
	if len(ops) < 2 {
		return
	}
	owner := ops[0].str()
	if u.prog == "chown" {
		user, _, _ := strings.Cut(owner, ":")
		if user == "root" || user == "0" {
			a.flag(idx, CategoryPrivilegeEscalation, Ask, "chown %s makes root the owner of %s", owner, joinDisp(ops[1:]))
		}
	}
	a.checkTargets(idx, ops[1:], recursive, u.prog)
}

// privilegedGroups grant root or its equivalent to their members.
var privilegedGroups = []string{"sudo", "wheel", "root", "admin", "docker", "lxd", "disk", "adm", "shadow", "libvirt"}

func (a *analyzer) checkGroups(idx int) {
	u := &a.units[idx]
	for _, w := range u.argv[1:] {
		for _, g := range strings.Split(w.str(), ",") {
			if slices.Contains(privilegedGroups, g) {
				a.flag(idx, CategoryPrivilegeEscalation, Ask, "%s adds a user to the %s group", u.prog, g)
				return
			}
		}
	}
}

// checkPrivilege reports sudo, su and the like.
func (a *analyzer) checkPrivilege(idx int) {
	u := &a.units[idx]
	args := u.argv[1:]
	who := "root"
	for i, w := range args {
		s := w.str()
		if (s == "-u" || s == "--user") && i+1 < len(args) {
			who = "user " + args[i+1].str()
			break
		}
		if v, ok := strings.CutPrefix(s, "--user="); ok {
			who = "user " + v
			break
		}
		if (u.prog == "su" || u.prog == "runuser") && !strings.HasPrefix(s, "-") && s != "" {
			if i == 0 || !slices.Contains([]string{"-c", "--command", "-s", "--shell", "-g", "-G", "-w", "--session-command"}, args[i-1].str()) {
				who = "user " + s
				break
			}
		}
	}
	switch u.prog {
	case "su", "runuser":
		a.flag(idx, CategoryPrivilegeEscalation, Ask, "%s switches to %s", u.prog, who)
	case "sudoedit":
		a.flag(idx, CategoryPrivilegeEscalation, Ask, "sudoedit edits files as %s", who)
	default:
		a.flag(idx, CategoryPrivilegeEscalation, Ask, "%s runs a command as %s", u.prog, who)
	}
}

// checkKill reports attempts to stop the sandbox's own processes.
func (a *analyzer) checkKill(idx int) {
	u := &a.units[idx]
	if u.sum.airlock {
		a.flag(idx, CategoryDisableSafety, Ask, "%s targets the airlock sandbox processes", u.prog)
	}
}

// checkVar reports assignments and unsets that turn history off or touch
// the sandbox's own settings. verb says how ("assigning", "unset",
// "export"); val is nil for unset.
func (a *analyzer) checkVar(name string, val *word, verb, text string) {
	v := ""
	known := false
	if val != nil {
		v, known = val.value()
	}
	switch {
	case name == "HISTFILE":
		if val == nil {
			a.add(-1, CategoryDisableSafety, Ask, text, "%s HISTFILE stops the shell history from being saved", verb)
		} else {
			a.add(-1, CategoryDisableSafety, Ask, text, "%s HISTFILE=%s redirects the shell history", verb, val.disp)
		}
	case name == "HISTSIZE" || name == "HISTFILESIZE" || name == "SAVEHIST":
		if val == nil || known && (v == "0" || v == "") {
			a.add(-1, CategoryDisableSafety, Ask, text, "%s %s turns the shell history off", verb, name)
		}
	case name == "HISTIGNORE":
		if known && slices.Contains(strings.Split(v, ":"), "*") {
			a.add(-1, CategoryDisableSafety, Ask, text, "%s HISTIGNORE=%s keeps commands out of the history", verb, v)
		}
	case strings.HasPrefix(strings.ToUpper(name), "AIRLOCK"):
		a.add(-1, CategoryDisableSafety, Ask, text, "%s %s changes a setting of the airlock sandbox", verb, name)
	}
}

// safetyServices are services whose stopping weakens the host's defenses.
var safetyServices = []string{"apparmor", "firewalld", "ufw", "auditd", "nftables", "iptables", "selinux", "fail2ban", "falco", "airlock"}

// checkSafety reports commands that turn off SELinux, AppArmor, the audit
// log or the firewall.
func (a *analyzer) checkSafety(idx int) {
	u := &a.units[idx]
	args := u.argv[1:]
	strs := make([]string, len(args))
	orig := make([]string, len(args))
	for i := range args {
		orig[i] = args[i].str()
		strs[i] = strings.ToLower(orig[i])
	}
	has := func(s ...string) bool {
		for _, x := range s {
			if slices.Contains(strs, x) {
				return true
			}
		}
		return false
	}
	switch p := u.prog; {
	case p == "setenforce":
		if has("0", "permissive") {
			a.flag(idx, CategoryDisableSafety, Ask, "setenforce %s turns SELinux enforcement off", strings.Join(orig, " "))
		}
	case p == "ufw":
		if has("disable", "reset") {
			a.flag(idx, CategoryDisableSafety, Ask, "ufw %s turns the firewall off", strings.Join(orig, " "))
		}
	case strings.HasPrefix(p, "iptables") || strings.HasPrefix(p, "ip6tables"):
		if has("-f", "--flush", "-x", "--delete-chain") || has("-p", "--policy") && has("accept") {
			a.flag(idx, CategoryDisableSafety, Ask, "%s %s removes firewall rules", p, strings.Join(orig, " "))
		}
	case p == "nft":
		if has("flush") {
			a.flag(idx, CategoryDisableSafety, Ask, "nft %s removes firewall rules", strings.Join(orig, " "))
		}
	case p == "systemctl" || p == "service":
		if has("stop", "disable", "mask", "kill") {
			for _, s := range strs {
				for _, svc := range safetyServices {
					if strings.TrimSuffix(s, ".service") == svc {
						a.flag(idx, CategoryDisableSafety, Ask, "%s %s stops the %s service", p, strings.Join(orig, " "), svc)
						return
					}
				}
			}
		}
	case p == "aa-teardown" || p == "aa-disable" || p == "aa-complain":
		a.flag(idx, CategoryDisableSafety, Ask, "%s turns AppArmor confinement off", p)
	case p == "auditctl":
		if has("-d") || has("-e") && has("0") {
			a.flag(idx, CategoryDisableSafety, Ask, "auditctl %s turns auditing off", strings.Join(orig, " "))
		}
	case p == "sysctl":
		for _, s := range strs {
			if strings.Contains(s, "randomize_va_space=0") || strings.Contains(s, "ptrace_scope=0") ||
				strings.Contains(s, "unprivileged_bpf_disabled=0") {
				a.flag(idx, CategoryDisableSafety, Ask, "sysctl %s weakens kernel hardening", s)
			}
		}
	}
}

// secretWords mark environment variable names that hold secrets.
var secretWords = []string{"SECRET", "TOKEN", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIAL"}

func secretName(n string) bool {
	u := strings.ToUpper(n)
	for _, s := range secretWords {
		if strings.Contains(u, s) {
			return true
		}
	}
	return false
}

// checkSecretPrint reports echo $TOKEN and printenv TOKEN: the value lands
// in the agent's transcript.
func (a *analyzer) checkSecretPrint(idx int) {
	u := &a.units[idx]
	for _, w := range u.argv[1:] {
		if u.prog == "printenv" {
			if s := w.str(); !strings.HasPrefix(s, "-") && secretName(s) {
				a.flag(idx, CategoryCredentialAccess, Ask, "printenv prints the secret variable %s", s)
				return
			}
			continue
		}
		if !w.param {
			continue
		}
		for _, name := range paramNames(w.disp) {
			if secretName(name) {
				a.flag(idx, CategoryCredentialAccess, Ask, "%s prints the secret variable $%s", u.prog, name)
				return
			}
		}
	}
}

// paramNames returns the variable names expanded in source text.
func paramNames(s string) []string {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		j := i + 1
		if j < len(s) && s[j] == '{' {
			j++
		}
		k := j
		for k < len(s) && (s[k] == '_' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= 'a' && s[k] <= 'z' || k > j && s[k] >= '0' && s[k] <= '9') {
			k++
		}
		if k > j {
			out = append(out, s[j:k])
		}
		i = k - 1
	}
	return out
}

// checkDisk reports formatting and partitioning of block devices.
func (a *analyzer) checkDisk(idx int) {
	u := &a.units[idx]
	for _, w := range u.argv[1:] {
		for _, v := range w.vals {
			if blockDevice(v) {
				a.flag(idx, CategoryDeviceWrite, Deny, "%s writes the disk %s", u.prog, v)
				return
			}
		}
	}
}

// checkRedirs checks the redirections of a statement.
func (a *analyzer) checkRedirs(s *syntax.Stmt, redirs []redir) {
	if len(redirs) == 0 {
		return
	}
	text := truncate(a.slice(s))
	for i := range redirs {
		r := &redirs[i]
		switch r.op {
		case syntax.RdrOut, syntax.AppOut, syntax.RdrClob, syntax.AppClob, syntax.RdrAll,
			syntax.RdrAllClob, syntax.AppAll, syntax.AppAllClob, syntax.RdrInOut:
			a.checkWrite(-1, text, &r.target, "the redirection writes")
		case syntax.DplOut:
			if v, ok := r.target.value(); ok && v != "-" && strings.Trim(v, "0123456789") != "" {
				a.checkWrite(-1, text, &r.target, "the redirection writes")
			}
		case syntax.RdrIn:
			for _, v := range r.target.vals {
				if host, ok := devTCP(v); ok {
					a.add(-1, CategoryRawIPNetwork, Ask, text, "the redirection reads from %s through /dev/tcp, a raw network connection", host)
				} else if what, ok := a.credentialAt(v); ok {
					a.add(-1, CategoryCredentialAccess, Ask, text, "the redirection reads %s (%s)", v, what)
				}
			}
		}
	}
}
