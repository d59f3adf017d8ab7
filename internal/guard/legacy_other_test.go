//go:build linux && !amd64

package guard

// legacyOps is empty where the kernel has only the *at forms.
func legacyOps() []serveOp { return nil }
