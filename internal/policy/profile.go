package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Built-in profile names.
const (
	ProfileAgent = "agent"
	ProfileNone  = "none"
)

// profileNames lists the valid Profile values, for messages.
var profileNames = []string{ProfileAgent, ProfileNone}

// agentDenyRead is the read-deny list of the agent profile: secrets that an
// AI coding agent has no business reading and that a prompt-injected agent
// would most like to exfiltrate. Entries without "/" are base-name globs,
// matched at any depth of the workspace and at the top of the home
// directory; everything else is a path.
//
// Deliberately absent:
//   - ".envrc" (direnv) is code, not a secret store; it is write-protected
//     through ProtectedNames instead, so that reading it stays possible.
//   - "*.pem" also matches public certificates and CA bundles that builds
//     and TLS clients read; private keys are covered by the *.key, id_* and
//     keystore globs and by ~/.ssh.
//   - ~/.config/pip/pip.conf, ~/.nuget and the like hold registry settings
//     that builds need and rarely hold credentials.
var agentDenyRead = []string{
	// dotenv files in projects: API keys and database passwords.
	".env",
	".env.*",
	// Private keys and key stores wherever they are left in a tree.
	"id_rsa*",
	"id_dsa*",
	"id_ecdsa*",
	"id_ed25519*",
	"*_rsa",
	"*.key",
	"*.p12",
	"*.pfx",
	"*.ppk",
	"*.keystore",
	"*.jks",
	"*.kdbx",
	// Google Cloud service-account keys and OAuth client secrets.
	"*-service-account.json",
	"client_secret*.json",

	// SSH and GnuPG: private keys, agent sockets, trust databases.
	"~/.ssh",
	"~/.gnupg",
	// Password stores, keyrings and the NSS database with client certificates.
	"~/.password-store",
	"~/.local/share/keyrings",
	"~/.pki",
	"~/.config/op",
	"~/.op",
	"~/.vault-token",

	// git and HTTP credentials.
	"~/.git-credentials",
	"~/.config/git/credentials",
	"~/.netrc",
	// Database client passwords.
	"~/.pgpass",
	"~/.my.cnf",

	// Cloud provider CLIs.
	"~/.aws",
	"~/.config/gcloud",
	"~/.azure",
	"~/.oci",
	"~/.kube",
	"~/.docker/config.json",
	"~/.config/doctl",
	"~/.config/hcloud",
	"~/.config/scw",
	"~/.config/linode-cli",
	"~/.terraform.d/credentials.tfrc.json",
	"~/.pulumi/credentials.json",
	"~/.fly",
	"~/.local/share/com.vercel.cli",
	"~/.vercel",
	"~/.now",
	"~/.wrangler",
	"~/.config/.wrangler",
	"~/.config/netlify",
	"~/.netlify",
	"~/.railway",
	"~/.config/rclone/rclone.conf",
	"~/.s3cfg",
	"~/.boto",
	"~/.mc/config.json",

	// Code-forge CLIs: OAuth tokens with repository write access.
	"~/.config/gh/hosts.yml",
	"~/.config/hub",
	"~/.config/glab-cli",

	// AI agent CLIs: their own API keys and OAuth tokens.
	"~/.claude/.credentials.json",
	"~/.codex/auth.json",
	"~/.config/github-copilot",
	"~/.gemini/oauth_creds.json",
	"~/.local/share/opencode/auth.json",
	"~/.aider.conf.yml",

	// Package registry publish tokens.
	"~/.npmrc",
	"~/.yarnrc.yml",
	"~/.pypirc",
	"~/.cargo/credentials",
	"~/.cargo/credentials.toml",
	"~/.gem/credentials",
	"~/.m2/settings.xml",
	"~/.m2/settings-security.xml",
	"~/.gradle/gradle.properties",
	"~/.composer/auth.json",
	"~/.config/composer/auth.json",
	"~/.config/dart/pub-credentials.json",

	// Browser and mail profiles: cookies, saved passwords, session tokens.
	"~/.mozilla",
	"~/.thunderbird",
	"~/snap/firefox",
	"~/snap/chromium",
	"~/.config/google-chrome",
	"~/.config/chromium",
	"~/.config/BraveSoftware",
	"~/.config/microsoft-edge",
	"~/.config/vivaldi",
	"~/.config/opera",
	"~/.var/app/org.mozilla.firefox",
	"~/.var/app/com.google.Chrome",
	"~/.var/app/org.chromium.Chromium",
	"~/.config/Slack",
	"~/.config/discord",

	// Shell, REPL and editor histories: pasted tokens and passwords.
	"~/.bash_history",
	"~/.zsh_history",
	"~/.zhistory",
	"~/.histfile",
	"~/.sh_history",
	"~/.local/share/fish/fish_history",
	"~/.python_history",
	"~/.node_repl_history",
	"~/.irb_history",
	"~/.psql_history",
	"~/.mysql_history",
	"~/.sqlite_history",
	"~/.rediscli_history",
	"~/.lesshst",
	"~/.viminfo",
	"~/.local/state/nvim/shada",

	// System secrets: password hashes, sudo rules and SSH host keys. Host
	// keys are listed by name: path entries are literal, never globs.
	"/etc/shadow",
	"/etc/shadow-",
	"/etc/gshadow",
	"/etc/gshadow-",
	"/etc/security/opasswd",
	"/etc/sudoers",
	"/etc/sudoers.d",
	"/etc/ssh/ssh_host_rsa_key",
	"/etc/ssh/ssh_host_ecdsa_key",
	"/etc/ssh/ssh_host_ed25519_key",
	"/etc/ssh/ssh_host_dsa_key",
}

// Default returns the built-in agent profile: the sandbox with the agent
// read-deny list. Limits are zero (unlimited); the environment allowlist
// belongs to the sandbox package, not to the profile.
func Default() *Policy {
	return &Policy{
		Version:    1,
		Profile:    ProfileAgent,
		Filesystem: Filesystem{DenyRead: slices.Clone(agentDenyRead)},
	}
}

// Profile returns the built-in profile name: "agent" (Default) or "none",
// which has no deny list but is still the full sandbox, with the workspace
// the only writable directory and the protected names write-protected.
func Profile(name string) (*Policy, error) {
	switch name {
	case ProfileAgent:
		return Default(), nil
	case ProfileNone:
		return &Policy{Version: 1, Profile: ProfileNone}, nil
	}
	return nil, fmt.Errorf("unknown profile %q (valid: %s)%s", name, strings.Join(profileNames, ", "), didYouMean(name, profileNames))
}

// protectedNames are write-protected below every directory of the workspace,
// because writing them makes code that the user's own tools run later,
// outside the sandbox: git hooks and config (core.fsmonitor, core.hooksPath),
// submodule URLs, shell startup files, direnv files, editor and agent
// settings that run tasks or MCP servers.
var protectedNames = []string{
	".git/hooks",
	".git/config",
	".gitmodules",
	".bashrc",
	".bash_profile",
	".zshrc",
	".zprofile",
	".profile",
	".envrc",
	".vscode",
	".idea",
	".claude",
	".codex",
	".mcp.json",
}

// ProtectedNames returns the names, relative to any directory of the
// workspace, that stay read-only inside the sandbox unless a policy lists
// them in Filesystem.Unprotect.
func ProtectedNames() []string { return slices.Clone(protectedNames) }

// Protected returns ProtectedNames without the names p unprotects.
func (p *Policy) Protected() []string {
	var out []string
	for _, n := range protectedNames {
		if !slices.Contains(p.Filesystem.Unprotect, n) {
			out = append(out, n)
		}
	}
	return out
}

// IsBaseNameGlob reports whether a DenyRead or AllowRead entry is a base-name
// glob (".env*", "*.key") rather than a path: it has no "/" and is not one of
// the path spellings "~", "." and "..".
func IsBaseNameGlob(entry string) bool {
	return !strings.Contains(entry, "/") && entry != "~" && entry != "." && entry != ".."
}
