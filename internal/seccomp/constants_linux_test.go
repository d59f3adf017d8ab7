package seccomp

import (
	"fmt"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestConstantsMatchKernelHeaders checks the hand-written ABI constants
// against golang.org/x/sys/unix, which is generated from kernel headers.
func TestConstantsMatchKernelHeaders(t *testing.T) {
	cases := []struct {
		name      string
		got, want uint64
	}{
		{"AUDIT_ARCH_X86_64", auditArchX86_64, unix.AUDIT_ARCH_X86_64},
		{"AUDIT_ARCH_I386", auditArchI386, unix.AUDIT_ARCH_I386},
		{"AUDIT_ARCH_AARCH64", auditArchAarch64, unix.AUDIT_ARCH_AARCH64},
		{"AUDIT_ARCH_ARM", auditArchARM, unix.AUDIT_ARCH_ARM},
		{"SECCOMP_RET_KILL_PROCESS", retKillProcess, unix.SECCOMP_RET_KILL_PROCESS},
		{"SECCOMP_RET_KILL_THREAD", retKillThread, unix.SECCOMP_RET_KILL_THREAD},
		{"SECCOMP_RET_ERRNO", retErrno, unix.SECCOMP_RET_ERRNO},
		{"SECCOMP_RET_USER_NOTIF", retUserNotif, unix.SECCOMP_RET_USER_NOTIF},
		{"SECCOMP_RET_ALLOW", retAllow, unix.SECCOMP_RET_ALLOW},
		{"SECCOMP_RET_DATA", retDataMask, unix.SECCOMP_RET_DATA},
		{"EPERM", errnoEPERM, uint64(unix.EPERM)},
		{"ENOSYS", errnoENOSYS, uint64(unix.ENOSYS)},
		{"CLONE_NEWTIME", cloneNewTime, unix.CLONE_NEWTIME},
		{"CLONE_NEWNS", cloneNewNS, unix.CLONE_NEWNS},
		{"CLONE_NEWCGROUP", cloneNewCgroup, unix.CLONE_NEWCGROUP},
		{"CLONE_NEWUTS", cloneNewUTS, unix.CLONE_NEWUTS},
		{"CLONE_NEWIPC", cloneNewIPC, unix.CLONE_NEWIPC},
		{"CLONE_NEWUSER", cloneNewUser, unix.CLONE_NEWUSER},
		{"CLONE_NEWPID", cloneNewPID, unix.CLONE_NEWPID},
		{"CLONE_NEWNET", cloneNewNet, unix.CLONE_NEWNET},
		{"TIOCSTI", ioctlTIOCSTI, unix.TIOCSTI},
		{"TIOCLINUX", ioctlTIOCLINUX, unix.TIOCLINUX},
		{"AF_UNIX", afUnix, unix.AF_UNIX},
		{"AF_PACKET", afPacket, unix.AF_PACKET},
		{"AF_VSOCK", afVsock, unix.AF_VSOCK},
		{"SOCK_STREAM", sockStream, unix.SOCK_STREAM},
		{"O_CREAT", oCreat, unix.O_CREAT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %#x, want %#x", c.got, c.want)
			}
		})
	}
}

// TestNativeSyscallTable checks the generated table of the running
// architecture against the numbers golang.org/x/sys/unix compiles in, and
// the exported lookups against both.
func TestNativeSyscallTable(t *testing.T) {
	ar, err := archForGOARCH(runtime.GOARCH)
	if err != nil {
		t.Skipf("no syscall table for %s: %v", runtime.GOARCH, err)
	}
	cases := []struct {
		name string
		nr   uintptr
	}{
		{"read", unix.SYS_READ}, {"openat", unix.SYS_OPENAT}, {"clone", unix.SYS_CLONE},
		{"clone3", unix.SYS_CLONE3}, {"ioctl", unix.SYS_IOCTL}, {"execve", unix.SYS_EXECVE},
		{"unshare", unix.SYS_UNSHARE}, {"socket", unix.SYS_SOCKET}, {"mount", unix.SYS_MOUNT},
		{"open_tree_attr", unix.SYS_OPEN_TREE_ATTR},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ar.sysnum[c.name]; uintptr(got) != c.nr {
				t.Errorf("table: got %d, want %d", got, c.nr)
			}
			if got, ok := SyscallNumber(c.name); !ok || uintptr(got) != c.nr {
				t.Errorf("SyscallNumber: got %d, %v, want %d, true", got, ok, c.nr)
			}
			if got := SyscallName(int(c.nr)); got != c.name {
				t.Errorf("SyscallName(%d): got %q, want %q", c.nr, got, c.name)
			}
		})
	}
	for _, bad := range []int{-1, 100000, 1 << 40} {
		t.Run(fmt.Sprintf("unknown %d", bad), func(t *testing.T) {
			if got := SyscallName(bad); got != "" {
				t.Errorf("got %q, want empty", got)
			}
		})
	}
	if _, ok := SyscallNumber("no_such_syscall"); ok {
		t.Error("SyscallNumber(no_such_syscall): got ok, want not found")
	}
	prog, err := Program(Options{})
	if err != nil {
		t.Fatalf("Program: %v", err)
	}
	want := program(t, ar, Options{})
	if fmt.Sprint(prog) != fmt.Sprint(want) {
		t.Error("Program differs from ProgramFor the running architecture")
	}
}
