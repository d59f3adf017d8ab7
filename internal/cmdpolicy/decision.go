package cmdpolicy

import (
	"fmt"
	"strings"
)

// Decision is what the engine says about a command. The values are ordered
// from the most to the least permissive, so combining decisions is max:
// the strictest one wins.
type Decision int

// The decisions, from the most permissive to the strictest.
const (
	// Allow runs the command without asking.
	Allow Decision = iota
	// Ask runs the command only after a human said yes.
	Ask
	// Deny refuses the command.
	Deny
)

// String returns "allow", "ask" or "deny", or "Decision(N)" for a value
// outside the three.
func (d Decision) String() string {
	switch d {
	case Allow:
		return "allow"
	case Ask:
		return "ask"
	case Deny:
		return "deny"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// ParseDecision parses "allow", "ask" or "deny", in any case and with
// surrounding white space ignored.
func ParseDecision(s string) (Decision, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "allow":
		return Allow, nil
	case "ask":
		return Ask, nil
	case "deny":
		return Deny, nil
	}
	return Deny, fmt.Errorf("unknown decision %q (want allow, ask or deny)", s)
}

// MarshalText encodes d as its String form, so a Decision reads naturally in
// YAML and JSON. It refuses values outside the three decisions.
func (d Decision) MarshalText() ([]byte, error) {
	if !d.valid() {
		return nil, fmt.Errorf("invalid decision %d", int(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText is ParseDecision for encoding.TextUnmarshaler users such as
// gopkg.in/yaml.v3 and encoding/json.
func (d *Decision) UnmarshalText(b []byte) error {
	v, err := ParseDecision(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func (d Decision) valid() bool { return d >= Allow && d <= Deny }
