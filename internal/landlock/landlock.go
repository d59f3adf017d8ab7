package landlock

// Rules describes what the sandboxed process may reach. All paths must be
// absolute.
type Rules struct {
	// ReadOnly paths are granted read and execute (directories: the whole
	// hierarchy; files: the file rights).
	ReadOnly []string
	// ReadWrite paths are granted every right the kernel's ABI handles.
	ReadWrite []string
	// Deny paths, existing or not, must not be readable even though an
	// ancestor is in ReadOnly.
	Deny []string
	// SkipDenyUnderWritable lets Restrict proceed when a Deny path lies inside
	// a ReadWrite path (which Landlock cannot express): such paths are left
	// to the mount layer and reported in Result.Skipped.
	SkipDenyUnderWritable bool
	// ScopeSignals applies LANDLOCK_SCOPE_SIGNAL (ABI >= 6).
	ScopeSignals bool
	// ScopeAbstractUnix applies LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (ABI >= 6).
	ScopeAbstractUnix bool
}

// Result reports what Restrict enforced.
type Result struct {
	// ABI is the kernel's Landlock ABI version.
	ABI int
	// HandledFS is the set of filesystem access rights the ruleset handles.
	HandledFS uint64
	// Scoped is the set of scopes applied; 0 when none were requested or the
	// ABI is older than 6.
	Scoped uint64
	// Rules is the number of rules added to the ruleset.
	Rules int
	// Skipped lists Deny paths that were not enforced because they lie inside
	// a ReadWrite path (only with Rules.SkipDenyUnderWritable).
	Skipped []string
}
