package cli

import (
	"flag"
	"fmt"
	"strings"

	"github.com/airlock-sandbox/airlock/internal/policy"
)

// listFlag is a repeatable string flag.
type listFlag struct{ vals *[]string }

func (l listFlag) String() string {
	if l.vals == nil {
		return ""
	}
	return strings.Join(*l.vals, ",")
}
func (l listFlag) Set(v string) error { *l.vals = append(*l.vals, v); return nil }

// boolPtrFlag is a bool flag that records whether it was given.
type boolPtrFlag struct{ p **bool }

func (b boolPtrFlag) String() string   { return "" }
func (b boolPtrFlag) IsBoolFlag() bool { return true }
func (b boolPtrFlag) Set(v string) error {
	var x bool
	switch v {
	case "true", "1", "":
		x = true
	case "false", "0":
	default:
		return fmt.Errorf("want true or false")
	}
	*b.p = &x
	return nil
}

// policyFlags are the flags shared by `run` and `policy show`.
type policyFlags struct {
	profile      string
	policyFile   string
	settingsFile string
	o            policy.Overrides
}

func (pf *policyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&pf.profile, "profile", "", "built-in base profile: agent (default) or none")
	fs.StringVar(&pf.policyFile, "policy", "", "native YAML policy `FILE`")
	fs.StringVar(&pf.settingsFile, "settings", "", "sandbox-runtime settings JSON `FILE` (srt compatible)")
	fs.StringVar(&pf.o.Workspace, "workspace", "", "read-write workspace `DIR` (default: the current directory)")
	fs.Var(listFlag{&pf.o.AllowWrite}, "allow-write", "also allow writing `PATH` (repeatable)")
	fs.Var(listFlag{&pf.o.DenyRead}, "deny-read", "mask `PATH` or base-name glob (repeatable)")
	fs.Var(listFlag{&pf.o.AllowRead}, "allow-read", "re-allow reading `PATH` that a deny-read rule hides (repeatable)")
	fs.Var(listFlag{&pf.o.DenyWrite}, "deny-write", "keep `PATH` read-only inside writable paths (repeatable)")
	fs.Var(listFlag{&pf.o.Env}, "env", "pass `NAME` from the host, or set NAME=VALUE (repeatable)")
	fs.Var(listFlag{&pf.o.AllowUnixSockets}, "allow-unix-socket", "allow connecting to the Unix socket at `PATH` (repeatable)")
	fs.Var(listFlag{&pf.o.AllowDegraded}, "allow-degraded", "run even when `LAYER` (userns, seccomp, landlock, cgroup) is missing (repeatable)")
	fs.StringVar(&pf.o.Memory, "memory", "", "memory limit, e.g. 512M or 2G")
	fs.StringVar(&pf.o.Pids, "pids", "", "maximum number of processes and threads")
	fs.StringVar(&pf.o.CPUs, "cpus", "", "CPU limit in cores, e.g. 1.5")
	fs.StringVar(&pf.o.Timeout, "timeout", "", "wall-clock limit, e.g. 30s or 10m")
	fs.StringVar(&pf.o.MaxOpenFiles, "max-open-files", "", "limit on open file descriptors")
	fs.StringVar(&pf.o.MaxFileSize, "max-file-size", "", "largest file the command may write, e.g. 1G")
	fs.Var(listFlag{&pf.o.AllowDomains}, "allow-domain", "allow egress to `PATTERN` (example.com, *.example.com, host:port; repeatable)")
	fs.Var(listFlag{&pf.o.DenyDomains}, "deny-domain", "refuse egress to `PATTERN`; deny beats allow (repeatable)")
	fs.Var(listFlag{&pf.o.AllowCIDRs}, "allow-cidr", "allow egress to addresses in `CIDR[:PORT]`, also private and loopback ones (repeatable)")
	fs.Var(boolPtrFlag{&pf.o.Root}, "root", "run the command as uid 0 inside the sandbox (still without capabilities)")
}

func (pf *policyFlags) build() (*policy.Policy, error) {
	return policy.Build(pf.profile, pf.policyFile, pf.settingsFile, pf.o)
}

// egressFlags are the flags of the egress proxy shared by `run` and `proxy`.
type egressFlags struct {
	resolve   []string
	audit     string
	auditExec bool
}

func (ef *egressFlags) register(fs *flag.FlagSet) {
	fs.Var(listFlag{&ef.resolve}, "resolve", "pin `HOST:ADDR` for the proxy's name lookups, like curl --resolve (repeatable)")
	fs.StringVar(&ef.audit, "audit", "", "append every egress decision (and, in run, every program run) to `FILE` as JSON lines")
	fs.BoolVar(&ef.auditExec, "audit-exec", true, "with --audit, also record every execve of the sandbox (pid, ppid, path, argv, cwd)")
}
