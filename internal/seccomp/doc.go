// Package seccomp generates and installs the seccomp-bpf filter that
// confines the sandboxed command. It is pure Go: the program is assembled
// with golang.org/x/net/bpf and loaded with seccomp(2) through
// golang.org/x/sys/unix, without libseccomp or cgo.
//
// # What the filter does
//
// The filter runs on every syscall of the sandboxed process and its
// descendants, so it is a binary search over syscall-number ranges (fewer
// than 25 instructions on any path, a few hundred in total), not a linear
// list:
//
//  1. seccomp_data.arch must be the native audit arch (AUDIT_ARCH_X86_64
//     or AUDIT_ARCH_AARCH64). Anything else, notably AUDIT_ARCH_I386 from
//     int 0x80 on x86_64 and AUDIT_ARCH_ARM on aarch64, kills the process
//     (SECCOMP_RET_KILL_PROCESS): the compat ABIs have their own syscall
//     numbers, which a native allowlist would misread.
//  2. Syscall numbers with the x32 bit (0x40000000) set fail with ENOSYS.
//     The allowlist is keyed on full 32-bit numbers and holds none with
//     that bit, so every x32 number falls in the ENOSYS default; no extra
//     instruction is spent on it. ENOSYS is also what a kernel built or
//     booted without x32 support answers, so no legitimate program sees a
//     difference, and the x32 syscall table is never reached.
//  3. A default-deny allowlist modelled on Docker's default profile (file
//     I/O, memory, processes, futexes, signals, timers, polling, sockets,
//     System V and POSIX IPC, landlock and nested seccomp) is allowed.
//     Everything else, including syscalls added by kernels newer than the
//     table, fails with ENOSYS, so programs take their usual fallback.
//  4. clone3 fails with ENOSYS; its flags sit behind a pointer the filter
//     cannot read. glibc and musl then fall back to clone.
//  5. clone and unshare fail with EPERM when their flags contain any
//     CLONE_NEW* namespace flag; other flags are allowed.
//  6. ioctl fails with EPERM for TIOCSTI (injecting input into the
//     controlling terminal, the classic sandbox escape) and TIOCLINUX. Only
//     the low 32 bits of the request are compared, as the kernel truncates
//     it to unsigned int: 0xffffffff00005412 is TIOCSTI too.
//  7. socket fails with EPERM for AF_PACKET, AF_VSOCK (not confined by
//     network namespaces; reaches the host of a VM) and, unless
//     Options.AllowUnixSockets, AF_UNIX (reaches host daemons such as the
//     Docker socket). socketpair is then limited to AF_UNIX stream pairs:
//     a datagram or seqpacket pair can sendto() any pathname socket.
//     AF_NETLINK stays allowed; getaddrinfo needs it on some systems.
//  8. With Options.NotifyCreate, open/openat with O_CREAT, creat, mkdir,
//     mknod, symlink, link, rename and their *at forms return
//     SECCOMP_RET_USER_NOTIF for the supervisor to decide, and openat2
//     fails with ENOSYS (its flags are behind a pointer; libc falls back to
//     openat). With Options.NotifyExec, execve and execveat are notified.
//  9. The syscalls below fail with EPERM whatever their arguments. EPERM
//     rather than ENOSYS, so a program reports "not permitted" instead of
//     looking for a fallback to the same kernel feature.
//
// Argument checks read the low 32-bit word of an argument. Every argument
// they inspect is an int or unsigned int, or (clone flags) read by the
// kernel as its lower 32 bits, so the kernel ignores the high word as well
// (unshare rejects it with EINVAL).
//
// # Refused syscalls
//
//	syscall                                why
//	mount umount2 fsopen fsmount           change the mount table: hide or
//	move_mount open_tree open_tree_attr    replace the sandbox's view of the
//	fspick fsconfig mount_setattr          file system, remount read-only
//	pivot_root chroot                      binds writable
//	setns                                  join another namespace (host net,
//	                                       mount, user) through a held fd
//	ptrace process_vm_readv                read or write another process's
//	process_vm_writev                      memory and registers
//	pidfd_getfd                            steal an open fd from another
//	                                       process (same check as ptrace)
//	kcmp                                   compare kernel objects of other
//	                                       processes: a kernel pointer oracle
//	process_madvise migrate_pages          act on other processes' memory
//	move_pages
//	kexec_load kexec_file_load             replace the running kernel
//	init_module finit_module               load or unload kernel code
//	delete_module create_module
//	get_kernel_syms query_module
//	bpf perf_event_open                    large kernel attack surface and
//	userfaultfd io_uring_setup             the usual exploit primitives
//	io_uring_enter io_uring_register       (io_uring also bypasses this
//	                                       filter: its operations are not
//	                                       syscalls)
//	keyctl add_key request_key             kernel keyrings are not
//	                                       namespaced: reach host secrets
//	modify_ldt                             16-bit segments, long history of
//	                                       kernel bugs, unused by 64-bit code
//	personality                            can disable ASLR (ADDR_NO_RANDOMIZE)
//	                                       and select legacy behaviours
//	uselib _sysctl nfsservctl              obsolete interfaces
//	lookup_dcookie
//	open_by_handle_at name_to_handle_at    open files by handle, bypassing
//	                                       path-based confinement (the
//	                                       "shocker" container escape)
//	iopl ioperm                            raw I/O port access
//	swapon swapoff reboot                  whole-machine state
//	syslog                                 kernel log: addresses, host events
//	acct quotactl quotactl_fd              host-wide accounting and quotas
//	vhangup                                hang up the controlling terminal
//	fanotify_init                          watch or block file access
//	                                       system-wide
//	sethostname setdomainname              rename the host when no UTS
//	                                       namespace is in use
//	settimeofday clock_settime             set the system clock
//	clock_adjtime adjtimex
//
// Refused returns this list. Names that do not exist on an architecture
// (iopl on aarch64) are simply absent from its filter.
//
// # What it trusts and what it does not
//
// The filter trusts nothing the sandboxed process supplies: it reads only
// seccomp_data, which the kernel fills in, and never dereferences
// pointers (which is why clone3 and openat2 are refused rather than
// inspected). It trusts the kernel to run the filter on every syscall of
// the thread it is installed on and of every process forked from it.
//
// It does not confine by itself: file system paths, network destinations
// and namespaces are the job of the other layers. It does not see what
// io_uring or ioctls other than TIOCSTI/TIOCLINUX do. USER_NOTIF
// decisions are made by the supervisor reading the listener; the filter
// only routes the syscalls there, and a pointer argument the supervisor
// reads can change after it reads it (time-of-check to time-of-use), so
// the supervisor must treat notified paths as hints unless it opens them
// itself.
//
// Install must run on the thread that will exec the command, after
// PR_SET_NO_NEW_PRIVS, with the OS thread locked: a filter applies to the
// calling thread and the processes it forks, not to other Go threads. On
// systems other than Linux, Program and Install return an "unsupported"
// error and nothing runs unfiltered; ProgramFor and Disassemble work on
// every system.
//
// The syscall tables (sysnum_*.go) are generated from golang.org/x/sys by
// mksysnum.go.
package seccomp

//go:generate go run mksysnum.go
