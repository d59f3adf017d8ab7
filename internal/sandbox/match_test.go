package sandbox

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestNameMatcherAgreesWithFilepathMatch checks the fast paths against the
// reference implementation on every pattern shape and a set of names.
func TestNameMatcherAgreesWithFilepathMatch(t *testing.T) {
	globs := []string{".env", ".env.*", "id_rsa*", "*.key", "*-service-account.json", "client_secret*.json", "*", "a?c", "[ab]*", "*mid*", `x\*y`}
	names := []string{".env", ".env.local", ".envrc", "id_rsa", "id_rsa.pub", "server.key", "key", "prod-service-account.json",
		"client_secret_1.json", "client_secret.txt", "abc", "axc", "bz", "zmidz", "x*y", "", "README.md"}
	for _, g := range globs {
		m := compileGlobs([]string{g})
		for _, n := range names {
			want, _ := filepath.Match(g, n)
			if got := m.match(n); got != want {
				t.Errorf("glob %q name %q: got %v, want %v", g, n, got, want)
			}
		}
	}
}

func FuzzNameMatcher(f *testing.F) {
	f.Add("*.key", "a.key")
	f.Add(".env.*", ".env.prod")
	f.Add("id_rsa*", "id_rsa")
	f.Fuzz(func(t *testing.T, glob, name string) {
		if _, err := filepath.Match(glob, ""); err != nil {
			return // malformed patterns never reach the matcher: policy validation rejects them
		}
		if strings.Contains(name, "/") || strings.Contains(glob, "/") {
			return // base names and base-name globs never contain a slash
		}
		want, _ := filepath.Match(glob, name)
		if got := compileGlobs([]string{glob}).match(name); got != want {
			t.Fatalf("glob %q name %q: got %v, want %v", glob, name, got, want)
		}
	})
}
