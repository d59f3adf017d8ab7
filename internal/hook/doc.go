// Package hook connects Airlock's command policy to the permission systems
// of AI coding agent CLIs: it answers Claude Code's and Codex's PreToolUse
// hooks, renders policy rules as a Codex .rules file, and writes the agent
// settings that install both. The policy itself stays outside: callers pass
// a Checker, so this package imports no policy code.
//
// # Claude Code PreToolUse hook (ClaudeCode)
//
// Claude Code runs the hook command before each tool call whose name the
// matcher accepts, with one JSON object on stdin:
//
//	{"session_id":"…","transcript_path":"…","cwd":"/project",
//	 "permission_mode":"default","hook_event_name":"PreToolUse",
//	 "tool_name":"Bash","tool_use_id":"toolu_…",
//	 "tool_input":{"command":"git push","description":"…","timeout":120000}}
//
// and reads the decision from stdout when the hook exits 0:
//
//	{"hookSpecificOutput":{"hookEventName":"PreToolUse",
//	 "permissionDecision":"deny","permissionDecisionReason":"airlock: …"}}
//
// "deny" cancels the call and shows the reason to the model; "ask" shows
// the normal permission prompt with the reason to the user; "allow" skips
// the prompt (Claude Code's own deny and ask rules still apply). Empty
// stdout with exit 0 means no opinion. Exit status 2 blocks the call and
// feeds stderr to the model, ignoring stdout; any other non-zero status is
// a non-blocking error and the call proceeds.
//
// ClaudeCode maps a Verdict so: deny and ask are passed on; allow is passed
// on only when Explicit, because a hook's allow bypasses Claude Code's
// prompts and only a rule that allows the command may do that; otherwise it
// prints nothing and Claude Code's own settings decide. Tools other than
// Bash get no output.
//
// # Codex PreToolUse hook (Codex)
//
// Codex (hooks.json in ~/.codex or <repo>/.codex) sends the same input
// shape, with tool_name "Bash", tool_input {"command": …}, plus turn_id and
// model, and reads the same output. It acts only on "deny" (which needs a
// non-empty reason) and on exit 2 with a non-empty stderr; it rejects "ask",
// and "allow" without updatedInput, as unsupported and then runs the
// command. So Codex prints nothing for allow and turns ask into a deny whose
// reason says a person must approve the command. (The hook runs before
// Codex's approval step, so with it installed an ask never reaches the
// "prompt" rule that InitCodex writes for it; without the hook, the rules
// file alone prompts for the ask rules it can express.)
//
// # Codex rules (CodexRules, InitCodex)
//
// Codex execpolicy rules are Starlark files in ~/.codex/rules/*.rules (and
// in a trusted project's .codex/rules) of prefix_rule(pattern=[…],
// decision="allow"|"prompt"|"forbidden", justification=…, match=[…],
// not_match=[…]) calls; the most restrictive matching rule wins, and the
// match/not_match examples are checked when Codex loads the file. They
// govern what Codex may run outside its own sandbox, so "allow" there means
// "run unsandboxed without asking": run Codex under `airlock run` for
// Airlock's sandbox to confine what it runs.
//
// # Trust and failure
//
// The hook input is untrusted: Claude Code and Codex build it, but the
// command, and any other tool argument, comes from the model. It is read
// up to MaxInput bytes and must be valid UTF-8, a single JSON object with
// no duplicate keys at any depth (parsers disagree on which duplicate
// wins), hook_event_name "PreToolUse", and for Bash a non-empty string
// tool_input.command without NUL. Keys are matched exactly, never case
// insensitively, so the policy checks the very string the agent runs.
// cwd is passed to the Checker as given.
//
// Failures close: on invalid input, a Checker panic or an unknown decision,
// ClaudeCode and Codex write a deny and return an error wrapping
// ErrInvalidInput or ErrCheckFailed. The CLI must then print the error to
// stderr and exit with ExitCode(err), which is 2: exit 2 blocks in both
// CLIs and makes them ignore stdout, whereas exit 1 would let the command
// run. When the policy cannot be loaded at all, FailClosed gives a Checker
// that denies everything. What Airlock cannot close: the agent CLI treats a
// hook that is missing (command not found), killed or past its timeout as a
// non-blocking error and runs the command, and a user can remove the hook
// from the settings. The hook is a policy layer in front of the sandbox,
// not a replacement for it.
//
// # Settings (InitClaudeCode, InitCodexHook)
//
// InitClaudeCode merges into <project>/.claude/settings.json; after
// `airlock init claude-code` a new file reads:
//
//	{
//	  "hooks": {
//	    "PreToolUse": [
//	      {
//	        "matcher": "Bash",
//	        "hooks": [
//	          {
//	            "type": "command",
//	            "command": "/usr/local/bin/airlock hook claude-code"
//	          }
//	        ]
//	      }
//	    ]
//	  }
//	}
//
// With sandbox settings it also holds a top-level "sandbox" object, Claude
// Code's own sandbox for Bash, for example {"enabled": true,
// "allowUnsandboxedCommands": false, "network": {"allowedDomains": […]},
// "filesystem": {"denyRead": […]}}. InitCodexHook writes the same "hooks"
// structure to ~/.codex/hooks.json with `airlock hook codex`.
//
// The settings writers trust the directory they are given but nothing in
// it: .claude, settings.json, rules and airlock.rules are opened relative to
// the parent's descriptor with O_NOFOLLOW, a symlink is refused
// (ErrSymlink), and the file is replaced by write, fsync and rename, keeping
// its permissions. Existing keys, hooks and values are kept in order; a
// file that is not a JSON object, or has a duplicate key where Airlock
// edits, is an error rather than rewritten.
package hook
