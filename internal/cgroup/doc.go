// Package cgroup puts one sandbox run under resource limits (memory, number
// of tasks, CPU time) using Linux control groups, on cgroup v2 (unified),
// cgroup v1 and hybrid hosts.
//
// For each limit asked for, New picks one hierarchy: cgroup v2 when the
// controller is available to the caller's own v2 cgroup and can be delegated
// to a child (it enables the controller in the caller's cgroup.subtree_control
// when needed), otherwise the cgroup v1 hierarchy that carries the
// controller. It then creates one fresh child cgroup of the caller's own
// cgroup in every hierarchy it uses, and writes the limits there. A limit
// that no hierarchy can enforce is an error wrapping ErrUnavailable: the
// package never silently runs a sandbox without a limit the caller asked for.
//
// What it trusts: the kernel's view of the caller's own cgroups
// (/proc/self/cgroup) and of the mounts (/proc/self/mountinfo), and the
// directories of the caller's own cgroups, which belong to the host.
//
// What it does not trust: the contents of the group it creates, which the
// sandboxed processes live in. Every file operation inside a group goes
// through a directory descriptor opened once with O_NOFOLLOW, on fixed file
// names opened with O_NOFOLLOW, after checking that the directory is on a
// cgroup file system; so a symlink planted there is refused rather than
// followed. The process ids read back from cgroup.procs are signalled
// through pidfds that are checked to still be members, so a pid reused by an
// unrelated process after its owner exited is not killed.
//
// Kill and Close also use, when no limit lives in cgroup v2, an extra
// controller-less group in the v2 hierarchy (for cgroup.kill and
// cgroup.freeze) or in the v1 freezer hierarchy, when one of them can be
// created; it only serves to stop every process of the run reliably.
package cgroup
