package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airlock-sandbox/airlock/internal/landlock"
	"github.com/airlock-sandbox/airlock/internal/reexec"
)

// probeTimeout bounds one probe child.
const probeTimeout = 15 * time.Second

// hostPaths are the files doctor reads to explain failures and to find the
// cgroup hierarchies. Tests point them at fake files.
type hostPaths struct {
	apparmorRestrictUserNS string
	unprivUserNSClone      string
	maxUserNamespaces      string
	selfStatus             string
	initCgroup             string
	selfCgroup             string
	mountinfo              string
	dockerenv              string
	containerenv           string
}

var defaultPaths = hostPaths{
	apparmorRestrictUserNS: "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
	unprivUserNSClone:      "/proc/sys/kernel/unprivileged_userns_clone",
	maxUserNamespaces:      "/proc/sys/user/max_user_namespaces",
	selfStatus:             "/proc/self/status",
	initCgroup:             "/proc/1/cgroup",
	selfCgroup:             "/proc/self/cgroup",
	mountinfo:              "/proc/self/mountinfo",
	dockerenv:              "/.dockerenv",
	containerenv:           "/run/.containerenv",
}

// host is everything the probes read or run. newHost returns the real one;
// tests substitute paths and functions.
type host struct {
	paths  hostPaths
	euid   int
	getenv func(string) string
	// writable reports whether the current user may write to path.
	writable func(path string) bool
	// probe runs one probe child.
	probe func(ctx context.Context, req probeRequest) probeResult
	// landlockABI returns the kernel's Landlock ABI.
	landlockABI func() (int, error)
	// nsID identifies the current process's namespace of the given kind.
	nsID func(name string) (string, error)
}

func newHost() *host {
	return &host{
		paths:  defaultPaths,
		euid:   os.Geteuid(),
		getenv: os.Getenv,
		writable: func(path string) bool {
			return unix.Faccessat(unix.AT_FDCWD, path, unix.W_OK, unix.AT_EACCESS) == nil
		},
		probe:       runProbe,
		landlockABI: landlock.ABI,
		nsID: func(name string) (string, error) {
			var st unix.Stat_t
			if err := unix.Stat("/proc/self/ns/"+name, &st); err != nil {
				return "", err
			}
			return fmt.Sprintf("%d.%d", st.Dev, st.Ino), nil
		},
	}
}

// probeRequest describes one probe child.
type probeRequest struct {
	Kind       string
	Args       []string
	Cloneflags uintptr
}

// probeResult is what the parent learned from a probe child.
type probeResult struct {
	// StartErr is the error starting the child: for namespace probes, the
	// kernel refusing to create the namespaces.
	StartErr error
	// Out is the child's answer; meaningful when StartErr is nil.
	Out probeOutput
}

// ok reports whether the probe ran and succeeded.
func (r probeResult) ok() bool { return r.StartErr == nil && r.Out.OK }

// errno returns the errno behind a failed probe, or 0.
func (r probeResult) errno() unix.Errno {
	var e unix.Errno
	if r.StartErr != nil && errors.As(r.StartErr, &e) {
		return e
	}
	return unix.Errno(r.Out.Errno)
}

// message describes how a failed probe failed.
func (r probeResult) message() string {
	if r.StartErr != nil {
		return r.StartErr.Error()
	}
	return r.Out.Err
}

// runProbe starts the probe child in the requested namespaces and collects
// its answer. The calling user is mapped to root inside a new user
// namespace.
func runProbe(ctx context.Context, req probeRequest) probeResult {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, reexec.Self)
	cmd.Args = append([]string{reexec.Argv0(probeEntry), req.Kind}, req.Args...)
	attr := &syscall.SysProcAttr{Cloneflags: req.Cloneflags}
	if req.Cloneflags&unix.CLONE_NEWUSER != 0 {
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	cmd.SysProcAttr = attr
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return probeResult{StartErr: fmt.Errorf("start probe child: %w", err)}
	}
	werr := cmd.Wait()
	var out probeOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		msg := fmt.Sprintf("probe child gave no answer (%v)", werr)
		if s := strings.TrimSpace(stderr.String()); s != "" {
			msg += ": " + s
		}
		return probeResult{Out: probeOutput{Err: msg}}
	}
	if werr != nil && out.OK {
		return probeResult{Out: probeOutput{Err: fmt.Sprintf("probe child failed after answering: %v", werr)}}
	}
	return probeResult{Out: out}
}

// facts are the host properties used to explain failures.
type facts struct {
	euid int
	// Sysctl values, -1 when the file does not exist or cannot be read.
	apparmorRestrict  int
	unprivUserNSClone int
	maxUserNamespaces int
	// container lists the evidence that this process runs in a container.
	container []string
	// confinement lists signs that the process is already confined (no
	// CAP_SYS_ADMIN while root, a seccomp filter in place).
	confinement []string
}

// inContainer reports whether there is any sign of a container or of an
// inherited confinement.
func (f facts) inContainer() bool { return len(f.container)+len(f.confinement) > 0 }

func (f facts) containerEvidence() string {
	return strings.Join(append(append([]string{}, f.container...), f.confinement...), "; ")
}

func (h *host) readInt(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return v
}

func (h *host) exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// containerCgroupMarkers are substrings of /proc/1/cgroup that container
// runtimes leave.
var containerCgroupMarkers = []string{"docker", "kubepods", "containerd", "libpod", "lxc", "crio"}

func (h *host) gatherFacts() facts {
	f := facts{
		euid:              h.euid,
		apparmorRestrict:  h.readInt(h.paths.apparmorRestrictUserNS),
		unprivUserNSClone: h.readInt(h.paths.unprivUserNSClone),
		maxUserNamespaces: h.readInt(h.paths.maxUserNamespaces),
	}
	if h.exists(h.paths.dockerenv) {
		f.container = append(f.container, h.paths.dockerenv+" exists")
	}
	if h.exists(h.paths.containerenv) {
		f.container = append(f.container, h.paths.containerenv+" exists")
	}
	if c := h.getenv("container"); c != "" {
		f.container = append(f.container, "container="+c+" is set")
	}
	if b, err := os.ReadFile(h.paths.initCgroup); err == nil {
		for _, m := range containerCgroupMarkers {
			if strings.Contains(string(b), m) {
				f.container = append(f.container, fmt.Sprintf("%s mentions %s", h.paths.initCgroup, m))
				break
			}
		}
	}
	if b, err := os.ReadFile(h.paths.selfStatus); err == nil {
		status := string(b)
		if h.euid == 0 {
			if capEff, err := statusField(status, "CapEff"); err == nil {
				if v, err := strconv.ParseUint(capEff, 16, 64); err == nil && v&(1<<unix.CAP_SYS_ADMIN) == 0 {
					f.confinement = append(f.confinement, "running as root without CAP_SYS_ADMIN")
				}
			}
		}
		if mode, err := statusField(status, "Seccomp"); err == nil && mode == "2" {
			f.confinement = append(f.confinement, "a seccomp filter is already applied to this process")
		}
	}
	return f
}

// namespaceProbe describes one namespace layer.
type namespaceProbe struct {
	layer string
	name  string // as in /proc/self/ns
	flag  uintptr
}

var namespaceProbes = []namespaceProbe{
	{LayerMountNS, "mnt", unix.CLONE_NEWNS},
	{LayerPIDNS, "pid", unix.CLONE_NEWPID},
	{LayerNetNS, "net", unix.CLONE_NEWNET},
	{LayerIPCNS, "ipc", unix.CLONE_NEWIPC},
	{LayerUTSNS, "uts", unix.CLONE_NEWUTS},
	{LayerCgroupNS, "cgroup", unix.CLONE_NEWCGROUP},
}

// Run runs every probe and returns the report. Probes that fail report
// missing; none of them changes the host.
func Run(ctx context.Context) Report {
	return run(ctx, newHost())
}

func run(ctx context.Context, h *host) Report {
	f := h.gatherFacts()
	var r Report
	userns := h.checkUserNS(ctx, f)
	r.Checks = append(r.Checks, userns)
	usernsOK := userns.Status == StatusAvailable
	for _, np := range namespaceProbes {
		r.Checks = append(r.Checks, h.checkNamespace(ctx, f, np, usernsOK))
	}
	r.Checks = append(r.Checks, h.checkOverlay(ctx, f, usernsOK))
	seccomp, nnp := h.checkSeccomp(ctx, f)
	r.Checks = append(r.Checks, seccomp, nnp)
	r.Checks = append(r.Checks, h.checkLandlock(ctx, f))
	cg := h.gatherCgroups()
	r.Checks = append(r.Checks, checkCgroupV2(cg, h.euid), checkCgroupV1(cg, h.euid))
	return r
}

// nsCause explains why a namespace could not be created or used.
func nsCause(f facts, errno unix.Errno) (cause, fix string) {
	switch {
	case errno == 0:
		// Not a kernel refusal (the probe misbehaved or timed out): no
		// host setting explains it.
	case f.maxUserNamespaces == 0:
		return "user.max_user_namespaces is 0, so no user namespace can be created",
			"sysctl -w user.max_user_namespaces=15000 (and persist it in /etc/sysctl.d/)"
	case f.euid != 0 && f.unprivUserNSClone == 0:
		return "kernel.unprivileged_userns_clone is 0: this kernel (Debian before 11) forbids user namespaces to unprivileged users",
			"sysctl -w kernel.unprivileged_userns_clone=1 (and persist it in /etc/sysctl.d/)"
	case f.euid != 0 && f.apparmorRestrict == 1:
		return "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1, the Ubuntu 23.10+ default)",
			"install an AppArmor profile for the airlock binary that grants `userns,` " +
				"(e.g. /etc/apparmor.d/airlock: `abi <abi/4.0>, include <tunables/global> profile airlock /usr/local/bin/airlock flags=(unconfined) { userns, }` " +
				"then apparmor_parser -r /etc/apparmor.d/airlock), or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
	case f.inContainer():
		return "running inside a container whose security profile blocks namespaces (" + f.containerEvidence() + ")",
			"run the container with --security-opt seccomp=unconfined --security-opt apparmor=unconfined (and without a no-new-privileges option), or use the gvisor tier"
	case errno == unix.ENOSPC:
		return fmt.Sprintf("the limit of user namespaces is reached (user.max_user_namespaces=%d)", f.maxUserNamespaces),
			"raise user.max_user_namespaces"
	}
	return "", "check the kernel log (dmesg) for a security module denial"
}

// failedCheck builds the check for a layer whose probe failed.
func failedCheck(layer string, f facts, res probeResult) Check {
	cause, fix := nsCause(f, res.errno())
	detail := res.message()
	if cause != "" {
		detail = cause + " (" + detail + ")"
	}
	return Check{Layer: layer, Status: StatusMissing, Detail: detail, Fix: fix}
}

func (h *host) checkUserNS(ctx context.Context, f facts) Check {
	parent, err := h.nsID("user")
	if err != nil {
		return Check{Layer: LayerUserNS, Status: StatusMissing, Detail: "read /proc/self/ns/user: " + err.Error(),
			Fix: "use a kernel with CONFIG_USER_NS=y"}
	}
	res := h.probe(ctx, probeRequest{Kind: kindUserNS, Args: []string{parent}, Cloneflags: unix.CLONE_NEWUSER})
	if !res.ok() {
		return failedCheck(LayerUserNS, f, res)
	}
	return Check{Layer: LayerUserNS, Status: StatusAvailable,
		Detail: fmt.Sprintf("uid %d maps to root in a new user namespace with working capabilities", h.euid)}
}

// checkNamespace probes one namespace inside a new user namespace. When user
// namespaces are unavailable but doctor runs as root, it probes the
// namespace alone and reports it degraded: it works, but only for root.
func (h *host) checkNamespace(ctx context.Context, f facts, np namespaceProbe, usernsOK bool) Check {
	parent, err := h.nsID(np.name)
	if err != nil {
		return Check{Layer: np.layer, Status: StatusMissing, Detail: fmt.Sprintf("read /proc/self/ns/%s: %v", np.name, err),
			Fix: "use a kernel with namespace support for " + np.name}
	}
	args := []string{np.name, parent}
	var scratch string
	if np.name == "mnt" {
		scratch, err = os.MkdirTemp("", "airlock-doctor-mnt-")
		if err != nil {
			return Check{Layer: np.layer, Status: StatusMissing, Detail: "create probe directory: " + err.Error()}
		}
		defer os.RemoveAll(scratch)
		args = append(args, scratch)
	}
	flags := np.flag
	if usernsOK || h.euid != 0 {
		flags |= unix.CLONE_NEWUSER
	}
	res := h.probe(ctx, probeRequest{Kind: kindNS, Args: args, Cloneflags: flags})
	if !res.ok() {
		return failedCheck(np.layer, f, res)
	}
	if scratch != "" {
		// The tmpfs and its file lived only in the child's namespace.
		if _, err := os.Lstat(filepath.Join(scratch, probeFile)); err == nil {
			return Check{Layer: np.layer, Status: StatusMissing,
				Detail: "a mount made in the new mount namespace is visible on the host",
				Fix:    "check the mount propagation of / (findmnt -o TARGET,PROPAGATION /)"}
		}
	}
	if np.name == "uts" {
		if hn, err := os.Hostname(); err == nil && hn == "airlock-doctor" {
			return Check{Layer: np.layer, Status: StatusMissing, Detail: "the hostname set in the new UTS namespace changed the host's"}
		}
	}
	detail := "a new " + np.name + " namespace works inside a user namespace"
	if flags&unix.CLONE_NEWUSER == 0 {
		return Check{Layer: np.layer, Status: StatusDegraded,
			Detail: "a new " + np.name + " namespace works, but only as root without a user namespace",
			Fix:    "make user namespaces available (see the userns line)"}
	}
	return Check{Layer: np.layer, Status: StatusAvailable, Detail: detail}
}

func (h *host) checkOverlay(ctx context.Context, f facts, usernsOK bool) Check {
	if !usernsOK {
		return Check{Layer: LayerOverlayUserNS, Status: StatusMissing, Detail: "needs user namespaces, which are not available",
			Fix: "make user namespaces available (see the userns line)"}
	}
	fail := func(detail string) Check {
		return Check{Layer: LayerOverlayUserNS, Status: StatusMissing, Detail: detail}
	}
	lower, err := os.MkdirTemp("", "airlock-doctor-lower-")
	if err != nil {
		return fail("create probe directory: " + err.Error())
	}
	defer os.RemoveAll(lower)
	if err := os.WriteFile(filepath.Join(lower, probeFile), []byte("lower"), 0o600); err != nil {
		return fail("create probe file: " + err.Error())
	}
	scratch, err := os.MkdirTemp("", "airlock-doctor-overlay-")
	if err != nil {
		return fail("create probe directory: " + err.Error())
	}
	defer os.RemoveAll(scratch)
	res := h.probe(ctx, probeRequest{Kind: kindOverlay, Args: []string{lower, scratch}, Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS})
	if !res.ok() {
		c := failedCheck(LayerOverlayUserNS, f, res)
		if c.Fix == "" || strings.HasPrefix(c.Fix, "check the kernel log") {
			c.Fix = "use Linux 5.11 or newer (overlayfs in user namespaces); check that the filesystem of " + os.TempDir() + " can be an overlay lower layer"
		}
		return c
	}
	if b, err := os.ReadFile(filepath.Join(lower, probeFile)); err != nil || string(b) != "lower" {
		return fail("a write through the overlay reached the lower directory on the host")
	}
	detail := "overlayfs mounts inside a user namespace (host directory as lower layer, tmpfs upper)"
	if res.Out.Info["options"] != "" {
		detail += " with " + res.Out.Info["options"]
	}
	return Check{Layer: LayerOverlayUserNS, Status: StatusAvailable, Detail: detail}
}

func (h *host) checkSeccomp(ctx context.Context, f facts) (seccomp, nnp Check) {
	res := h.probe(ctx, probeRequest{Kind: kindSeccomp})
	nnp = Check{Layer: LayerNoNewPrivs, Status: StatusAvailable, Detail: "prctl(PR_SET_NO_NEW_PRIVS) takes effect"}
	if res.StartErr != nil {
		nnp = Check{Layer: LayerNoNewPrivs, Status: StatusMissing, Detail: res.message()}
	} else if v := res.Out.Info["no_new_privs"]; v != "ok" {
		if v == "" {
			v = "probe gave no answer: " + res.message()
		}
		nnp = Check{Layer: LayerNoNewPrivs, Status: StatusMissing, Detail: v, Fix: "use Linux 3.5 or newer"}
	}
	seccomp = diagnoseSeccomp(f, res)
	return seccomp, nnp
}

func diagnoseSeccomp(f facts, res probeResult) Check {
	if !res.ok() {
		c := Check{Layer: LayerSeccomp, Status: StatusMissing, Detail: res.message()}
		switch {
		case res.errno() == unix.EINVAL:
			c.Detail = "the kernel does not support seccomp filters (CONFIG_SECCOMP_FILTER=n) (" + c.Detail + ")"
			c.Fix = "use a kernel with CONFIG_SECCOMP_FILTER=y"
		case f.inContainer():
			c.Detail += " (inside a container: " + f.containerEvidence() + ")"
			c.Fix = "run the container with --security-opt seccomp=unconfined, or use the gvisor tier"
		}
		return c
	}
	detail := "installed a seccomp BPF filter"
	if len(f.confinement) > 0 {
		detail += " (stacked on the filter already applied)"
	}
	if missing := res.Out.Info["missing_actions"]; missing != "" {
		return Check{Layer: LayerSeccomp, Status: StatusDegraded,
			Detail: detail + "; the kernel lacks filter return actions: " + missing,
			Fix:    "use Linux 5.0 or newer (SECCOMP_RET_USER_NOTIF, SECCOMP_RET_KILL_PROCESS)"}
	}
	return Check{Layer: LayerSeccomp, Status: StatusAvailable, Detail: detail}
}

// landlockLosses lists what each ABI below the newest one Airlock uses
// lacks.
var landlockLosses = []struct {
	abi  int
	loss string
}{
	{2, "no REFER (files cannot be renamed or linked across directories)"},
	{3, "no TRUNCATE control (truncate(2) of read-only files is not blocked)"},
	{5, "no IOCTL_DEV control (device ioctls are not blocked)"},
	{6, "no signal or abstract unix socket scoping"},
}

func (h *host) checkLandlock(ctx context.Context, f facts) Check {
	abi, err := h.landlockABI()
	if err != nil {
		return diagnoseLandlock(f, 0, err, probeResult{})
	}
	dir, derr := os.MkdirTemp("", "airlock-doctor-landlock-")
	if derr != nil {
		return Check{Layer: LayerLandlock, Status: StatusMissing, Detail: "create probe directory: " + derr.Error()}
	}
	defer os.RemoveAll(dir)
	res := h.probe(ctx, probeRequest{Kind: kindLandlock, Args: []string{dir}})
	return diagnoseLandlock(f, abi, nil, res)
}

func diagnoseLandlock(f facts, abi int, abiErr error, res probeResult) Check {
	c := Check{Layer: LayerLandlock}
	switch {
	case errors.Is(abiErr, unix.ENOSYS):
		c.Status = StatusMissing
		if f.inContainer() {
			c.Detail = "landlock system calls return ENOSYS: the container's seccomp profile blocks them, or the kernel lacks Landlock (" + f.containerEvidence() + ")"
			c.Fix = "run the container with --security-opt seccomp=unconfined, or use a kernel with CONFIG_SECURITY_LANDLOCK=y (Linux 5.13+)"
		} else {
			c.Detail = "the kernel is built without Landlock (CONFIG_SECURITY_LANDLOCK=n) or older than 5.13"
			c.Fix = "use a kernel with CONFIG_SECURITY_LANDLOCK=y (Linux 5.13+); the mount namespace layer still applies"
		}
		return c
	case errors.Is(abiErr, unix.EOPNOTSUPP):
		c.Status = StatusMissing
		c.Detail = "Landlock is built into the kernel but not enabled at boot (missing from the lsm= list)"
		c.Fix = "add landlock to the lsm= kernel parameter (keep the current modules, see /sys/kernel/security/lsm), e.g. lsm=landlock,lockdown,yama,integrity,apparmor,bpf, then reboot"
		return c
	case abiErr != nil:
		c.Status = StatusMissing
		c.Detail = abiErr.Error()
		return c
	}
	if !res.ok() {
		c.Status = StatusMissing
		c.Detail = fmt.Sprintf("abi %d, but enforcing a ruleset failed: %s", abi, res.message())
		return c
	}
	var lost []string
	for _, l := range landlockLosses {
		if abi < l.abi {
			lost = append(lost, l.loss)
		}
	}
	if len(lost) > 0 {
		c.Status = StatusDegraded
		c.Detail = fmt.Sprintf("abi %d enforces, but: %s", abi, strings.Join(lost, "; "))
		c.Fix = "use a newer kernel (Landlock ABI 6 is Linux 6.12+)"
		return c
	}
	c.Status = StatusAvailable
	c.Detail = fmt.Sprintf("abi %d enforces filesystem rules and scopes", abi)
	return c
}
