package sandbox

import "strings"

// ownedTmpfs reports whether path lies in a tmpfs created by init, where
// making mount points leaves no trace on the host.
func ownedTmpfs(path string) bool {
	return strings.HasPrefix(path, "/tmp/") || strings.HasPrefix(path, "/dev/shm/")
}

// hiddenByPrivateTmp reports whether a host path is invisible anyway: it lies
// under the host's /tmp or /dev/shm, which the sandbox replaces with its own
// empty tmpfs, and no writable tree brings it back.
func hiddenByPrivateTmp(p string, writable []string) bool {
	if !ownedTmpfs(p) {
		return false
	}
	for _, w := range writable {
		if p == w || strings.HasPrefix(p, w+"/") {
			return false
		}
	}
	return true
}
