// Package doctor implements `airlock doctor`: it probes each isolation layer
// Airlock relies on and reports it as available, degraded or missing, with
// the specific cause and the fix.
//
// Probes are real: namespaces are created in a child process (the airlock
// binary re-executed through internal/reexec, entry points registered by
// Register), which then exercises them (mounts a tmpfs, mounts overlayfs
// inside a user namespace, installs a seccomp filter, enforces a Landlock
// ruleset). The cgroup checks are read-only.
//
// What it trusts: the kernel's answers to those probes, and the host's
// /proc and /sys files, which are only used to explain a failure (AppArmor's
// user namespace restriction, the Debian and max_user_namespaces sysctls,
// container markers), never to claim a layer works. What it does not trust:
// the probe child is the same binary, but its report is only believed when
// the child ran to completion; a child that dies or prints garbage makes the
// layer "missing", so doctor fails closed. Layers that were never probed are
// reported missing by Report.Missing.
package doctor
