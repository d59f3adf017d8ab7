// Command bench measures Airlock's start-up cost, supervisor memory and
// file-heavy overhead side by side with the sandboxes it is compared to
// (srt, bubblewrap, gVisor runsc) and with no sandbox at all, and writes the
// figures to docs/BENCHMARKS.md.
//
// Run it from the repository root as `go run ./bench -out docs/BENCHMARKS.md`
// after building ./airlock. Unless -skip-install is given it installs missing
// tools with apt-get and npm as they are configured on the machine.
//
// It trusts the binaries it is pointed at to be the tools they claim to be and
// the machine to be otherwise idle enough for medians to mean something; it
// does not trust any contender to exit: every run has a timeout, the process
// group is killed on expiry, and loops are bounded in count and total time.
// It checks exit codes and, for the file-heavy workloads, that the sandboxed
// output equals the bare output, so a sandbox that fails fast is reported as
// failing rather than as fast.
package main
