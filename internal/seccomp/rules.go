package seccomp

import "slices"

// The policy as data. Names are kernel syscall names; a name missing from an
// architecture's table (open on aarch64, iopl outside x86) is skipped for
// that architecture. rules_test.go checks that every name exists on at least
// one supported architecture and that no name is in two lists, so a typo
// cannot silently turn an intended allow or refusal into the ENOSYS default.

// allowed are syscalls allowed with any arguments: what an ordinary Linux
// program (shells, compilers, language runtimes, package managers, test
// runners) needs, modelled on Docker's default profile minus the entries
// that profile grants only with extra capabilities.
var allowed = []string{
	// File descriptors and I/O.
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
	"pwritev", "preadv2", "pwritev2", "close", "close_range", "dup", "dup2",
	"dup3", "fcntl", "flock", "lseek", "sendfile", "splice", "tee",
	"vmsplice", "copy_file_range", "pipe", "pipe2", "fsync", "fdatasync",
	"sync", "syncfs", "sync_file_range", "fadvise64", "readahead",
	"fallocate", "truncate", "ftruncate", "cachestat",
	// File system metadata and directory operations that create no name.
	"stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs",
	"ustat", "sysfs", "access", "faccessat", "faccessat2", "getdents",
	"getdents64", "getcwd", "chdir", "fchdir", "readlink", "readlinkat",
	"unlink", "unlinkat", "rmdir", "chmod", "fchmod", "fchmodat",
	"fchmodat2", "chown", "fchown", "lchown", "fchownat", "umask", "utime",
	"utimes", "futimesat", "utimensat", "getxattr", "lgetxattr",
	"fgetxattr", "getxattrat", "setxattr", "lsetxattr", "fsetxattr",
	"setxattrat", "listxattr", "llistxattr", "flistxattr", "listxattrat",
	"removexattr", "lremovexattr", "fremovexattr", "removexattrat",
	"file_getattr", "file_setattr", "inotify_init", "inotify_init1",
	"inotify_add_watch", "inotify_rm_watch", "fanotify_mark",
	// Memory.
	"brk", "mmap", "mprotect", "munmap", "mremap", "msync", "mincore",
	"madvise", "mlock", "mlock2", "munlock", "mlockall", "munlockall",
	"remap_file_pages", "mbind", "get_mempolicy", "set_mempolicy",
	"set_mempolicy_home_node", "membarrier", "memfd_create", "memfd_secret",
	"pkey_alloc", "pkey_free", "pkey_mprotect", "mseal", "map_shadow_stack",
	// Processes and threads (clone, unshare and execve are rules below).
	"fork", "vfork", "exit", "exit_group", "wait4", "waitid", "kill",
	"tkill", "tgkill", "getpid", "getppid", "gettid", "getpgid", "setpgid",
	"getpgrp", "getsid", "setsid", "set_tid_address", "set_robust_list",
	"get_robust_list", "rseq", "arch_prctl", "set_thread_area",
	"get_thread_area", "prctl", "seccomp", "landlock_create_ruleset",
	"landlock_add_rule", "landlock_restrict_self", "pidfd_open",
	"pidfd_send_signal", "process_mrelease", "restart_syscall", "uretprobe",
	// Futexes and scheduling.
	"futex", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue",
	"sched_yield", "sched_getaffinity", "sched_setaffinity",
	"sched_getparam", "sched_setparam", "sched_getscheduler",
	"sched_setscheduler", "sched_getattr", "sched_setattr",
	"sched_get_priority_max", "sched_get_priority_min",
	"sched_rr_get_interval", "getpriority", "setpriority", "ioprio_get",
	"ioprio_set", "getcpu",
	// Credentials and limits (no_new_privs keeps these from gaining
	// anything).
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getgroups", "setuid", "setgid", "setreuid", "setregid", "setresuid",
	"setresgid", "setfsuid", "setfsgid", "setgroups", "capget", "capset",
	"getrlimit", "setrlimit", "prlimit64", "getrusage", "times", "sysinfo",
	"uname",
	// Signals.
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending",
	"rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
	"rt_sigsuspend", "sigaltstack", "pause", "signalfd", "signalfd4",
	// Time and timers (reading clocks only).
	"time", "gettimeofday", "clock_gettime", "clock_getres", "nanosleep",
	"clock_nanosleep", "alarm", "getitimer", "setitimer", "timer_create",
	"timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
	"timerfd_create", "timerfd_settime", "timerfd_gettime",
	// Polling and events.
	"poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd",
	"eventfd2",
	// Sockets (socket and socketpair are rules below).
	"connect", "accept", "accept4", "bind", "listen", "shutdown",
	"getsockname", "getpeername", "getsockopt", "setsockopt", "sendto",
	"recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
	// Asynchronous I/O (io_uring is refused).
	"io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents",
	"io_pgetevents",
	// System V and POSIX IPC.
	"shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop",
	"semctl", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open",
	"mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
	"mq_getsetattr",
	// Randomness.
	"getrandom",
}

// refused are syscalls that fail with EPERM whatever their arguments. EPERM
// (not ENOSYS) tells a program "not allowed here" so it does not look for a
// fallback that would reach the same kernel feature. doc.go explains each.
var refused = []string{
	// Mount table and root directory.
	"mount", "umount2", "fsopen", "fsmount", "move_mount", "open_tree",
	"open_tree_attr", "fspick", "fsconfig", "mount_setattr", "pivot_root",
	"chroot",
	// Namespaces.
	"setns",
	// Other processes' memory, descriptors and kernel objects.
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	"kcmp", "process_madvise", "migrate_pages", "move_pages",
	// Kernel code and kernel attack surface.
	"kexec_load", "kexec_file_load", "init_module", "finit_module",
	"delete_module", "create_module", "get_kernel_syms", "query_module",
	"bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
	"io_uring_enter", "io_uring_register", "keyctl", "add_key",
	"request_key", "modify_ldt", "personality", "uselib", "_sysctl",
	"nfsservctl", "lookup_dcookie",
	// File handles bypass path-based confinement.
	"open_by_handle_at", "name_to_handle_at",
	// Hardware and whole-system state.
	"iopl", "ioperm", "swapon", "swapoff", "reboot", "syslog", "acct",
	"quotactl", "quotactl_fd", "vhangup", "fanotify_init", "sethostname",
	"setdomainname",
	// Clocks.
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
}

// Syscalls whose action depends on arguments or Options.
var (
	// createFamily are notified when Options.NotifyCreate is set and
	// allowed otherwise. open, creat and openat are handled separately
	// (only O_CREAT opens are notified; creat always is).
	createFamily = []string{
		"mkdir", "mkdirat", "mknod", "mknodat", "symlink", "symlinkat",
		"link", "linkat", "rename", "renameat", "renameat2",
	}
	// execFamily are notified when Options.NotifyExec is set.
	execFamily = []string{"execve", "execveat"}
	// argRules are syscalls with an argument-checking rule in filter.go.
	argRules = []string{
		"clone", "clone3", "unshare", "ioctl", "socket", "socketpair",
		"open", "creat", "openat", "openat2",
	}
)

// Refused returns the names of the syscalls the filter always fails with
// EPERM, sorted. Names absent from the running architecture (iopl on
// aarch64) are included; SyscallNumber tells which exist.
func Refused() []string {
	out := slices.Clone(refused)
	slices.Sort(out)
	return out
}
