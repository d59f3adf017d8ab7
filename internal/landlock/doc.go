// Package landlock confines the calling thread with the Landlock LSM, using
// the raw landlock_* system calls. It is Airlock's second filesystem layer:
// the first is the mount namespace (read-only host root, writable workspace,
// deny masks as mounts), and this package restates the same rules to the
// kernel so that a mistake or a bypass in one layer is still caught by the
// other.
//
// # Model
//
// Restrict handles every filesystem access right the running kernel's ABI
// knows (V1 base rights, V2 REFER, V3 TRUNCATE, V5 IOCTL_DEV, V9
// RESOLVE_UNIX), so after it returns nothing is reachable unless a rule
// grants it. ReadOnly paths get EXECUTE, READ_FILE and READ_DIR; ReadWrite
// paths get every handled right. Network rights (ABI 4) are not handled: the
// network namespace and the egress proxy own that layer.
//
// Landlock can only grant. A Deny path P under a ReadOnly ancestor A is kept
// unreadable by "hole punching": A gets no rule of its own; every directory
// on the chain from A down to P gets READ_DIR only, and every other entry in
// those chain directories gets its read-only grant individually. P gets
// nothing. Entries that appear in a chain directory after Restrict (a file
// the host creates later, or P itself if it did not exist yet) inherit only
// READ_DIR, so their contents are not readable.
//
// Consequences worth knowing:
//   - READ_DIR is hierarchical, so the names inside a denied directory (and
//     inside directories created later in a chain directory) can still be
//     listed; file contents cannot be opened. The mount layer hides the names.
//   - A Deny path is matched both as written and with its symlinks resolved.
//     When a component of it does not exist (or is a symlink or a
//     non-directory), that component is the point that gets no rights, which
//     is never weaker than denying the full path.
//   - Symlinks in chain directories get no rule: Landlock checks the object a
//     path resolves to, not the link, so opening a link works exactly when
//     its target is granted. Siblings are opened with O_PATH|O_NOFOLLOW so a
//     link can never cause its target to be granted.
//   - Entries of a chain directory that Landlock cannot attach a rule to
//     (pseudo-filesystem objects such as nsfs bind mounts, EBADFD) are left
//     without a grant, so they stay inaccessible.
//   - An explicit ReadOnly or ReadWrite path inside a denied area is still
//     granted: the more specific grant wins.
//   - A Deny path inside a ReadWrite path cannot be punched without losing
//     write access, so Restrict fails unless SkipDenyUnderWritable is set;
//     then those paths are left to the mount layer and listed in
//     Result.Skipped.
//
// Scopes (ABI 6) are applied only when requested and supported; on an older
// kernel Result.Scoped is 0 and the caller decides whether that is acceptable.
//
// # Trust
//
// The rule paths come from the supervisor's policy and are trusted as
// intent, not as filesystem state: paths are resolved once, then every rule
// target is opened component by component with O_PATH|O_NOFOLLOW, and a
// symlink that appears where a real directory was found fails the call
// instead of redirecting a grant. Restrict affects only the calling thread;
// the caller locks the OS thread and executes the sandboxed program right
// after, so the restriction is inherited across execve. no_new_privs must
// already be set.
package landlock
