package sandbox

import (
	"golang.org/x/sys/unix"

	"github.com/airlock-sandbox/airlock/internal/policy"
)

// rlimits turns per-process limits into setrlimit calls. Core dumps are
// always off: a dump would copy the command's memory onto the workspace.
func rlimits(l policy.Limits) []Rlimit {
	r := []Rlimit{{Resource: unix.RLIMIT_CORE, Name: "core", Value: 0}}
	if l.MaxOpenFiles > 0 {
		r = append(r, Rlimit{Resource: unix.RLIMIT_NOFILE, Name: "max-open-files", Value: l.MaxOpenFiles})
	}
	if l.MaxFileSize > 0 {
		r = append(r, Rlimit{Resource: unix.RLIMIT_FSIZE, Name: "max-file-size", Value: uint64(l.MaxFileSize)})
	}
	return r
}
