package seccomp

import (
	"slices"
	"testing"
)

// TestRuleNamesExist catches typos: a misspelt name would silently fall to
// the ENOSYS default instead of being allowed or refused.
func TestRuleNamesExist(t *testing.T) {
	lists := map[string][]string{
		"allowed": allowed, "refused": refused, "createFamily": createFamily,
		"execFamily": execFamily, "argRules": argRules,
	}
	seen := map[string]string{}
	for list, names := range lists {
		for _, name := range names {
			if prev, dup := seen[name]; dup {
				t.Errorf("%s is in both %s and %s", name, prev, list)
			}
			seen[name] = list
			found := false
			for _, ar := range supportedArches {
				if _, ok := ar.sysnum[name]; ok {
					found = true
				}
			}
			if !found {
				t.Errorf("%s in %s is not a syscall on any supported architecture", name, list)
			}
		}
	}
}

// TestNativeArchCoreSyscalls checks the rules cover what every program on
// the architecture needs; a table regression here would break every
// sandboxed command.
func TestNativeArchCoreSyscalls(t *testing.T) {
	core := []string{"read", "write", "close", "mmap", "munmap", "brk", "rt_sigaction",
		"rt_sigprocmask", "rt_sigreturn", "futex", "execve", "exit_group", "openat",
		"newfstatat", "clone", "wait4", "getrandom", "set_tid_address", "set_robust_list",
		"rseq", "prlimit64", "ioctl", "epoll_pwait", "sched_yield", "madvise", "sigaltstack"}
	for _, ar := range supportedArches {
		for _, name := range core {
			t.Run(ar.name+"/"+name, func(t *testing.T) {
				d := seccompData{nr: nr(t, ar, name), arch: ar.audit}
				if got := run(t, newVM(t, program(t, ar, Options{})), d); got != mAllow {
					t.Errorf("got %s, want ALLOW", actionName(got))
				}
			})
		}
	}
}

func TestRefused(t *testing.T) {
	got := Refused()
	if !slices.IsSorted(got) {
		t.Errorf("Refused() is not sorted: %v", got)
	}
	// The brief's list of refused syscalls; Refused may hold more.
	for _, name := range []string{"mount", "umount2", "fsopen", "fsmount", "move_mount",
		"open_tree", "fspick", "fsconfig", "mount_setattr", "pivot_root", "chroot", "setns",
		"ptrace", "process_vm_readv", "process_vm_writev", "kexec_load", "kexec_file_load",
		"init_module", "finit_module", "delete_module", "bpf", "perf_event_open",
		"userfaultfd", "keyctl", "add_key", "request_key", "io_uring_setup",
		"io_uring_enter", "io_uring_register", "personality", "open_by_handle_at",
		"name_to_handle_at", "iopl", "ioperm", "swapon", "swapoff", "reboot", "syslog",
		"acct", "quotactl", "quotactl_fd", "lookup_dcookie", "vhangup", "nfsservctl",
		"uselib", "_sysctl", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
		"create_module", "get_kernel_syms", "query_module", "pidfd_getfd",
		"fanotify_init"} {
		if !slices.Contains(got, name) {
			t.Errorf("Refused() lacks %s", name)
		}
	}
	got[0] = "mutated"
	if Refused()[0] == "mutated" {
		t.Error("Refused() returns the package's own slice")
	}
}
