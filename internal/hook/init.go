package hook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ErrSymlink: a settings file or directory that Airlock would rewrite is a
// symlink. Airlock does not follow it: a link inside a project can point
// anywhere, and can be retargeted by whoever writes the project.
var ErrSymlink = errors.New("refusing to follow a symlink")

// maxSettings bounds the size of an existing settings file read for merging.
const maxSettings = 4 << 20

// Hook subcommands that the written settings run.
const (
	claudeHookArgs = "hook claude-code"
	codexHookArgs  = "hook codex"
)

// InitClaudeCode adds the Airlock PreToolUse hook to
// <projectDir>/.claude/settings.json: a matcher "Bash" entry that runs
// `<airlockCmd> hook claude-code`. When sandboxSettings is not nil it is
// merged into the top-level "sandbox" object (Claude Code's own sandbox
// settings): objects merge key by key, other values replace what is there.
//
// The file is created if missing. Every other key, hook and value is kept,
// in its order. Running it again changes nothing: the entry is recognised by
// its command. The file is replaced atomically and keeps its permissions.
// A symlinked .claude directory or settings.json is refused (ErrSymlink).
// written lists the files changed; it is empty when nothing had to change.
//
// airlockCmd should be an absolute path: Claude Code runs the command
// through a shell, and a command that is not found fails open.
//
// extra are more arguments for the hook command (say "--policy", FILE),
// each quoted for the shell.
func InitClaudeCode(projectDir, airlockCmd string, sandboxSettings map[string]any, extra ...string) (written []string, err error) {
	hookCmd, err := hookCommand(airlockCmd, claudeHookArgs, extra)
	if err != nil {
		return nil, fmt.Errorf("init claude code: %w", err)
	}
	if projectDir == "" {
		projectDir = "."
	}
	abs, err := filepath.Abs(projectDir)
	if err != nil {
		return nil, fmt.Errorf("init claude code: %w", err)
	}
	project, err := openDir(abs)
	if err != nil {
		return nil, fmt.Errorf("init claude code: %w", err)
	}
	defer project.Close()
	claude, err := project.subdir(".claude", true, 0o755)
	if err != nil {
		return nil, fmt.Errorf("init claude code: %w", err)
	}
	defer claude.Close()
	changed, err := mergeSettings(claude, "settings.json", func(doc *object) error {
		if err := addPreToolUseHook(doc, hookCmd); err != nil {
			return err
		}
		if sandboxSettings == nil {
			return nil
		}
		return mergeKey(doc, "sandbox", sandboxSettings)
	})
	if err != nil {
		return nil, fmt.Errorf("init claude code: %w", err)
	}
	if changed {
		written = append(written, filepath.Join(claude.path, "settings.json"))
	}
	return written, nil
}

// InitCodex writes rules, rendered by CodexRules, to
// <codexHome>/rules/airlock.rules, creating the directories (mode 0700) if
// needed. skipped lists the rules Codex cannot express. The file is
// replaced atomically, and only when its content changes; a symlinked rules
// directory or file is refused (ErrSymlink).
func InitCodex(codexHome string, rules []CodexRule) (written []string, skipped []string, err error) {
	content, skipped, err := CodexRules(rules)
	if err != nil {
		return nil, nil, fmt.Errorf("init codex: %w", err)
	}
	home, err := openCodexHome(codexHome)
	if err != nil {
		return nil, nil, fmt.Errorf("init codex: %w", err)
	}
	defer home.Close()
	rulesDir, err := home.subdir("rules", true, 0o700)
	if err != nil {
		return nil, nil, fmt.Errorf("init codex: %w", err)
	}
	defer rulesDir.Close()
	old, meta, exists, err := rulesDir.readFile("airlock.rules", maxSettings)
	if err != nil {
		return nil, nil, fmt.Errorf("init codex: %w", err)
	}
	if exists && bytes.Equal(old, content) {
		return nil, skipped, nil
	}
	var keep *fileMeta
	if exists {
		keep = &meta
	}
	if err := rulesDir.writeFileAtomic("airlock.rules", content, 0o644, keep); err != nil {
		return nil, nil, fmt.Errorf("init codex: %w", err)
	}
	return []string{filepath.Join(rulesDir.path, "airlock.rules")}, skipped, nil
}

// InitCodexHook adds the Airlock PreToolUse hook to <codexHome>/hooks.json
// (a matcher "Bash" entry running `<airlockCmd> hook codex`), with the same
// guarantees as InitClaudeCode. Codex runs a new or changed hook only after
// the user trusts it in Codex, and releases before hooks were on by default
// also need `[features] codex_hooks = true` in config.toml.
func InitCodexHook(codexHome, airlockCmd string, extra ...string) (written []string, err error) {
	hookCmd, err := hookCommand(airlockCmd, codexHookArgs, extra)
	if err != nil {
		return nil, fmt.Errorf("init codex hook: %w", err)
	}
	home, err := openCodexHome(codexHome)
	if err != nil {
		return nil, fmt.Errorf("init codex hook: %w", err)
	}
	defer home.Close()
	changed, err := mergeSettings(home, "hooks.json", func(doc *object) error {
		return addPreToolUseHook(doc, hookCmd)
	})
	if err != nil {
		return nil, fmt.Errorf("init codex hook: %w", err)
	}
	if changed {
		written = append(written, filepath.Join(home.path, "hooks.json"))
	}
	return written, nil
}

// openCodexHome opens (creating with mode 0700) the Codex home directory,
// which the caller names and trusts: a symlinked ~/.codex is followed.
func openCodexHome(codexHome string) (*dir, error) {
	if codexHome == "" {
		return nil, errors.New("no codex home directory given")
	}
	abs, err := filepath.Abs(codexHome)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create codex home: %w", err)
	}
	return openDir(abs)
}

// mergeSettings reads the JSON object in name (an empty object if the file
// is missing or blank), lets edit change it, and writes it back when the
// result differs.
func mergeSettings(d *dir, name string, edit func(*object) error) (changed bool, err error) {
	p := filepath.Join(d.path, name)
	old, meta, exists, err := d.readFile(name, maxSettings)
	if err != nil {
		return false, err
	}
	doc := newObject()
	if exists && len(bytes.TrimSpace(old)) > 0 {
		if doc, err = parseObject(old); err != nil {
			return false, fmt.Errorf("parse %q: %w", p, err)
		}
	}
	if err := edit(doc); err != nil {
		return false, fmt.Errorf("update %q: %w", p, err)
	}
	compact, err := doc.marshal()
	if err != nil {
		return false, fmt.Errorf("update %q: %w", p, err)
	}
	if exists && sameJSON(old, compact) {
		return false, nil
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return false, fmt.Errorf("update %q: %w", p, err)
	}
	out.WriteByte('\n')
	var keep *fileMeta
	if exists {
		keep = &meta
	}
	if err := d.writeFileAtomic(name, out.Bytes(), 0o644, keep); err != nil {
		return false, err
	}
	return true, nil
}

// hookEntry is the matcher group Airlock adds under hooks.PreToolUse.
type hookEntry struct {
	Matcher string        `json:"matcher"`
	Hooks   []hookHandler `json:"hooks"`
}

type hookHandler struct {
	Type    string `json:"type"`
	Command string `json:"command"`
}

// addPreToolUseHook appends a "Bash" matcher group running command to
// doc.hooks.PreToolUse unless a "Bash" group already runs it.
func addPreToolUseHook(doc *object, command string) error {
	hooks := newObject()
	if raw, ok := doc.get("hooks"); ok && !isNull(raw) {
		o, err := parseObject(raw)
		if err != nil {
			return fmt.Errorf("hooks: %w", err)
		}
		hooks = o
	}
	var groups []json.RawMessage
	if raw, ok := hooks.get("PreToolUse"); ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &groups); err != nil {
			return errors.New("hooks.PreToolUse is not a list")
		}
	}
	for _, g := range groups {
		if runsCommand(g, command) {
			return nil
		}
	}
	entry, err := marshalNoEscape(hookEntry{
		Matcher: "Bash",
		Hooks:   []hookHandler{{Type: "command", Command: command}},
	})
	if err != nil {
		return err
	}
	groups = append(groups, entry)
	list, err := marshalNoEscape(groups)
	if err != nil {
		return err
	}
	hooks.set("PreToolUse", list)
	raw, err := hooks.marshal()
	if err != nil {
		return err
	}
	doc.set("hooks", raw)
	return nil
}

// runsCommand reports whether the matcher group g is a "Bash" group with a
// command hook running command. Keys are compared exactly.
func runsCommand(g json.RawMessage, command string) bool {
	var group map[string]json.RawMessage
	if json.Unmarshal(g, &group) != nil {
		return false
	}
	if m, ok, err := optionalString(group, "matcher"); err != nil || !ok || m != "Bash" {
		return false
	}
	var handlers []map[string]json.RawMessage
	if raw, ok := group["hooks"]; !ok || json.Unmarshal(raw, &handlers) != nil {
		return false
	}
	for _, h := range handlers {
		t, _, _ := optionalString(h, "type")
		c, _, _ := optionalString(h, "command")
		if t == "command" && c == command {
			return true
		}
	}
	return false
}

// mergeKey merges settings into the object doc[key], creating it if needed.
func mergeKey(doc *object, key string, settings map[string]any) error {
	wrapper := newObject()
	if raw, ok := doc.get(key); ok {
		wrapper.set(key, raw)
	}
	if err := mergeInto(wrapper, map[string]any{key: settings}); err != nil {
		return err
	}
	raw, _ := wrapper.get(key)
	doc.set(key, raw)
	return nil
}

// safeWord is what a shell word may hold without quoting.
var safeWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// hookCommand returns the shell command line that runs airlockCmd with
// args and then extra, quoting airlockCmd and each extra word if needed.
func hookCommand(airlockCmd, args string, extra []string) (string, error) {
	if airlockCmd == "" {
		return "", errors.New("no airlock command given")
	}
	cmd := shellQuote(airlockCmd) + " " + args
	for _, w := range append([]string{airlockCmd}, extra...) {
		if strings.ContainsAny(w, "\x00\n\r") {
			return "", fmt.Errorf("hook command word %q contains a NUL or newline", w)
		}
	}
	for _, w := range extra {
		cmd += " " + shellQuote(w)
	}
	return cmd, nil
}

func shellQuote(s string) string {
	if safeWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
