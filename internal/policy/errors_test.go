package policy

import "testing"

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "p.yaml", Line: 4, Column: 3, Field: "filesystem.deny_raed", Msg: "unknown key"}, "p.yaml:4:3: filesystem.deny_raed: unknown key"},
		{Error{File: "p.yaml", Line: 4, Msg: "invalid YAML"}, "p.yaml:4: invalid YAML"},
		{Error{File: "p.yaml", Msg: "too big"}, "p.yaml: too big"},
		{Error{Field: "--memory", Msg: "bad"}, "--memory: bad"},
		{Error{Msg: "bare"}, "bare"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"allow_write", "deny_read", "allow_read", "deny_write", "workspace"}
	tests := []struct {
		in, want string
	}{
		{"deny_raed", "deny_read"},
		{"denyRead", "deny_read"},
		{"Deny-Write", "deny_write"},
		{"workspce", "workspace"},
		{"alow_write", "allow_write"},
		{"colour", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := suggest(tt.in, keys); got != tt.want {
				t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
