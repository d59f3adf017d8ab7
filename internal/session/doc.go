// Package session keeps what an agent changed in a workspace apart from the
// workspace until a person reviews and applies it.
//
// A session is a directory in the store ($XDG_STATE_HOME/airlock or
// ~/.local/state/airlock, mode 0700). The sandbox mounts an overlay file
// system with the workspace as the lower layer and the session's upper and
// work directories on top (UpperDir, WorkDir); everything the agent writes
// lands in the upper directory: new and copied-up files, whiteouts
// (character devices 0:0) for deletions, and directories marked opaque
// (xattr user.overlay.opaque="y" with the userxattr mount option used in a
// user namespace, trusted.overlay.opaque="y" when mounted by real root;
// both are read) when a directory was removed and made again. The overlay
// is expected without redirect_dir and metacopy: a directory renamed by
// the agent shows as a new directory plus a whiteout; a redirect or
// metacopy attribute makes that path refused rather than guessed at.
//
// Begin records the base state of the workspace before each run (type,
// mode, size, mtime, ctime, device and inode of every path, symlink
// targets; other mounts are not descended into), End adds a SHA-256 of
// each touched file whose workspace copy is still unchanged. Changes
// compares the upper directory with the base state; WriteDiff shows the
// result like git diff; Apply copies it into the workspace.
//
// # Trust
//
// The upper directory is written by the agent and is untrusted. It is
// walked through directory descriptors without following any symlink; a
// symlink there is a change like any other (its target is shown and
// applied as a symlink, never followed). Device nodes other than
// whiteouts, FIFOs, sockets, unreadable entries and overlay
// redirect/metacopy entries are refused. File names are quoted in all
// output, and content is escaped for the terminal unless DiffOptions.Raw is
// set, so neither can forge a line of the review. Files are copied by
// streaming, without a size limit. Apply strips setuid, setgid and sticky
// bits from every mode it writes, so applying a session never creates a
// set-id program; other permission bits are kept. Ownership, extended
// attributes and timestamps are not copied: applied files belong to the
// user running Apply and get the current time. A file is replaced by
// renaming a new one over it, so other hard links to it keep the old
// content, as with most editors.
//
// The workspace is trusted not to attack airlock, but the user edits it
// concurrently. Every workspace path is resolved with openat2 below a
// descriptor of the workspace root with RESOLVE_BENEATH,
// RESOLVE_NO_SYMLINKS, RESOLVE_NO_MAGICLINKS and RESOLVE_NO_XDEV, so a
// symlink planted in a parent directory (or a mount) makes that change
// refused instead of writing elsewhere. Any difference between the
// workspace now and the base state at a changed path is a conflict (the
// stat tuple, or the content hash when it was recorded; a path that
// appeared or disappeared counts too): Apply leaves conflicts out unless
// forced, and never deletes or replaces a directory holding entries the
// base state did not know. Each install re-checks the workspace state
// right before its rename, so an edit made during the apply is not lost
// either.
//
// # Apply journal
//
// Apply is atomic per file and crash-safe as a whole, through a journal in
// the session directory:
//
//	session dir                     workspace
//	-----------                     ---------
//	journal: begin, steps, planned
//	  (fsync)
//	                                phase 1, staging: new names only
//	                                  mkdir new directories (0700)
//	                                  .airlock-<id>-<n> temporaries:
//	                                    O_EXCL, copy, chmod, fsync
//	                                  fsync their directories
//	                                  (64 files or more: one syncfs instead)
//	journal: staged hashes, commit
//	  (fsync)            <- commit point: before it roll back, after it roll forward
//	                                phase 3, in this order:
//	                                  unlink deleted files   (deepest first)
//	                                  rmdir deleted dirs     (deepest first)
//	                                  rename temporaries into place
//	                                  chmod new and changed directories
//	                                  fsync the parent directories
//	manifest, meta updated
//	journal removed (fsync)
//
// Phase 1 touches only names that did not exist, so until the commit
// record is durable the workspace content is unchanged. Recover, run at
// the start of every airlock command and by Begin and Apply, finds a
// journal left by a crash: without a commit record it removes the staged
// temporaries and directories (roll back); with one it redoes the phase-3
// steps (roll forward), each of which can tell whether it already
// happened (a temporary that is gone was renamed). Either way each file is
// wholly old or wholly new, and the apply as a whole happened or did not.
// A step whose target changed meanwhile is recorded as skipped in the
// journal before its temporary is removed, so a later roll forward does
// not mistake it for done. A full disk during staging is a rollback: the
// error wraps ENOSPC and the workspace is untouched. The rename that
// replaces a directory by a file or the reverse is two steps (remove,
// rename); between them the path is briefly absent, and recovery finishes
// it.
//
// # Locking
//
// Each session has a lock file taken with flock: Begin holds it until End
// (the whole run), and Apply, Discard and Recover take it, so two applies,
// or an apply and a run, never overlap; a busy session is ErrBusy, and
// Recover skips it (its apply is running, not interrupted). Create holds a
// store-wide lock to keep names unique.
package session
