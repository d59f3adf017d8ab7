// Package policy defines what a sandboxed command may do, and builds that
// Policy from the built-in profiles, a native YAML policy file (--policy), a
// sandbox-runtime settings file (--settings) and command-line flags.
//
// The package is pure: data in, data out. Its only I/O is reading the policy
// and settings files named to LoadFile, LoadSettings and Build. It resolves
// no paths on disk, follows no symlinks and reads no environment: Expand
// takes the home and workspace directories from its caller.
//
// Trust: the files and flags are user input and are trusted to say what the
// user wants, never to be well formed. Every value is checked (paths, globs,
// domain patterns, CIDRs, environment names, limits, layer names) and
// contradictory rules, such as a path both writable and write-protected, or
// a writable path hidden by a read-deny rule, are errors rather than
// silently resolved. Errors are *Error values that name the file, line and
// column, or the flag, so the user can fix the cause. Settings that would
// weaken the sandbox below what the user can express natively are refused,
// not ignored.
//
// Not here: enforcement. The sandbox package turns a Policy into namespaces,
// mounts, Landlock and seccomp; the egress proxy enforces Network. The
// policy says nothing about files that appear after it is built, and
// nothing here can tell whether a path names what the user thinks it does;
// that is the sandbox's job at setup time.
//
// Path forms: "~" or "~/x" (the home directory), "/abs", or "rel" (relative
// to the workspace). In DenyRead and AllowRead an entry without "/" is a
// base-name glob (".env.*", "*.key"), matched at any depth of the workspace
// and at the top of the home directory; every other path is literal, and
// globs are refused where they would be taken literally.
package policy
