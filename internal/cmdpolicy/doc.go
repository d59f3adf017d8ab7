// Package cmdpolicy decides whether a shell command that an AI agent wants
// to run should be allowed, asked about, or denied, and explains why.
//
// The engine is pure: Check takes a command string and returns a Result; it
// does no I/O, reads no environment and resolves nothing on disk. Options
// tell it the workspace and home directories. It is fast enough to run on
// every command (well under a millisecond for typical commands).
//
// # What it decides
//
// A command line is parsed with a bash parser (mvdan.cc/sh/v3/syntax) and
// every simple command in it is found: in pipelines, && and || lists,
// subshells, { } blocks, if/while/for/case bodies, function bodies, command
// substitutions $(..) and `..`, and process substitutions <(..). Shell code
// in strings is parsed too, up to 8 levels deep: sh/bash/zsh/dash -c,
// eval, su -c, env -S, watch, flock -c, alias bodies, trap handlers,
// here-documents and here-strings fed to a shell, and echo/printf output
// piped into a shell (after base64 -d, xxd -r -p or rev when the input is
// literal). Wrappers are unwrapped to the real program: env, nice, nohup,
// timeout, time, command, exec, builtin, stdbuf, ionice, chrt, taskset,
// setsid, xargs, find -exec/-execdir/-ok, sudo, doas, pkexec, run0, su,
// runuser, watch, flock, parallel, busybox, strace, "poetry run" and the
// like. Both the wrapper and the wrapped command count as simple commands.
//
// Each simple command is matched against the rules, and static checks
// produce findings, each with a stable category (the Category constants), a
// decision and a specific reason. The result is the strictest decision of
// all matched rules and findings (Deny > Ask > Allow). One exception: an
// allow rule that matches a simple command sets aside the Ask findings about
// that command's own arguments (the user allowed it knowingly); they are
// reported in Result.Suppressed. Deny findings, and findings about the
// shell around the command (redirections, what a pipe feeds to a shell),
// are never set aside. With no rule and no finding the command is allowed
// and Result.Explicit is false. A command that does not parse is Ask at
// least, with a "parse-error" finding; it is then split crudely into words
// so that deny rules and Deny findings still apply.
//
// Deny findings: recursive deletion (rm -r in any flag spelling, find
// -delete, find -exec rm) of /, /*, a system directory, the home directory
// (~, $HOME), the workspace root or a directory containing one of these;
// rm --no-preserve-root; chmod/chown -R of those; writes to disks and raw
// memory (> /dev/sda, dd of=/dev/nvme0n1, mkfs, fdisk); fork bombs. Every
// other finding is Ask.
//
// # Rule patterns
//
// A pattern is white-space separated words. The first word is the program:
// without a "/" it is matched against the base name of the command's
// program ("npm" matches /usr/bin/npm); with a "/" against the full path.
// The remaining words are matched against the first arguments, in order;
// more arguments may follow (a pattern is a prefix, as in Codex's
// prefix_rule), unless the pattern ends in the word "$":
//
//   - "*" as a whole word matches any number of arguments, zero included;
//   - a word ending in "*" with no other glob character is a prefix:
//     "--force*" matches --force and --force-with-lease;
//   - any other word is a path.Match glob for one argument ("*" and "?"
//     do not match "/"; "\*" is a literal star).
//
// A pattern of only a program ("sudo") matches it with any arguments. So
// "npm *" and "npm" match "npm" and "npm ci"; "git push --force*" matches
// "git push --force" and "git push --force-with-lease origin main";
// "rm -rf / $" matches only that argv, "rm -rf /" also "rm -rf / x". The
// findings catch the flag spellings a pattern cannot (rm -fr, -r -f,
// --recursive --force; git push -f, +refspec). Arguments are compared
// unquoted ('a b' is the word a b) and, when they expand, both as written
// ($HOME) and as resolved (/home/dev). Words in patterns cannot contain
// white space. Rule.Match and Rule.NotMatch examples are checked by
// Compile: an example matches when the rule matches any simple command in
// it, wrappers and strings included.
//
// # Trust
//
// Nothing in the command is trusted: every word may be hostile, crafted to
// look benign or to confuse the parser. The analysis is advisory static
// analysis, not enforcement: the kernel (Landlock, seccomp, namespaces, the
// egress proxy) enforces, and this package only decides whether to run the
// command or ask first. Shell is Turing complete, so the analysis cannot
// know everything: what it cannot resolve statically and looks risky is
// Ask, not Allow. In particular a program name that comes from a variable,
// a command substitution, $'\x..' escapes, $IFS splitting or brace
// expansion is Ask; so is eval or sh -c of a string built at run time, and
// code read from a pipe or here-document whose content is not known.
//
// Variables assigned literally anywhere in the command (x=/, for d in a b,
// sh -c '...' NAME ARGS) are resolved to every value they may take, so
// "x=/; rm -rf $x" is Deny. The working directory is followed through cd,
// pushd and popd with literal operands; after cd to an unknown directory,
// relative writes are Ask.
//
// Limits, on purpose: writes to a target that cannot be resolved statically
// ("> $f") are not judged; the contents of files that a command runs
// (bash script.sh) are not read, except that running a file downloaded by
// curl or wget earlier in the same command is a download-exec finding;
// code given to non-shell interpreters (python -c) is not parsed, though
// feeding them downloaded or decoded code is a finding; ssh's remote
// command and docker run's container command run elsewhere and are not
// analyzed. "env" and "printenv" with no arguments are not findings: the
// sandbox decides which variables reach the agent, and echo or printenv of
// a variable whose name looks like a secret (TOKEN, SECRET, PASSWORD...) is
// a credential-access finding. Writes below Options.TempDirs (default /tmp,
// /var/tmp, /dev/shm) are not findings. Network tools aimed at a loopback
// address are not raw-ip-network findings.
//
// Resource limits keep a crafted command from making the analysis slow or
// large: commands over 1 MiB, or with more than 10000 brackets (the parser
// recurses on nesting), are not parsed and are Ask; statements nested more
// than 100 deep, more than 10000 simple commands, and more than 64 strings
// of shell code per command are not analyzed further and add an Ask
// finding.
//
// For benchmarks, Latencies measures Check over a list of commands and
// LoadCorpus reads the command corpus used by the tests.
package cmdpolicy
