package secrets

import (
	"bytes"
	"testing"
)

func TestNewPlaceholder(t *testing.T) {
	tests := []struct {
		name, real, prefix string
	}{
		{"anthropic", "sk-ant-api03-AbCdEf0123456789xyzXYZ_-abcdefGHIJ0123", "sk-ant-api03-"},
		{"openai project", "sk-proj-Ab12Cd34Ef56Gh78Ij90KlMnOpQrStUv", "sk-proj-"},
		{"github classic", "ghp_0123456789abcdefghijABCDEFGHIJ012345", "ghp_"},
		{"github fine-grained", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF", "github_pat_"},
		{"slack", "xoxb-1234-abcdEFGH5678", "xoxb-1234-"},
		{"aws key id", "AKIAIOSFODNN7EXAMPLE", "AKIA"},
		{"aws session key id", "ASIAIOSFODNN7EXAMPLE", "ASIA"},
		{"no prefix", "s3cr3tPassw0rd!", ""},
		{"separator after 16", "abcdefghijklmnopq-rst", ""},
		{"single random position", "tok-7", "tok-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			real := []byte(tt.real)
			got, err := NewPlaceholder(real)
			if err != nil {
				t.Fatalf("NewPlaceholder(%q): got error %v", tt.real, err)
			}
			if len(got) != len(real) {
				t.Errorf("length: got %d, want %d", len(got), len(real))
			}
			if !bytes.HasPrefix(got, []byte(tt.prefix)) {
				t.Errorf("got %q, want prefix %q", got, tt.prefix)
			}
			if bytes.Contains(got, real) {
				t.Errorf("got %q, which contains the real value", got)
			}
			for i := range real {
				if i < len(tt.prefix) {
					continue
				}
				rc, gc := classOf(real[i]), classOf(got[i])
				if rc != gc || rc == "" && real[i] != got[i] {
					t.Errorf("position %d: got %q, want the class of %q", i, got[i], real[i])
				}
			}
			if len(real)-len(tt.prefix) >= 8 {
				// Enough entropy that two placeholders colliding means the
				// generator is broken.
				again, err := NewPlaceholder(real)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(got, again) {
					t.Errorf("two calls: got %q twice, want different placeholders", got)
				}
			}
		})
	}
}

func TestNewPlaceholderNeverEqual(t *testing.T) {
	// With one random digit, a bad generator that skips the retry would
	// return the real value about one time in ten.
	for i := 0; i < 500; i++ {
		got, err := NewPlaceholder([]byte("tok-7"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) == "tok-7" {
			t.Fatalf("got the real value %q back", got)
		}
	}
}

func TestNewPlaceholderErrors(t *testing.T) {
	for _, real := range []string{"", "sk-ant-", "----", "ab-!!"} {
		t.Run(real, func(t *testing.T) {
			got, err := NewPlaceholder([]byte(real))
			if err == nil {
				t.Fatalf("NewPlaceholder(%q): got %q, want an error", real, got)
			}
			if want := "new placeholder: no letters or digits after the prefix to randomize"; err.Error() != want {
				t.Errorf("got %q, want %q", err, want)
			}
		})
	}
}
