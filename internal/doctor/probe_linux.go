package doctor

// The probe child. The parent re-executes the airlock binary with argv
//
//	[reexec.Argv0("doctor-probe"), kind, args...]
//
// inside the namespaces under test (SysProcAttr.Cloneflags). The child runs
// one probe and answers with a single JSON probeOutput on stdout:
//
//	parent                               child
//	  | clone(flags) + uid/gid maps ------> |
//	  |                                     | exercise the layer
//	  | <------------- {"ok":...} on stdout |
//	  | wait, then check side effects       | exit 0
//
// A child that fails to start reports the kernel's clone error through
// exec; a child that exits without valid JSON counts as a failed probe.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/airlock-sandbox/airlock/internal/landlock"
	"github.com/airlock-sandbox/airlock/internal/reexec"
)

// probeEntry is the reexec entry point name of the probe child.
const probeEntry = "doctor-probe"

// Probe kinds (argv[1] of the child).
const (
	kindUserNS   = "userns"
	kindNS       = "ns"
	kindOverlay  = "overlay"
	kindSeccomp  = "seccomp"
	kindLandlock = "landlock"
)

// probeFile is the file the mount and overlay probes create.
const probeFile = "airlock-doctor-probe"

// probeOutput is the child's answer.
type probeOutput struct {
	OK bool `json:"ok"`
	// Err says which step failed and how.
	Err string `json:"err,omitempty"`
	// Errno is the errno of the failed step, 0 if none.
	Errno int `json:"errno,omitempty"`
	// Info carries probe-specific findings.
	Info map[string]string `json:"info,omitempty"`
}

// Register registers doctor's probe entry points with internal/reexec. main
// calls it before reexec.Dispatch.
func Register() {
	reexec.Register(probeEntry, probeMain)
}

func probeMain() {
	// Per-thread state (no_new_privs, seccomp, Landlock, unshare) must be set
	// and checked on one thread.
	runtime.LockOSThread()
	out := runChildProbe(os.Args[1:])
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(2)
	}
	os.Exit(0)
}

func fail(step string, err error) probeOutput {
	out := probeOutput{Err: fmt.Sprintf("%s: %v", step, err)}
	var errno unix.Errno
	if errors.As(err, &errno) {
		out.Errno = int(errno)
	}
	return out
}

// runChildProbe validates the arguments (they come from argv, so they are
// checked even though the parent is the same binary) and runs the probe.
func runChildProbe(args []string) probeOutput {
	if len(args) == 0 {
		return fail("probe", errors.New("missing probe kind"))
	}
	kind, args := args[0], args[1:]
	for _, a := range args {
		if strings.ContainsAny(a, ",:\n") {
			return fail("probe", fmt.Errorf("argument %q contains a reserved character", a))
		}
	}
	switch {
	case kind == kindUserNS && len(args) == 1:
		return childUserNS(args[0])
	case kind == kindNS && len(args) >= 2:
		return childNS(args[0], args[1], args[2:])
	case kind == kindOverlay && len(args) == 2 && filepath.IsAbs(args[0]) && filepath.IsAbs(args[1]):
		return childOverlay(args[0], args[1])
	case kind == kindSeccomp && len(args) == 0:
		return childSeccomp()
	case kind == kindLandlock && len(args) == 1 && filepath.IsAbs(args[0]):
		return childLandlock(args[0])
	}
	return fail("probe", fmt.Errorf("invalid probe %q with %d arguments", kind, len(args)))
}

// nsID identifies a namespace by the device and inode of its /proc file.
func nsID(name string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/"+name, &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d.%d", st.Dev, st.Ino), nil
}

// childUserNS checks that the child is in a new user namespace, is root
// there, and that its capabilities work (an LSM such as AppArmor can let the
// namespace be created but deny every capability inside it).
func childUserNS(parentID string) probeOutput {
	id, err := nsID("user")
	if err != nil {
		return fail("stat user namespace", err)
	}
	if id == parentID {
		return fail("user namespace", errors.New("child is still in the parent's user namespace"))
	}
	if uid := os.Getuid(); uid != 0 {
		return fail("user namespace", fmt.Errorf("uid inside is %d, want 0 (uid map not applied)", uid))
	}
	if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
		return fail("use CAP_SYS_ADMIN inside the user namespace (unshare uts)", err)
	}
	if err := unix.Sethostname([]byte("airlock-doctor")); err != nil {
		return fail("use CAP_SYS_ADMIN inside the user namespace (sethostname)", err)
	}
	return probeOutput{OK: true}
}

// childNS checks that namespace name is new and exercises it.
func childNS(name, parentID string, extra []string) probeOutput {
	id, err := nsID(name)
	if err != nil {
		return fail("stat "+name+" namespace", err)
	}
	if id == parentID {
		return fail(name+" namespace", errors.New("child is still in the parent's namespace"))
	}
	switch name {
	case "mnt":
		if len(extra) != 1 || !filepath.IsAbs(extra[0]) {
			return fail("mount probe", errors.New("missing mount point"))
		}
		dir := extra[0]
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return fail("make / private", err)
		}
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=64k"); err != nil {
			return fail("mount tmpfs", err)
		}
		if err := os.WriteFile(filepath.Join(dir, probeFile), []byte("x"), 0o600); err != nil {
			return fail("write to tmpfs", err)
		}
	case "pid":
		if pid := os.Getpid(); pid != 1 {
			return fail("pid namespace", fmt.Errorf("pid inside is %d, want 1", pid))
		}
	case "net":
		ifs, err := net.Interfaces()
		if err != nil {
			return fail("list interfaces", err)
		}
		for _, i := range ifs {
			if i.Name != "lo" {
				return fail("net namespace", fmt.Errorf("unexpected interface %q in a fresh namespace", i.Name))
			}
		}
	case "uts":
		if err := unix.Sethostname([]byte("airlock-doctor")); err != nil {
			return fail("sethostname", err)
		}
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			return fail("uname", err)
		}
		if got := unix.ByteSliceToString(u.Nodename[:]); got != "airlock-doctor" {
			return fail("uts namespace", fmt.Errorf("hostname is %q after sethostname", got))
		}
	case "ipc", "cgroup":
		// A new namespace id is the whole check.
	default:
		return fail("probe", fmt.Errorf("unknown namespace %q", name))
	}
	return probeOutput{OK: true}
}

// childOverlay mounts a tmpfs at scratch and an overlay of the host
// directory lower with its upper layer on that tmpfs, then checks reads,
// writes and copy-up.
func childOverlay(lower, scratch string) probeOutput {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fail("make / private", err)
	}
	if err := unix.Mount("tmpfs", scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m"); err != nil {
		return fail("mount tmpfs", err)
	}
	upper, work, merged := filepath.Join(scratch, "upper"), filepath.Join(scratch, "work"), filepath.Join(scratch, "merged")
	for _, d := range []string{upper, work, merged} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fail("mkdir", err)
		}
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	info := map[string]string{}
	err := unix.Mount("overlay", merged, "overlay", 0, opts)
	if err != nil {
		// Older kernels need userxattr spelled out inside a user namespace.
		if err2 := unix.Mount("overlay", merged, "overlay", 0, opts+",userxattr"); err2 != nil {
			return fail("mount overlay", err)
		}
		info["options"] = "userxattr"
	}
	b, err := os.ReadFile(filepath.Join(merged, probeFile))
	if err != nil {
		return fail("read lower file through overlay", err)
	}
	if string(b) != "lower" {
		return fail("read lower file through overlay", fmt.Errorf("got %q, want %q", b, "lower"))
	}
	if err := os.WriteFile(filepath.Join(merged, probeFile), []byte("upper"), 0o600); err != nil {
		return fail("write through overlay", err)
	}
	if b, err := os.ReadFile(filepath.Join(upper, probeFile)); err != nil || string(b) != "upper" {
		return fail("copy-up", fmt.Errorf("upper layer has %q, %v; want %q", b, err, "upper"))
	}
	if b, err := os.ReadFile(filepath.Join(lower, probeFile)); err != nil || string(b) != "lower" {
		return fail("overlay isolation", fmt.Errorf("lower layer has %q, %v; want it unchanged", b, err))
	}
	return probeOutput{OK: true, Info: info}
}

// threadStatus returns field from /proc/thread-self/status.
func threadStatus(field string) (string, error) {
	b, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return "", err
	}
	return statusField(string(b), field)
}

// statusField extracts "Field:\tvalue" from a /proc status file.
func statusField(status, field string) (string, error) {
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && k == field {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no %s field", field)
}

// seccompActions are the filter return actions the sandbox's filter uses.
var seccompActions = map[string]uint32{
	"kill_process": unix.SECCOMP_RET_KILL_PROCESS,
	"errno":        unix.SECCOMP_RET_ERRNO,
	"user_notif":   unix.SECCOMP_RET_USER_NOTIF,
}

// childSeccomp sets no_new_privs, installs a one-instruction allow filter
// and checks that the kernel reports the thread as filtered. Info carries
// the no_new_privs result and the return actions the kernel lacks.
func childSeccomp() probeOutput {
	info := map[string]string{}
	nnp := "ok"
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		nnp = "prctl(PR_SET_NO_NEW_PRIVS): " + err.Error()
	} else if v, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); err != nil || v != 1 {
		nnp = fmt.Sprintf("prctl(PR_GET_NO_NEW_PRIVS) = %d, %v after setting it", v, err)
	} else if s, err := threadStatus("NoNewPrivs"); err != nil || s != "1" {
		nnp = fmt.Sprintf("/proc/thread-self/status NoNewPrivs = %q, %v", s, err)
	}
	info["no_new_privs"] = nnp

	var missing []string
	for _, name := range []string{"errno", "kill_process", "user_notif"} {
		action := seccompActions[name]
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&action)))
		if errno != 0 {
			missing = append(missing, name)
		}
	}
	info["missing_actions"] = strings.Join(missing, " ")

	raw, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW}})
	if err != nil {
		out := fail("assemble filter", err)
		out.Info = info
		return out
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		out := fail("seccomp(SECCOMP_SET_MODE_FILTER)", errno)
		out.Info = info
		return out
	}
	runtime.KeepAlive(filter)
	mode, err := threadStatus("Seccomp")
	if err != nil {
		out := fail("read seccomp mode", err)
		out.Info = info
		return out
	}
	if mode != strconv.Itoa(unix.SECCOMP_MODE_FILTER) {
		out := fail("seccomp", fmt.Errorf("thread seccomp mode is %s after installing a filter, want %d", mode, unix.SECCOMP_MODE_FILTER))
		out.Info = info
		return out
	}
	return probeOutput{OK: true, Info: info}
}

// childLandlock enforces a ruleset that allows reading everything and
// writing nothing, then checks that a write in dir is refused while reading
// still works.
func childLandlock(dir string) probeOutput {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fail("prctl(PR_SET_NO_NEW_PRIVS)", err)
	}
	res, err := landlock.Restrict(landlock.Rules{ReadOnly: []string{"/"}}, 1)
	if err != nil {
		return fail("landlock restrict", err)
	}
	info := map[string]string{"abi": strconv.Itoa(res.ABI)}
	f, err := os.OpenFile(filepath.Join(dir, probeFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		f.Close()
		out := fail("landlock enforcement", errors.New("creating a file under a read-only rule succeeded"))
		out.Info = info
		return out
	}
	if !errors.Is(err, unix.EACCES) {
		out := fail("landlock enforcement", fmt.Errorf("creating a file under a read-only rule failed with %w, want EACCES", err))
		out.Info = info
		return out
	}
	if _, err := os.ReadDir(dir); err != nil {
		out := fail("landlock read under a read-only rule", err)
		out.Info = info
		return out
	}
	return probeOutput{OK: true, Info: info}
}
