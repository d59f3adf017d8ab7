package hook

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzClaudeCode checks, for any input, that the hook answers with nothing
// or one well-formed decision, that every error comes with a deny, and
// that the command checked is exactly tool_input.command.
func FuzzClaudeCode(f *testing.F) {
	f.Add(bashInput("ls -la"))
	f.Add(`{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"a","COMMAND":"b"}}`)
	f.Add(`{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"a","command":"b"}}`)
	f.Add(`{"hook_event_name":"PreToolUse","tool_name":"Write","tool_input":{}}`)
	f.Add(`{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"\ud800"}}`)
	f.Add(`[]`)
	f.Add(``)
	for _, d := range []string{Allow, Ask, Deny} {
		for _, explicit := range []bool{false, true} {
			f.Add(bashInput("x") + d + map[bool]string{true: "!"}[explicit])
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		// The input's own last bytes pick the verdict, so the fuzzer
		// explores every decision without a second argument.
		v := Verdict{Decision: []string{Allow, Ask, Deny}[len(in)%3], Explicit: strings.HasSuffix(in, "!"), Reason: "r"}
		var calls []string
		check := func(command, cwd string) Verdict {
			calls = append(calls, command)
			return v
		}
		for _, answer := range []func(*strings.Reader, *bytes.Buffer) error{
			func(r *strings.Reader, w *bytes.Buffer) error { return ClaudeCode(r, w, check) },
			func(r *strings.Reader, w *bytes.Buffer) error { return Codex(r, w, check) },
		} {
			calls = nil
			var out bytes.Buffer
			err := answer(strings.NewReader(in), &out)
			if err != nil {
				if !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("got error %v, want ErrInvalidInput", err)
				}
				if d := parseDecision(t, out.String()); d.PermissionDecision != Deny {
					t.Fatalf("error %v came with decision %q, want deny", err, d.PermissionDecision)
				}
				if len(calls) != 0 {
					t.Fatalf("checker called on invalid input: %q", calls)
				}
				continue
			}
			if out.Len() > 0 {
				d := parseDecision(t, out.String())
				if d.PermissionDecision != Allow && d.PermissionDecision != Ask && d.PermissionDecision != Deny {
					t.Fatalf("got decision %q", d.PermissionDecision)
				}
				if !strings.HasPrefix(d.PermissionDecisionReason, "airlock: ") {
					t.Fatalf("got reason %q, want the airlock prefix", d.PermissionDecisionReason)
				}
			}
			if len(calls) == 0 {
				continue
			}
			// The input was accepted and a command checked: it must be
			// exactly the string under the exact key "command".
			var top struct {
				ToolInput json.RawMessage `json:"tool_input"`
			}
			if err := json.Unmarshal([]byte(in), &top); err != nil {
				t.Fatalf("accepted input does not decode: %v", err)
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(top.ToolInput, &fields); err != nil {
				t.Fatalf("accepted tool_input does not decode: %v", err)
			}
			var command string
			if err := json.Unmarshal(fields["command"], &command); err != nil {
				t.Fatalf("accepted command does not decode: %v", err)
			}
			if len(calls) != 1 || calls[0] != command {
				t.Fatalf("checked %q, want exactly [%q]", calls, command)
			}
		}
	})
}

// FuzzCodexRules checks that rendering never fails for known decisions,
// that every rule is either rendered or reported, and that every string
// literal in the output reads back.
func FuzzCodexRules(f *testing.F) {
	f.Add("git", "push --force", "no", "git push --force x", "git pull")
	f.Add("rm", "*", "", "", "")
	f.Add("a\"b", "c\\d\n", "j\x01", "'a\"b' x", "")
	f.Fuzz(func(t *testing.T, prog, args, justification, match, notMatch string) {
		rule := CodexRule{
			Pattern:       append([]string{prog}, strings.Fields(args)...),
			Decision:      Deny,
			Justification: justification,
		}
		if match != "" {
			rule.Match = []string{match}
		}
		if notMatch != "" {
			rule.NotMatch = []string{notMatch}
		}
		out, skipped, err := CodexRules([]CodexRule{rule})
		if err != nil {
			t.Fatalf("got error %v", err)
		}
		rendered := strings.Count(string(out), "prefix_rule(")
		if rendered+len(skipped) != 1 {
			t.Fatalf("rendered %d and skipped %d rules, want one of them", rendered, len(skipped))
		}
		if rendered == 1 {
			at := strings.Index(string(out), "pattern = [")
			lit := firstLiteral(string(out[at+len("pattern = ["):]))
			got, err := starlarkUnquote(lit)
			if err != nil || got != prog {
				t.Fatalf("first pattern literal %s reads back as %q, %v; want %q", lit, got, err, prog)
			}
		}
	})
}

// firstLiteral returns the double-quoted string literal that s starts with.
func firstLiteral(s string) string {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return s[:i+1]
		}
	}
	return s
}
