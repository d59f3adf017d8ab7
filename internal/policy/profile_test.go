package policy

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func TestDefaultDenyReadHasRequiredEntries(t *testing.T) {
	required := []struct {
		entry, why string
	}{
		{".env", "dotenv files"},
		{".env.*", "dotenv variants such as .env.local"},
		{"~/.git-credentials", "git credential store"},
		{"~/.aws", "AWS credentials"},
		{"~/.config/gcloud", "Google Cloud credentials"},
		{"~/.azure", "Azure credentials"},
		{"~/.docker/config.json", "registry auth"},
		{"~/.kube", "Kubernetes credentials"},
		{"~/.npmrc", "npm token"},
		{"~/.pypirc", "PyPI token"},
		{"*-service-account.json", "GCP service account keys"},
		{"id_rsa*", "SSH private key"},
		{"id_ed25519*", "SSH private key"},
		{"id_ecdsa*", "SSH private key"},
		{"id_dsa*", "SSH private key"},
		{"*.key", "TLS private keys"},
		{"*_rsa", "named RSA keys"},
		{"*.p12", "PKCS#12"},
		{"*.pfx", "PKCS#12"},
		{"*.keystore", "Java keystore"},
		{"*.jks", "Java keystore"},
		{"~/.ssh", "SSH"},
		{"~/.gnupg", "GnuPG"},
		{"~/.netrc", "netrc"},
		{"~/.password-store", "pass"},
		{"~/.local/share/keyrings", "GNOME keyring"},
		{"~/.mozilla", "Firefox profile"},
		{"~/.config/google-chrome", "Chrome profile"},
		{"~/.config/chromium", "Chromium profile"},
		{"~/.config/BraveSoftware", "Brave profile"},
		{"~/.config/microsoft-edge", "Edge profile"},
		{"~/snap/firefox", "snap Firefox profile"},
		{"~/.bash_history", "history"},
		{"~/.zsh_history", "history"},
		{"~/.local/share/fish/fish_history", "history"},
		{"~/.python_history", "history"},
		{"~/.node_repl_history", "history"},
		{"~/.psql_history", "history"},
		{"~/.mysql_history", "history"},
		{"~/.lesshst", "history"},
		{"~/.viminfo", "history"},
		{"~/.config/gh/hosts.yml", "gh token"},
		{"~/.oci", "Oracle Cloud"},
		{"~/.config/doctl", "DigitalOcean"},
		{"~/.terraform.d/credentials.tfrc.json", "Terraform Cloud"},
		{"~/.config/hcloud", "Hetzner Cloud"},
		{"~/.fly", "Fly.io"},
		{"~/.local/share/com.vercel.cli", "Vercel"},
		{"~/.claude/.credentials.json", "Claude Code"},
		{"~/.codex/auth.json", "Codex"},
		{"~/.config/github-copilot", "Copilot"},
		{"~/.cargo/credentials", "crates.io"},
		{"~/.cargo/credentials.toml", "crates.io"},
		{"~/.gem/credentials", "RubyGems"},
		{"~/.m2/settings.xml", "Maven"},
		{"~/.gradle/gradle.properties", "Gradle"},
		{"~/.composer/auth.json", "Composer"},
		{"~/.vault-token", "Vault"},
		{"~/.config/op", "1Password CLI"},
		{"/etc/shadow", "password hashes"},
		{"/etc/gshadow", "group password hashes"},
		{"/etc/sudoers", "sudo rules"},
		{"/etc/ssh/ssh_host_rsa_key", "SSH host key"},
		{"/etc/ssh/ssh_host_ecdsa_key", "SSH host key"},
		{"/etc/ssh/ssh_host_ed25519_key", "SSH host key"},
	}
	deny := Default().Filesystem.DenyRead
	for _, r := range required {
		t.Run(r.entry, func(t *testing.T) {
			if !slices.Contains(deny, r.entry) {
				t.Errorf("agent profile does not deny reading %q (%s)", r.entry, r.why)
			}
		})
	}
}

// TestDefaultGlobs checks what the base-name globs of the agent profile
// match, including the files they must leave readable.
func TestDefaultGlobs(t *testing.T) {
	tests := []struct {
		name   string
		denied bool
	}{
		{".env", true},
		{".env.local", true},
		{".env.production", true},
		{"id_rsa", true},
		{"id_ed25519", true},
		{"deploy_rsa", true},
		{"server.key", true},
		{"cert.p12", true},
		{"release.keystore", true},
		{"prod-service-account.json", true},
		{".envrc", false},
		{".envs", false},
		{"environment.go", false},
		{"ca.pem", false},
		{"cert.crt", false},
		{"keys.go", false},
		{"README.md", false},
	}
	var globs []string
	for _, d := range Default().Filesystem.DenyRead {
		if IsBaseNameGlob(d) {
			globs = append(globs, d)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			matched := ""
			for _, g := range globs {
				if ok, _ := filepath.Match(g, tt.name); ok {
					matched = g
					break
				}
			}
			if got := matched != ""; got != tt.denied {
				t.Errorf("got denied %v (by %q), want %v", got, matched, tt.denied)
			}
		})
	}
}

func TestDefaultValidates(t *testing.T) {
	p := Default()
	if err := p.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v, want nil", err)
	}
	if p.Profile != ProfileAgent || p.Version != 1 {
		t.Errorf("got profile %q version %d, want %q version 1", p.Profile, p.Version, ProfileAgent)
	}
	if p.Limits != (Limits{}) {
		t.Errorf("got limits %+v, want none", p.Limits)
	}
	if len(p.Process.Env) != 0 {
		t.Errorf("got env %q, want none (the sandbox owns the allowlist)", p.Process.Env)
	}
	seen := map[string]bool{}
	for _, d := range p.Filesystem.DenyRead {
		if seen[d] {
			t.Errorf("duplicate deny_read entry %q", d)
		}
		seen[d] = true
	}
	x, err := p.Expand("/home/u", "/home/u/src")
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Validate(); err != nil {
		t.Errorf("expanded Default().Validate() = %v, want nil", err)
	}
}

func TestDefaultIsAFreshCopy(t *testing.T) {
	a := Default()
	a.Filesystem.DenyRead[0] = "changed"
	if b := Default(); b.Filesystem.DenyRead[0] == "changed" {
		t.Error("Default shares its deny list between calls")
	}
	n := ProtectedNames()
	n[0] = "changed"
	if ProtectedNames()[0] == "changed" {
		t.Error("ProtectedNames shares its slice between calls")
	}
}

func TestProfile(t *testing.T) {
	agent, err := Profile("agent")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(agent, Default()) {
		t.Errorf("Profile(agent) = %+v, want Default()", agent)
	}
	none, err := Profile("none")
	if err != nil {
		t.Fatal(err)
	}
	if want := (&Policy{Version: 1, Profile: "none"}); !reflect.DeepEqual(none, want) {
		t.Errorf("Profile(none) = %+v, want %+v", none, want)
	}
	_, err = Profile("agnt")
	if got, want := errString(err), `unknown profile "agnt" (valid: agent, none) (did you mean "agent"?)`; got != want {
		t.Errorf("Profile(agnt) error = %q, want %q", got, want)
	}
}

func TestProtected(t *testing.T) {
	want := []string{".git/hooks", ".git/config", ".gitmodules", ".bashrc", ".bash_profile", ".zshrc",
		".zprofile", ".profile", ".envrc", ".vscode", ".idea", ".claude", ".codex", ".mcp.json"}
	if got := ProtectedNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("ProtectedNames() = %q, want %q", got, want)
	}
	p := &Policy{Filesystem: Filesystem{Unprotect: []string{".vscode", ".git/config"}}}
	got := p.Protected()
	for _, n := range []string{".vscode", ".git/config"} {
		if slices.Contains(got, n) {
			t.Errorf("Protected() = %q, still contains unprotected %q", got, n)
		}
	}
	if len(got) != len(want)-2 {
		t.Errorf("Protected() has %d names, want %d", len(got), len(want)-2)
	}
	if got := Default().Protected(); !reflect.DeepEqual(got, want) {
		t.Errorf("Default().Protected() = %q, want %q", got, want)
	}
}

func TestIsBaseNameGlob(t *testing.T) {
	for in, want := range map[string]bool{
		".env": true, "*.key": true, "id_rsa*": true,
		"~": false, ".": false, "..": false, "~/.ssh": false, "/etc/shadow": false, "a/b": false,
	} {
		if got := IsBaseNameGlob(in); got != want {
			t.Errorf("IsBaseNameGlob(%q) = %v, want %v", in, got, want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
