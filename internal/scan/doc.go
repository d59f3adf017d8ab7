// Package scan finds the files in a workspace that would expose a
// credential to the agent running in it, and says which ones the sandbox
// policy masks. It backs `airlock scan [DIR]` and the warning `airlock run`
// prints at start.
//
// # What is scanned
//
// [Scan] walks the tree below the root with one walker goroutine and a
// bounded pool of 2 to 4 workers, and looks at every regular file and
// symlink:
//
//   - names: a file or symlink whose base name matches one of the policy's
//     deny_read base-name globs ([CategoryDenyReadName]);
//   - private keys: PEM, OpenSSH, PGP ("-----BEGIN ... PRIVATE KEY-----"
//     followed by a base64 body, also inside a string literal with "\n"
//     escapes) and PuTTY key files ([CategoryPrivateKey]);
//   - .env-style files (".env", ".env.*", "*.env"): KEY=VALUE lines whose
//     value is not a placeholder and either sits under a credential-like
//     name, holds credentials in a URL, or looks random ([CategoryDotenv]);
//   - tool configuration files: .npmrc, .yarnrc.yml, .pypirc, .netrc,
//     .git-credentials, .git/config and .gitconfig URLs, pip.conf, Docker's
//     config.json, .aws/credentials, *.tfvars, .terraformrc, kube config,
//     Maven settings.xml, .pgpass, .gem/credentials, .cargo/credentials,
//     Composer auth.json, .my.cnf, .vault-token, gcloud application default
//     credentials, gh/hub host files ([CategoryConfigToken]);
//   - token shapes anywhere in text, as recognized by
//     secrets.FindTokens: GitHub, Anthropic, OpenAI, AWS access key ids,
//     Slack, JWTs and bearer credentials ("Bearer", "bearer" or "BEARER"),
//     on one line; values that are typed rather than random ("xxxx",
//     "REALREAL", "Ab12Cd34", "EXAMPLE") are not reported ([CategoryToken]);
//   - in files git tracks only: values of at least 20 characters that look
//     random (Shannon entropy above 3.0 bits per character for hex, about
//     4.0 for other text, with letters and digits, not mostly words, not
//     an upper-case constant, not base64 of prose) and are assigned to or
//     quoted right after a credential-like name such as api_key, "token"
//     or X-Api-Key, but not public_key, token_url or api_key_id
//     ([CategoryHighEntropy]). About 5% of random values of 20 to 24
//     characters, and under 1% of longer ones, are missed by these filters.
//
// A line is reported once, under its most specific category, and at most
// 50 lines per file. A finding never holds the secret: its detail names the
// kind of credential, the key it is assigned to, and for token shapes at
// most the first four characters, which are the token's type marker.
//
// # What is skipped
//
//   - the .git directory, except .git/config;
//   - the content (not the names) of files below node_modules and vendor
//     directories: third-party code, large, and rarely holding the user's
//     credentials;
//   - the content of files larger than Options.MaxFileSize (1 MiB by
//     default) and of binary files (a NUL byte in the first 8 KiB);
//   - the entropy check in lock files (package-lock.json, go.sum, yarn.lock,
//     ...), on lines longer than 1000 bytes (minified code, data), for UUIDs,
//     integrity hashes ("sha512-..."), paths, placeholders and typed runs
//     ("12345", "aaaaa"); test fixtures are not exempt;
//   - symlink targets: a symlink is only checked by its name; the sandbox
//     does not follow symlinks in the workspace either, and masks their
//     targets by the targets' own rules;
//   - devices, FIFOs and sockets, and directories on another file system
//     than the root (mount points are not crossed);
//   - files and directories below the root that the scanner cannot open:
//     the agent runs as the same user and cannot open them either (an
//     unreadable root is an error, not a clean report);
//   - everything after Options.MaxFiles files (200,000 by default), which
//     marks the report Truncated.
//
// # Trust
//
// The tree is not trusted: a previous agent run may have written it. The
// walk never follows a symlink (directories and files are opened with
// O_NOFOLLOW, so a symlink swapped in after the listing fails to open),
// opens files non-blocking so a FIFO cannot stall it, reads a bounded
// number of bytes, and quotes file names with control or other
// unprintable characters in the text report so a name cannot drive the
// terminal. On systems without O_NOFOLLOW the symlink check and the open
// are two steps.
//
// Trusted: the root, which may itself be a symlink and is resolved to its
// real path, as the sandbox resolves the workspace (Report.Root and the
// paths given to Options.Masked are below that real path); the Options the
// CLI builds from the policy; and git. To tell tracked from untracked files,
// Scan runs `git ls-files` in the root with the repository's own
// configuration, which the user controls (the sandbox write-protects
// .git/config), with the fsmonitor hook disabled and GIT_* variables
// removed. When git is missing or fails, every file counts as tracked, so
// more files get the entropy check, never fewer.
//
// # Limits
//
// The checks are heuristics tuned to keep false positives near zero. They
// miss credentials in formats they do not know, short or low-entropy
// passwords under neutral names, values split across lines or encoded,
// secrets in untracked files that have no known shape, and anything in
// skipped files. The absence of findings is not proof that the workspace
// holds no credential.
package scan
