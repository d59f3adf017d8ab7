package cmdpolicy

import (
	"path"
	"slices"
	"strings"
)

// absPaths resolves p against every working directory the command may be
// in. An entry is "" when p is relative and the directory is not known.
func (a *analyzer) absPaths(p string) []string {
	if p == "" {
		return nil
	}
	if strings.HasPrefix(p, "/") {
		return []string{path.Clean(p)}
	}
	out := make([]string, 0, len(a.cwd))
	for _, d := range a.cwd {
		if d == "" {
			out = append(out, "")
			continue
		}
		out = append(out, path.Join(d, p))
	}
	return out
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// hasGlob reports whether s contains a pattern character.
func hasGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// benignDevice reports device files that any program may write.
func benignDevice(p string) bool {
	switch p {
	case "/dev/null", "/dev/zero", "/dev/full", "/dev/stdout", "/dev/stderr", "/dev/stdin",
		"/dev/tty", "/dev/random", "/dev/urandom", "/dev/ptmx":
		return true
	}
	return strings.HasPrefix(p, "/dev/fd/") || strings.HasPrefix(p, "/dev/pts/") ||
		strings.HasPrefix(p, "/proc/self/fd/") || strings.HasPrefix(p, "/dev/shm/")
}

// blockDevicePrefixes are the names of disks and partitions: writing them
// destroys file systems.
var blockDevicePrefixes = []string{
	"/dev/sd", "/dev/hd", "/dev/vd", "/dev/xvd", "/dev/nvme", "/dev/mmcblk", "/dev/dm-",
	"/dev/md", "/dev/loop", "/dev/mapper/", "/dev/disk/", "/dev/sg", "/dev/nbd", "/dev/ram",
	"/dev/zram", "/dev/bcache", "/dev/rbd",
}

// blockDevice reports whether p names a disk, a partition, raw memory or
// the kernel's SysRq trigger.
func blockDevice(p string) bool {
	switch p {
	case "/dev/mem", "/dev/kmem", "/dev/port", "/proc/sysrq-trigger":
		return true
	}
	for _, pre := range blockDevicePrefixes {
		if strings.HasPrefix(p, pre) && len(p) > len(pre) {
			return true
		}
	}
	return false
}

// startupNames are shell and session startup files: code written there runs
// in every later session.
var startupNames = []string{
	".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv",
	".zprofile", ".zlogin", ".zlogout", ".kshrc", ".mkshrc", ".cshrc", ".tcshrc", ".login",
	".logout", ".xprofile", ".xinitrc", ".xsession", ".xsessionrc", ".pam_environment",
}

// startupHomePaths are home-relative files and directories that run code or
// grant access at the next login.
var startupHomePaths = []string{
	".config/fish/config.fish", ".config/fish/conf.d", ".config/autostart", ".config/systemd/user",
	".local/share/systemd/user", ".ssh/authorized_keys", ".ssh/authorized_keys2", ".ssh/rc",
	".ssh/environment", ".ssh/config", ".config/environment.d",
}

// startupSystemPaths are system-wide files and directories with the same
// effect.
var startupSystemPaths = []string{
	"/etc/profile", "/etc/profile.d", "/etc/bash.bashrc", "/etc/bashrc", "/etc/zshrc", "/etc/zsh",
	"/etc/zprofile", "/etc/zshenv", "/etc/environment", "/etc/rc.local", "/etc/crontab",
	"/etc/cron.d", "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly",
	"/var/spool/cron", "/etc/systemd/system", "/etc/init.d", "/etc/ld.so.preload", "/etc/xdg/autostart",
}

// homeDir reports whether dir is a user's home directory.
func (a *analyzer) homeDir(dir string) bool {
	if dir == a.e.opts.Home || dir == "/root" {
		return true
	}
	d, base := path.Split(dir)
	return d == "/home/" && base != ""
}

// startupFile describes p when writing it plants code that runs later.
func (a *analyzer) startupFile(p string) (string, bool) {
	dir, base := path.Split(p)
	dir = path.Clean(dir)
	if slices.Contains(startupNames, base) && a.homeDir(dir) {
		return "the shell startup file " + p, true
	}
	for _, s := range startupSystemPaths {
		if within(p, s) {
			return "the system startup file " + p, true
		}
	}
	for _, home := range []string{a.e.opts.Home, "/root"} {
		for _, s := range startupHomePaths {
			if within(p, path.Join(home, s)) {
				return p + ", which runs commands or grants access at the next login", true
			}
		}
	}
	return "", false
}

// gitHook describes p when it is a git hook or the git configuration,
// which can name programs git runs (core.hooksPath, core.fsmonitor).
func gitHook(p string) (string, bool) {
	if i := strings.Index(p+"/", "/.git/hooks/"); i >= 0 {
		return "the git hook " + p, true
	}
	if strings.HasSuffix(p, "/.git/config") {
		return "the git configuration " + p + ", which can make git run programs", true
	}
	return "", false
}

// airlockPath reports paths that belong to the sandbox itself.
func airlockPath(p string) bool {
	for _, c := range strings.Split(p, "/") {
		c = strings.ToLower(c)
		if c == "airlock" || c == ".airlock" || strings.HasPrefix(c, "airlock.") || strings.HasPrefix(c, ".airlock.") || strings.HasPrefix(c, "airlock-") {
			return true
		}
	}
	return false
}

// systemDirs are top-level directories whose recursive removal breaks the
// system.
var systemDirs = []string{
	"/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media",
	"/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/snap", "/srv", "/sys", "/usr", "/var",
	"/usr/bin", "/usr/lib", "/usr/lib64", "/usr/local", "/usr/sbin", "/usr/share", "/usr/include",
	"/var/lib", "/var/log", "/var/cache", "/var/spool", "/tmp", "/var/tmp",
}

// protected describes p when deleting it recursively is catastrophic: the
// root, a system directory, the home directory, the workspace root, or a
// directory that contains one of them. p may be a glob.
func (a *analyzer) protected(p string) (string, bool) {
	home, ws := a.e.opts.Home, a.e.opts.Workspace
	describe := func(q string) string {
		switch {
		case q == "/":
			return "the root directory"
		case q == home:
			return "the home directory " + home
		case q == ws:
			return "the workspace root " + ws
		case within(home, q):
			return q + ", which contains the home directory"
		case within(ws, q):
			return q + ", which contains the workspace"
		}
		return "the system directory " + q
	}
	candidates := []string{"/", home, ws}
	candidates = append(candidates, systemDirs...)
	for _, anc := range []string{home, ws} {
		for d := path.Dir(anc); d != "/"; d = path.Dir(d) {
			candidates = append(candidates, d)
		}
	}
	if !hasGlob(p) {
		for _, c := range candidates {
			if p == c {
				return describe(c), true
			}
		}
		return "", false
	}
	// A glob: everything it can match, or the contents of a directory.
	dir, last := path.Split(p)
	dir = path.Clean(dir)
	if matchesAnyName(last) && !hasGlob(dir) {
		for _, c := range []string{"/", home, ws} {
			if dir == c {
				return "everything in " + describe(c), true
			}
		}
	}
	for _, c := range candidates {
		if ok, _ := path.Match(p, c); ok {
			return describe(c) + " (matched by " + p + ")", true
		}
	}
	return "", false
}

// matchesAnyName reports whether a glob matches most names in a directory
// (*, ?*, .*, .[!.]*), so that deleting it empties the directory.
func matchesAnyName(glob string) bool {
	m := func(name string) bool {
		ok, _ := path.Match(glob, name)
		return ok
	}
	return m("x") && m("data") || m(".ssh") && m(".config")
}

// inTemp reports whether p is a temporary directory or inside one.
func (a *analyzer) inTemp(p string) bool {
	for _, t := range a.e.opts.TempDirs {
		if within(p, t) {
			return true
		}
	}
	return false
}

// credential describes p when it is a file holding secrets: SSH and cloud
// keys, tokens, password hashes, .env files.
func (a *analyzer) credential(p string) (string, bool) {
	base := path.Base(p)
	lower := strings.ToLower(base)
	home := a.e.opts.Home
	switch {
	case strings.HasPrefix(p, "/proc/") && strings.HasSuffix(p, "/environ"):
		return "another process's environment", true
	case p == "/etc/shadow" || p == "/etc/gshadow" || p == "/etc/shadow-" || p == "/etc/gshadow-":
		return "password hashes", true
	case strings.HasPrefix(p, "/etc/ssh/ssh_host_") && strings.HasSuffix(p, "_key"):
		return "an SSH host key", true
	case strings.HasPrefix(p, "/var/run/secrets/") || strings.HasPrefix(p, "/run/secrets/"):
		return "mounted secrets", true
	}
	if lower == ".env" || strings.HasPrefix(lower, ".env.") && !envTemplate(lower) {
		return "an environment file with secrets", true
	}
	if slices.Contains([]string{"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk"}, lower) {
		return "an SSH private key", true
	}
	if strings.HasSuffix(lower, ".key") || strings.HasSuffix(lower, ".p12") || strings.HasSuffix(lower, ".pfx") ||
		strings.HasSuffix(lower, ".jks") || strings.HasSuffix(lower, ".keystore") ||
		strings.HasSuffix(lower, ".pem") && (strings.Contains(lower, "key") || strings.Contains(lower, "priv")) {
		return "a private key", true
	}
	for _, h := range []string{home, "/root"} {
		if p == h {
			return "the whole home directory, credentials included", true
		}
		rel, ok := strings.CutPrefix(p, h+"/")
		if !ok {
			continue
		}
		for _, c := range homeCredentials {
			if rel == c.path || strings.HasSuffix(c.path, "/") && (strings.HasPrefix(rel, c.path) || rel+"/" == c.path) {
				if c.path == ".ssh/" && sshPublic(rel) {
					return "", false
				}
				return c.what, true
			}
		}
		for _, c := range homeCredentials {
			if strings.HasPrefix(c.path, rel+"/") {
				return "a directory holding " + c.what, true
			}
		}
	}
	return "", false
}

func envTemplate(name string) bool {
	for _, s := range []string{".example", ".sample", ".template", ".dist", ".defaults", ".tmpl", ".schema"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// sshPublic reports the files in ~/.ssh that hold nothing secret.
func sshPublic(rel string) bool {
	base := path.Base(rel)
	return strings.HasSuffix(base, ".pub") || strings.HasPrefix(base, "known_hosts") ||
		base == "config" || base == "authorized_keys"
}

// homeCredentials are home-relative secrets; a trailing "/" means the
// directory and everything in it.
var homeCredentials = []struct{ path, what string }{
	{".ssh/", "SSH keys"},
	{".aws/credentials", "AWS credentials"},
	{".aws/sso/", "AWS SSO tokens"},
	{".config/gcloud/", "Google Cloud credentials"},
	{".azure/", "Azure credentials"},
	{".kube/config", "Kubernetes credentials"},
	{".docker/config.json", "Docker registry credentials"},
	{".netrc", "saved passwords (.netrc)"},
	{".git-credentials", "saved git passwords"},
	{".npmrc", "npm tokens"},
	{".pypirc", "PyPI tokens"},
	{".gnupg/", "GnuPG keys"},
	{".password-store/", "a password store"},
	{".vault-token", "a Vault token"},
	{".terraform.d/credentials.tfrc.json", "Terraform tokens"},
	{".cargo/credentials", "crates.io tokens"},
	{".cargo/credentials.toml", "crates.io tokens"},
	{".gem/credentials", "RubyGems tokens"},
	{".config/gh/hosts.yml", "GitHub CLI tokens"},
	{".config/hub", "GitHub tokens"},
	{".local/share/keyrings/", "a keyring"},
}
