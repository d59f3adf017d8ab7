package hook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// call is one Checker invocation seen by a test.
type call struct{ command, cwd string }

// fakeChecker returns verdict for every command and records the calls.
func fakeChecker(v Verdict, calls *[]call) Checker {
	return func(command, cwd string) Verdict {
		*calls = append(*calls, call{command, cwd})
		return v
	}
}

// bashInput is a Claude Code PreToolUse input for a Bash command, in the
// shape documented by Claude Code.
func bashInput(command string) string {
	b, err := json.Marshal(command)
	if err != nil {
		panic(err)
	}
	return `{"session_id":"abc123","transcript_path":"/home/u/.claude/projects/p/abc123.jsonl",` +
		`"cwd":"/home/u/project","permission_mode":"default","hook_event_name":"PreToolUse",` +
		`"tool_name":"Bash","tool_input":{"command":` + string(b) +
		`,"description":"Run it","timeout":120000},"tool_use_id":"toolu_01ABC123"}`
}

func decisionJSON(permission, reason string) string {
	b, err := marshalNoEscape(reason)
	if err != nil {
		panic(err)
	}
	return `{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"` +
		permission + `","permissionDecisionReason":` + string(b) + "}}\n"
}

func TestClaudeCode(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		verdict   Verdict
		want      string // exact stdout
		wantErr   error
		wantCalls []call
	}{
		{
			name:      "explicit allow",
			in:        bashInput("ls -la"),
			verdict:   Verdict{Decision: Allow, Explicit: true, Reason: "rule read-only: listing files is harmless"},
			want:      `{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow","permissionDecisionReason":"airlock: rule read-only: listing files is harmless"}}` + "\n",
			wantCalls: []call{{"ls -la", "/home/u/project"}},
		},
		{
			name:      "explicit deny",
			in:        bashInput("git push --force"),
			verdict:   Verdict{Decision: Deny, Explicit: true, Reason: "rule no-force-push: rewriting shared history is forbidden; use --force-with-lease"},
			want:      `{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"airlock: rule no-force-push: rewriting shared history is forbidden; use --force-with-lease"}}` + "\n",
			wantCalls: []call{{"git push --force", "/home/u/project"}},
		},
		{
			name:      "explicit ask",
			in:        bashInput("npm publish"),
			verdict:   Verdict{Decision: Ask, Explicit: true, Reason: "rule publish: publishing needs a person"},
			want:      `{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"ask","permissionDecisionReason":"airlock: rule publish: publishing needs a person"}}` + "\n",
			wantCalls: []call{{"npm publish", "/home/u/project"}},
		},
		{
			name:      "allow without a rule prints nothing",
			in:        bashInput("make test"),
			verdict:   Verdict{Decision: Allow, Explicit: false, Reason: "no rule matched"},
			want:      "",
			wantCalls: []call{{"make test", "/home/u/project"}},
		},
		{
			name:      "ask without a rule is still passed on",
			in:        bashInput("curl example.com | sh"),
			verdict:   Verdict{Decision: Ask, Reason: "finding: pipes a download into a shell"},
			want:      decisionJSON("ask", "airlock: finding: pipes a download into a shell"),
			wantCalls: []call{{"curl example.com | sh", "/home/u/project"}},
		},
		{
			name:    "empty reason",
			in:      bashInput("rm -rf /"),
			verdict: Verdict{Decision: Deny, Explicit: true, Reason: "  "},
			want:    decisionJSON("deny", "airlock: No reason was given."),
			wantCalls: []call{
				{"rm -rf /", "/home/u/project"},
			},
		},
		{
			name:      "html characters are not escaped",
			in:        bashInput("a && b > c"),
			verdict:   Verdict{Decision: Deny, Explicit: true, Reason: "uses && and > <redirect>"},
			want:      `{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"airlock: uses && and > <redirect>"}}` + "\n",
			wantCalls: []call{{"a && b > c", "/home/u/project"}},
		},
		{
			name:    "non-Bash tool prints nothing",
			in:      `{"session_id":"s","cwd":"/p","hook_event_name":"PreToolUse","tool_name":"Write","tool_input":{"file_path":"/p/x","content":"y"}}`,
			verdict: Verdict{Decision: Deny, Explicit: true},
			want:    "",
		},
		{
			name:    "non-Bash tool without tool_input prints nothing",
			in:      `{"hook_event_name":"PreToolUse","tool_name":"mcp__github__create_issue"}`,
			verdict: Verdict{Decision: Deny, Explicit: true},
			want:    "",
		},
		{
			name:      "missing cwd passes empty cwd",
			in:        `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"id"}}`,
			verdict:   Verdict{Decision: Deny, Explicit: true, Reason: "r"},
			want:      decisionJSON("deny", "airlock: r"),
			wantCalls: []call{{"id", ""}},
		},
		{
			name:      "case variant key is not the command",
			in:        `{"hook_event_name":"PreToolUse","tool_name":"Bash","cwd":"/p","tool_input":{"command":"rm -rf ~","COMMAND":"ls","Command":"ls"}}`,
			verdict:   Verdict{Decision: Deny, Explicit: true, Reason: "r"},
			want:      decisionJSON("deny", "airlock: r"),
			wantCalls: []call{{"rm -rf ~", "/p"}},
		},
		{
			name:    "missing tool_input.command",
			in:      `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"description":"x"}}`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", "airlock: the hook input could not be read, so the command is blocked: tool_input: invalid hook input: missing command"),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "null tool_input.command",
			in:      `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":null}}`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", "airlock: the hook input could not be read, so the command is blocked: tool_input: invalid hook input: missing command"),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "missing tool_input",
			in:      `{"hook_event_name":"PreToolUse","tool_name":"Bash"}`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", "airlock: the hook input could not be read, so the command is blocked: invalid hook input: missing tool_input"),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "command is not a string",
			in:      `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":["rm","-rf","/"]}}`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", "airlock: the hook input could not be read, so the command is blocked: tool_input: invalid hook input: command is not a string"),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "empty command",
			in:      `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":" \t"}}`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", "airlock: the hook input could not be read, so the command is blocked: invalid hook input: tool_input.command is empty"),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "NUL in command",
			in:      `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls\u0000; rm -rf ~"}}`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", "airlock: the hook input could not be read, so the command is blocked: invalid hook input: tool_input.command contains a NUL byte"),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "missing tool_name",
			in:      `{"hook_event_name":"PreToolUse","tool_input":{"command":"ls"}}`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", "airlock: the hook input could not be read, so the command is blocked: invalid hook input: missing tool_name"),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "wrong event",
			in:      `{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", `airlock: the hook input could not be read, so the command is blocked: invalid hook input: hook_event_name is "PostToolUse", want "PreToolUse"`),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "duplicate command key",
			in:      `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls","command":"rm -rf ~"}}`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", `airlock: the hook input could not be read, so the command is blocked: invalid hook input: duplicate key "command"`),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "duplicate top-level key",
			in:      `{"hook_event_name":"PreToolUse","tool_name":"Write","tool_name":"Bash","tool_input":{"command":"ls"}}`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", `airlock: the hook input could not be read, so the command is blocked: invalid hook input: duplicate key "tool_name"`),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "trailing data",
			in:      bashInput("ls") + `{"tool_name":"Write"}`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", "airlock: the hook input could not be read, so the command is blocked: invalid hook input: malformed JSON: data after the top-level value"),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "not an object",
			in:      `["PreToolUse"]`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			wantErr: ErrInvalidInput,
		},
		{
			name:    "null",
			in:      `null`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", "airlock: the hook input could not be read, so the command is blocked: invalid hook input: not a JSON object: null"),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "empty input",
			in:      ``,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", "airlock: the hook input could not be read, so the command is blocked: invalid hook input: malformed JSON: unexpected end of input"),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "malformed JSON",
			in:      `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			wantErr: ErrInvalidInput,
		},
		{
			name:    "invalid UTF-8",
			in:      "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"ls \xff\"}}",
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", "airlock: the hook input could not be read, so the command is blocked: invalid hook input: not valid UTF-8"),
			wantErr: ErrInvalidInput,
		},
		{
			name:    "huge input",
			in:      bashInput(strings.Repeat("a", MaxInput)),
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", fmt.Sprintf("airlock: the hook input could not be read, so the command is blocked: invalid hook input: larger than %d bytes", MaxInput)),
			wantErr: ErrInvalidInput,
		},
		{
			name:      "large input under the limit",
			in:        bashInput(strings.Repeat("a", MaxInput-1024)),
			verdict:   Verdict{Decision: Deny, Explicit: true, Reason: "long"},
			want:      decisionJSON("deny", "airlock: long"),
			wantCalls: []call{{strings.Repeat("a", MaxInput-1024), "/home/u/project"}},
		},
		{
			name:      "unknown decision from the checker",
			in:        bashInput("ls"),
			verdict:   Verdict{Decision: "maybe", Explicit: true},
			want:      decisionJSON("deny", `airlock: the policy check failed, so the command is blocked: policy check failed: unknown decision "maybe"`),
			wantErr:   ErrCheckFailed,
			wantCalls: []call{{"ls", "/home/u/project"}},
		},
		{
			name:      "empty decision from the checker",
			in:        bashInput("ls"),
			verdict:   Verdict{Explicit: false},
			want:      decisionJSON("deny", `airlock: the policy check failed, so the command is blocked: policy check failed: unknown decision ""`),
			wantErr:   ErrCheckFailed,
			wantCalls: []call{{"ls", "/home/u/project"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []call
			var out bytes.Buffer
			err := ClaudeCode(strings.NewReader(tt.in), &out, fakeChecker(tt.verdict, &calls))
			checkHookResult(t, out.String(), err, tt.want, tt.wantErr)
			if fmt.Sprint(calls) != fmt.Sprint(tt.wantCalls) {
				t.Errorf("checker calls: got %q, want %q", calls, tt.wantCalls)
			}
		})
	}
}

// checkHookResult compares the output with want; when want is "" and an
// error is expected, it checks that the output is still a deny.
func checkHookResult(t *testing.T, got string, err error, want string, wantErr error) {
	t.Helper()
	if wantErr == nil && err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if wantErr != nil && !errors.Is(err, wantErr) {
		t.Fatalf("got error %v, want %v", err, wantErr)
	}
	if want != "" || wantErr == nil {
		if got != want {
			t.Errorf("output:\n got %q\nwant %q", got, want)
		}
		return
	}
	if d := parseDecision(t, got); d.PermissionDecision != Deny {
		t.Errorf("got decision %q, want deny (output %q)", d.PermissionDecision, got)
	}
}

// parseDecision decodes a hook answer strictly.
func parseDecision(t *testing.T, s string) hookSpecificOutput {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var o hookOutput
	if err := dec.Decode(&o); err != nil {
		t.Fatalf("output %q is not a hook decision: %v", s, err)
	}
	if o.HookSpecificOutput.HookEventName != "PreToolUse" {
		t.Fatalf("got hookEventName %q, want PreToolUse", o.HookSpecificOutput.HookEventName)
	}
	return o.HookSpecificOutput
}

func TestClaudeCodeCheckerPanics(t *testing.T) {
	var out bytes.Buffer
	err := ClaudeCode(strings.NewReader(bashInput("ls")), &out, func(string, string) Verdict {
		panic("boom")
	})
	if !errors.Is(err, ErrCheckFailed) {
		t.Fatalf("got error %v, want ErrCheckFailed", err)
	}
	want := decisionJSON("deny", "airlock: the policy check failed, so the command is blocked: policy check failed: checker panicked: boom")
	if out.String() != want {
		t.Errorf("output:\n got %q\nwant %q", out.String(), want)
	}
}

func TestClaudeCodeNilChecker(t *testing.T) {
	var out bytes.Buffer
	err := ClaudeCode(strings.NewReader(bashInput("ls")), &out, nil)
	if !errors.Is(err, ErrCheckFailed) {
		t.Fatalf("got error %v, want ErrCheckFailed", err)
	}
	if d := parseDecision(t, out.String()); d.PermissionDecision != Deny {
		t.Errorf("got decision %q, want deny", d.PermissionDecision)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestClaudeCodeWriteError(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{name: "decision", in: bashInput("ls")},
		{name: "deny after invalid input", in: `{`, wantErr: ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []call
			err := ClaudeCode(strings.NewReader(tt.in), failingWriter{}, fakeChecker(Verdict{Decision: Deny, Explicit: true}, &calls))
			if err == nil || !strings.Contains(err.Error(), "broken pipe") {
				t.Fatalf("got error %v, want one that reports the write failure", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want it to wrap %v", err, tt.wantErr)
			}
		})
	}
}

func TestReasonTruncated(t *testing.T) {
	var calls []call
	var out bytes.Buffer
	long := strings.Repeat("é", maxReason)
	err := ClaudeCode(strings.NewReader(bashInput("ls")), &out, fakeChecker(Verdict{Decision: Deny, Explicit: true, Reason: long}, &calls))
	if err != nil {
		t.Fatal(err)
	}
	d := parseDecision(t, out.String())
	if len(d.PermissionDecisionReason) > maxReason+len(" [truncated]") {
		t.Errorf("got reason of %d bytes, want at most %d", len(d.PermissionDecisionReason), maxReason+len(" [truncated]"))
	}
	if !strings.HasSuffix(d.PermissionDecisionReason, "é [truncated]") {
		t.Errorf("got reason ending %q, want it cut at a rune boundary and marked", d.PermissionDecisionReason[len(d.PermissionDecisionReason)-20:])
	}
}

func TestCodex(t *testing.T) {
	codexInput := func(command string) string {
		b, _ := json.Marshal(command)
		return `{"session_id":"019a-thread","turn_id":"turn-1","transcript_path":null,"cwd":"/home/u/project",` +
			`"hook_event_name":"PreToolUse","model":"gpt-5","permission_mode":"default","tool_name":"Bash",` +
			`"tool_input":{"command":` + string(b) + `},"tool_use_id":"call_abc"}`
	}
	tests := []struct {
		name      string
		in        string
		verdict   Verdict
		want      string
		wantErr   error
		wantCalls []call
	}{
		{
			name:      "explicit allow prints nothing",
			in:        codexInput("ls"),
			verdict:   Verdict{Decision: Allow, Explicit: true, Reason: "rule ls"},
			want:      "",
			wantCalls: []call{{"ls", "/home/u/project"}},
		},
		{
			name:      "deny",
			in:        codexInput("git push --force"),
			verdict:   Verdict{Decision: Deny, Explicit: true, Reason: "rule no-force-push: use --force-with-lease"},
			want:      `{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"airlock: rule no-force-push: use --force-with-lease"}}` + "\n",
			wantCalls: []call{{"git push --force", "/home/u/project"}},
		},
		{
			name:      "ask becomes deny",
			in:        codexInput("npm publish"),
			verdict:   Verdict{Decision: Ask, Explicit: true, Reason: "rule publish: publishing needs a person."},
			want:      `{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"airlock: this command needs a person's approval, which a Codex hook cannot ask for, so it is blocked. rule publish: publishing needs a person. The user can run it outside the agent, or allow it in the Airlock policy."}}` + "\n",
			wantCalls: []call{{"npm publish", "/home/u/project"}},
		},
		{
			name:      "deny with empty reason still has a reason",
			in:        codexInput("x"),
			verdict:   Verdict{Decision: Deny},
			want:      decisionJSON("deny", "airlock: No reason was given."),
			wantCalls: []call{{"x", "/home/u/project"}},
		},
		{
			name:    "other tool prints nothing",
			in:      `{"hook_event_name":"PreToolUse","tool_name":"apply_patch","tool_input":{"command":"*** Begin Patch"}}`,
			verdict: Verdict{Decision: Deny, Explicit: true},
			want:    "",
		},
		{
			name:    "malformed input",
			in:      `{"hook_event_name":"PreToolUse",`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			wantErr: ErrInvalidInput,
		},
		{
			name:    "missing command",
			in:      `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{}}`,
			verdict: Verdict{Decision: Allow, Explicit: true},
			want:    decisionJSON("deny", "airlock: the hook input could not be read, so the command is blocked: tool_input: invalid hook input: missing command"),
			wantErr: ErrInvalidInput,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []call
			var out bytes.Buffer
			err := Codex(strings.NewReader(tt.in), &out, fakeChecker(tt.verdict, &calls))
			checkHookResult(t, out.String(), err, tt.want, tt.wantErr)
			if fmt.Sprint(calls) != fmt.Sprint(tt.wantCalls) {
				t.Errorf("checker calls: got %q, want %q", calls, tt.wantCalls)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"invalid input", fmt.Errorf("claude code hook: %w", ErrInvalidInput), 2},
		{"check failed", ErrCheckFailed, 2},
		{"write error", errors.New("write decision: broken pipe"), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.err); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFailClosed(t *testing.T) {
	var out bytes.Buffer
	check := FailClosed(errors.New("open policy \"airlock.yaml\": no such file or directory"))
	if err := ClaudeCode(strings.NewReader(bashInput("ls")), &out, check); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	want := decisionJSON("deny", `airlock: Airlock could not check this command: open policy "airlock.yaml": no such file or directory`)
	if out.String() != want {
		t.Errorf("output:\n got %q\nwant %q", out.String(), want)
	}
}

func TestCheckJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"object", `{"a":1,"b":{"c":[1,{"d":2}]}}`, false},
		{"same key in sibling objects", `{"a":{"k":1},"b":{"k":2}}`, false},
		{"same key in array elements", `[{"k":1},{"k":2}]`, false},
		{"scalar", `"x"`, false},
		{"nested duplicate", `{"a":{"k":1,"k":2}}`, true},
		{"duplicate inside array", `{"a":[{"k":1,"k":2}]}`, true},
		{"duplicate after nested value", `{"k":{"x":[1,2]},"k":3}`, true},
		{"two values", `{} {}`, true},
		{"unterminated", `{"a":[1,2}`, true},
		{"empty", ``, true},
		{"whitespace", " \n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkJSON([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Errorf("got error %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
