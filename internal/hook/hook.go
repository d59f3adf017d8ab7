package hook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Decisions a Checker returns in Verdict.Decision.
const (
	Allow = "allow"
	Ask   = "ask"
	Deny  = "deny"
)

// MaxInput is the largest hook input read from the agent CLI. Larger input
// is refused (and the command denied) rather than truncated.
const MaxInput = 1 << 20

// maxReason bounds the reason text sent back to the agent CLI.
const maxReason = 8 << 10

// Errors returned by ClaudeCode and Codex. Each comes after a deny decision
// has been written (best effort), so the tool call is blocked either way.
var (
	// ErrInvalidInput: the agent CLI's JSON was too large, malformed,
	// ambiguous (duplicate keys) or lacked a required field.
	ErrInvalidInput = errors.New("invalid hook input")
	// ErrCheckFailed: the Checker panicked or returned an unknown decision.
	ErrCheckFailed = errors.New("policy check failed")
)

// Verdict is what the policy says about one command.
type Verdict struct {
	Decision string // "allow", "ask" or "deny"
	// Explicit is false when no rule or finding decided: the agent's own
	// permission flow should decide.
	Explicit bool
	// Reason is one human and agent readable paragraph: the matched rules'
	// justifications and the findings.
	Reason string
}

// Checker evaluates one shell command, run in directory cwd ("" when the
// agent CLI did not say), against the policy.
type Checker func(command, cwd string) Verdict

// FailClosed returns a Checker that denies every command because the real
// one could not be built (for example the policy did not load), so that the
// hook still blocks instead of failing open.
func FailClosed(cause error) Checker {
	return func(string, string) Verdict {
		return Verdict{
			Decision: Deny,
			Explicit: true,
			Reason:   fmt.Sprintf("Airlock could not check this command: %v", cause),
		}
	}
}

// ExitCode is the process exit status for an error returned by ClaudeCode
// or Codex: 0 for nil, otherwise 2. Both CLIs treat exit status 2 from a
// PreToolUse hook as "block the tool call and show stderr to the model"; any
// other non-zero status is a non-blocking error after which the command runs.
// The caller must write the error to stderr: Codex treats exit 2 with an
// empty stderr as a failed hook and runs the command.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	return 2
}

// request is the part of a PreToolUse hook input that Airlock uses.
type request struct {
	toolName string
	command  string // only for tool "Bash"
	cwd      string
}

// decision is one hook answer; permission "" means no opinion (no output).
type decision struct {
	permission string
	reason     string
}

// ClaudeCode answers one Claude Code PreToolUse hook call: it reads the
// hook input JSON from in, asks check about a Bash command, and writes the
// hookSpecificOutput JSON to out. For other tools, and for an allow that no
// rule made explicit, it writes nothing so that Claude Code's own permission
// rules and prompts decide. On invalid input, or a failed check, it writes a
// deny and returns an error (see ExitCode).
func ClaudeCode(in io.Reader, out io.Writer, check Checker) error {
	return answer(in, out, check, claudeDecision, "claude code hook")
}

// Codex answers one Codex CLI PreToolUse hook call. The protocol is Claude
// Code's, but Codex acts only on "deny": it rejects "ask", and "allow"
// without a rewritten input, as unsupported and then runs the command. So an
// allow writes nothing, and an ask becomes a deny whose reason says that a
// person has to approve the command.
func Codex(in io.Reader, out io.Writer, check Checker) error {
	return answer(in, out, check, codexDecision, "codex hook")
}

func answer(in io.Reader, out io.Writer, check Checker, decide func(Verdict) decision, what string) error {
	req, err := readRequest(in)
	if err != nil {
		return denyWithError(out, err, what,
			"the hook input could not be read, so the command is blocked: "+err.Error())
	}
	if req.toolName != "Bash" {
		return nil
	}
	v, err := runCheck(check, req.command, req.cwd)
	if err != nil {
		return denyWithError(out, err, what,
			"the policy check failed, so the command is blocked: "+err.Error())
	}
	d := decide(v)
	if d.permission == "" {
		return nil
	}
	if err := writeDecision(out, d); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func denyWithError(out io.Writer, cause error, what, reason string) error {
	err := fmt.Errorf("%s: %w", what, cause)
	if werr := writeDecision(out, decision{permission: Deny, reason: formatReason(reason)}); werr != nil {
		return errors.Join(err, fmt.Errorf("%s: %w", what, werr))
	}
	return err
}

func claudeDecision(v Verdict) decision {
	switch v.Decision {
	case Allow:
		// An "allow" from a hook skips Claude Code's permission prompt.
		// Only a rule that explicitly allows the command may do that; when
		// nothing decided, Claude Code's own settings and prompts must.
		if !v.Explicit {
			return decision{}
		}
		return decision{permission: Allow, reason: formatReason(v.Reason)}
	case Ask:
		return decision{permission: Ask, reason: formatReason(v.Reason)}
	default:
		return decision{permission: Deny, reason: formatReason(v.Reason)}
	}
}

func codexDecision(v Verdict) decision {
	switch v.Decision {
	case Allow:
		return decision{}
	case Ask:
		return decision{permission: Deny, reason: formatReason(
			"this command needs a person's approval, which a Codex hook cannot ask for, so it is blocked. " +
				reasonText(v.Reason) +
				" The user can run it outside the agent, or allow it in the Airlock policy.")}
	default:
		return decision{permission: Deny, reason: formatReason(v.Reason)}
	}
}

func reasonText(r string) string {
	r = strings.TrimSpace(r)
	if r == "" {
		return "No reason was given."
	}
	return r
}

// formatReason prefixes the reason with "airlock: " so the user and the
// model see who decided, and bounds its length.
func formatReason(r string) string {
	r = "airlock: " + reasonText(r)
	if len(r) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8.RuneStart(r[cut]) {
			cut--
		}
		r = r[:cut] + " [truncated]"
	}
	return r
}

func runCheck(check Checker, command, cwd string) (v Verdict, err error) {
	if check == nil {
		return Verdict{}, fmt.Errorf("%w: no checker", ErrCheckFailed)
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = Verdict{}, fmt.Errorf("%w: checker panicked: %v", ErrCheckFailed, r)
		}
	}()
	v = check(command, cwd)
	switch v.Decision {
	case Allow, Ask, Deny:
		return v, nil
	}
	return Verdict{}, fmt.Errorf("%w: unknown decision %q", ErrCheckFailed, v.Decision)
}

// hookOutput is the PreToolUse answer both CLIs read from stdout.
type hookOutput struct {
	HookSpecificOutput hookSpecificOutput `json:"hookSpecificOutput"`
}

type hookSpecificOutput struct {
	HookEventName            string `json:"hookEventName"`
	PermissionDecision       string `json:"permissionDecision"`
	PermissionDecisionReason string `json:"permissionDecisionReason"`
}

func writeDecision(out io.Writer, d decision) error {
	b, err := marshalNoEscape(hookOutput{HookSpecificOutput: hookSpecificOutput{
		HookEventName:            "PreToolUse",
		PermissionDecision:       d.permission,
		PermissionDecisionReason: d.reason,
	}})
	if err != nil {
		return fmt.Errorf("encode decision: %w", err)
	}
	if _, err := out.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write decision: %w", err)
	}
	return nil
}

// readRequest reads and validates one PreToolUse hook input. Keys are
// matched exactly: encoding/json's case-insensitive struct matching would
// let {"command":"rm -rf ~","COMMAND":"ls"} be checked as "ls" while the
// agent runs the other.
func readRequest(in io.Reader) (request, error) {
	data, err := io.ReadAll(io.LimitReader(in, MaxInput+1))
	if err != nil {
		return request{}, fmt.Errorf("%w: read: %w", ErrInvalidInput, err)
	}
	if len(data) > MaxInput {
		return request{}, fmt.Errorf("%w: larger than %d bytes", ErrInvalidInput, MaxInput)
	}
	if !utf8.Valid(data) {
		return request{}, fmt.Errorf("%w: not valid UTF-8", ErrInvalidInput)
	}
	if err := checkJSON(data); err != nil {
		return request{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	top, err := objectFields(data)
	if err != nil {
		return request{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	event, err := requiredString(top, "hook_event_name")
	if err != nil {
		return request{}, err
	}
	if event != "PreToolUse" {
		return request{}, fmt.Errorf("%w: hook_event_name is %q, want \"PreToolUse\"", ErrInvalidInput, event)
	}
	var req request
	if req.toolName, err = requiredString(top, "tool_name"); err != nil {
		return request{}, err
	}
	if req.cwd, _, err = optionalString(top, "cwd"); err != nil {
		return request{}, err
	}
	if req.toolName != "Bash" {
		return req, nil
	}
	raw, ok := top["tool_input"]
	if !ok || isNull(raw) {
		return request{}, fmt.Errorf("%w: missing tool_input", ErrInvalidInput)
	}
	input, err := objectFields(raw)
	if err != nil {
		return request{}, fmt.Errorf("%w: tool_input: %w", ErrInvalidInput, err)
	}
	if req.command, err = requiredString(input, "command"); err != nil {
		return request{}, fmt.Errorf("tool_input: %w", err)
	}
	if strings.TrimSpace(req.command) == "" {
		return request{}, fmt.Errorf("%w: tool_input.command is empty", ErrInvalidInput)
	}
	if strings.ContainsRune(req.command, 0) {
		return request{}, fmt.Errorf("%w: tool_input.command contains a NUL byte", ErrInvalidInput)
	}
	return req, nil
}

// objectFields decodes a JSON object into its raw fields.
func objectFields(data []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if m == nil {
		return nil, errors.New("not a JSON object: null")
	}
	return m, nil
}

func requiredString(m map[string]json.RawMessage, key string) (string, error) {
	s, ok, err := optionalString(m, key)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%w: missing %s", ErrInvalidInput, key)
	}
	return s, nil
}

func optionalString(m map[string]json.RawMessage, key string) (string, bool, error) {
	raw, ok := m[key]
	if !ok || isNull(raw) {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, fmt.Errorf("%w: %s is not a string", ErrInvalidInput, key)
	}
	return s, true, nil
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}
