// Package guard is the supervisor's handler for the sandbox's seccomp user
// notifications. Today it implements the create guard: the mandatory write
// protection of files that the host later executes (.git/hooks, .bashrc,
// .vscode, ...) at any depth of the workspace, including names that do not
// exist when the sandbox starts.
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
package guard
