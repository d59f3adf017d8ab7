// Package escape holds Airlock's escape suite: Go tests that drive the real
// airlock binary with attacks as they would run inside the sandbox. Every
// case pairs the attack with a control that shows the same attack works
// outside the sandbox (or with that one layer turned off), checks the exact
// errno or outcome, and checks that the side effect did not happen on the
// host.
//
// The package has no non-test code; it exists for its tests.
package escape
