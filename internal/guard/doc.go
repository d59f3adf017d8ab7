// Package guard is the supervisor's handler for the sandbox's seccomp user
// notifications. It implements two things: the create guard, the mandatory
// write protection of files that the host later executes (.git/hooks,
// .bashrc, .vscode, ...) at any depth of the workspace, including names
// that do not exist when the sandbox starts; and the exec audit, a record
// of every program the sandbox starts (Config.OnExec).
//
// # Create guard
//
// Existing protected paths are read-only bind mounts (set up by package
// sandbox). What mounts cannot express is "this name must never be
// created", because a mount needs a mount point and Airlock leaves no
// placeholder files on the host. So the seccomp filter sends every
// path-creating syscall (open/openat/creat with O_CREAT, mkdir, mknod,
// symlink, link, rename and their *at variants) to this package.
//
// Trust: the sandboxed process and everything it can write (its memory, the
// workspace, symlinks in it) are untrusted. A check-then-continue design is
// racy: another thread could change the path string after it is read. So
// the guard never lets the kernel re-read the path. It reads the arguments
// once, decides, and performs the operation itself, on the sandbox's own
// mount tree (reached through /proc/PID/root with RESOLVE_IN_ROOT and no
// magic links), then returns the result or injects the opened file
// descriptor (SECCOMP_ADDFD_FLAG_SEND). Notifications are handled one at a
// time, so no other create can interleave between a decision and its
// effect. The emulating thread runs with no effective capabilities and the
// target's umask, so it can do no more than the sandboxed process could; the
// sandbox's read-only mounts still apply because the paths are walked in
// the sandbox's mount tree.
//
// Not covered: paths through /proc magic links (refused with ENOENT/ELOOP)
// and creation through a dangling symlink (refused with EACCES).
//
// # Exec audit
//
// With seccomp.Options.NotifyExec the filter also sends execve and
// execveat here. For each one the receiving thread reads the path and argv
// from the task's memory (/proc/PID/mem, argv capped at 256 arguments,
// 4 KiB each, 64 KiB in all), its working directory and parent, checks the
// notification is still pending (so the pid was not recycled), hands the
// record to Config.OnExec and then lets the kernel run the syscall itself
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE). It never refuses an exec, performs
// nothing on the sandbox's behalf and needs no executor thread.
//
// THE EXEC AUDIT IS A RECORD, NOT AN ENFORCEMENT POINT. After CONTINUE the
// kernel reads the path and argv from the task's memory again, and another
// thread of the task (or a process sharing its memory) can rewrite them in
// between: the program that runs may not be the one recorded. So no
// decision may rest on an Exec, and none is made here; what a program may
// do is enforced by the other layers (mounts, Landlock, the filter, the
// create guard). The record is also silent on the outcome: an exec of a
// missing file is recorded and then fails with ENOENT; a script's
// interpreter (#!) and binfmt_misc handlers are started by the kernel
// without a second exec, so only the script is recorded.
//
// The reads are bounded (a few pages per record) but they fault in the
// task's pages, so a page backed by a slow file system stalls the loop as
// long as that page takes. What could stall it for good is out of the
// sandbox's reach: the filter refuses the userfaultfd syscall and mount
// (so no FUSE file system of its own), and package sandbox's minimal /dev
// has no /dev/userfaultfd. A read that fails (a bad pointer, a task that
// died) is named in Exec.Err and the exec is let through: the kernel
// reports its own error.
package guard
