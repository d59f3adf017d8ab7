// Package secrets is the pure core of credential injection: the sandboxed
// agent sees only a placeholder shaped like a real credential, and the
// egress proxy swaps in the real value on requests to the hosts the secret
// is bound to, so the real value never enters the sandbox.
//
// It provides:
//
//   - [ParseFlag]: the CLI form NAME=SOURCE@HOST[,HOST...] into a [Secret];
//   - [Secret.Load]: reading the real value on the host from an environment
//     variable, a file or a shell command;
//   - [NewPlaceholder]: a random stand-in with the same shape as the value;
//   - [Redactor]: scrubbing known values and common token shapes from text
//     (logs, audit records, error messages);
//   - [Detector]: finding a value, plain or encoded, in data leaving the
//     sandbox (the exfiltration guard).
//
// # Trust
//
// Trusted: everything that comes from the host side: the flag values and
// policy the user wrote, the environment slice passed to Load, the files and
// commands named as sources, and the names of secrets. A "cmd:" source runs
// with the user's privileges outside the sandbox, exactly like a shell
// command the user typed; this package does not sandbox it.
//
// Not trusted: everything that comes from the sandbox. Data handed to
// [Detector.Find], [Redactor.String] and the writer from [Redactor.Writer]
// may be adversarial: these functions never panic on any input, run in time
// roughly linear in the input, and bound the memory they keep. Real values
// never appear in errors: the stderr of a failed command is redacted before
// it is put into an error, and file or environment contents are never
// quoted.
//
// # What the detector catches
//
// [Detector.Find] looks at one buffer at a time. It catches a needle that
// appears in that buffer plainly; percent-encoded (any subset of bytes as
// %XX in either hex case, '+' for space, mixed with literal bytes);
// base64 in the standard or URL alphabet, padded or not, at any of the
// three byte alignments inside a longer base64 run; and base64 that was
// then percent-encoded. It does not catch: a needle split across two calls
// (callers scanning a stream must carry the last [Detector.Overlap] bytes
// of one chunk into the next), base64 broken by line wrapping, double
// percent-encoding, hex, compression, encryption, or any transformation the
// agent invents. The guard raises the cost of accidental and naive leaks;
// it cannot stop a determined agent that holds the real value, which is why
// the sandbox is only ever given the placeholder.
//
// Base64 matching drops the up to three characters at each end of the
// encoded form that mix needle bits with neighbouring bytes, so a needle
// of fewer than four bytes is matched only plainly and URL-encoded.
package secrets
