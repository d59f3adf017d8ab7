package policy

import "time"

// Policy is the effective, validated sandbox policy: what the user asked for
// after the built-in profile, policy files and command-line flags are merged.
// The sandbox package turns it into kernel state; nothing here does I/O.
type Policy struct {
	// Version of the native policy format. Only 1 exists.
	Version int `yaml:"version" json:"version"`
	// Profile names the built-in base profile: "agent" (default) or "none".
	Profile string `yaml:"profile" json:"profile"`

	Filesystem Filesystem `yaml:"filesystem" json:"filesystem"`
	Network    Network    `yaml:"network" json:"network"`
	Process    Process    `yaml:"process" json:"process"`
	Limits     Limits     `yaml:"limits" json:"limits"`
	// Credentials the proxy injects at the boundary.
	Credentials Credentials `yaml:"credentials" json:"credentials"`
	// Commands are the command rules: allow, ask or deny, checked by
	// `airlock check` and the agent hooks; a deny of a whole program is
	// also enforced in the sandbox.
	Commands Commands `yaml:"commands" json:"commands"`

	// AllowDegraded lists layers the user explicitly accepts running without
	// (see Layer* constants). Anything else that is missing is a hard error.
	AllowDegraded []string `yaml:"allow_degraded" json:"allow_degraded"`
}

// Filesystem rules. Paths may start with "~/" (the invoking user's home) and
// are otherwise absolute or relative to the workspace. A DenyRead or AllowRead
// entry with no "/" is a base-name glob (".env.*", "*.key") matched at any
// depth of the workspace and in the top level of the home directory (see
// IsBaseNameGlob); all other paths are literal.
type Filesystem struct {
	// Workspace is the read-write project directory; "" means the current directory.
	Workspace string `yaml:"workspace" json:"workspace"`
	// AllowWrite adds read-write paths besides the workspace and private /tmp.
	AllowWrite []string `yaml:"allow_write" json:"allow_write"`
	// DenyRead paths are masked: unreadable in every spelling.
	DenyRead []string `yaml:"deny_read" json:"deny_read"`
	// AllowRead re-exposes paths that a DenyRead entry would hide, and removes
	// DenyRead entries it names exactly (the explicit override of a default).
	AllowRead []string `yaml:"allow_read" json:"allow_read"`
	// DenyWrite paths stay read-only even inside writable paths.
	DenyWrite []string `yaml:"deny_write" json:"deny_write"`
	// Unprotect opts paths out of the mandatory write protection, by the
	// protected name (".vscode", ".git/hooks", ".bashrc", ...).
	Unprotect []string `yaml:"unprotect" json:"unprotect"`
	// AllowUnixSockets lists pathname Unix sockets the command may connect to.
	// Empty means AF_UNIX sockets cannot be created at all.
	AllowUnixSockets []string `yaml:"allow_unix_sockets" json:"allow_unix_sockets"`
}

// Network policy. Parsed and validated here; enforced by the egress proxy.
type Network struct {
	AllowDomains []string `yaml:"allow_domains" json:"allow_domains"`
	DenyDomains  []string `yaml:"deny_domains" json:"deny_domains"`
	AllowCIDRs   []string `yaml:"allow_cidrs" json:"allow_cidrs"`
	// DenyCIDRs lists addresses ("10.0.0.0/8", "192.0.2.7", "fd00::/8:443")
	// that a hostname must not resolve to. sandbox-runtime's
	// network.deniedResolvedAddresses maps here.
	DenyCIDRs         []string `yaml:"deny_cidrs" json:"deny_cidrs"`
	AllowLocalBinding bool     `yaml:"allow_local_binding" json:"allow_local_binding"`
}

// Credentials are secrets kept out of the sandbox: it sees placeholders,
// and the egress proxy puts the real values into requests to each
// secret's hosts only.
type Credentials struct {
	// Secrets are "NAME=SOURCE@HOST[,HOST...]", as --secret takes them.
	// SOURCE names where the value is on the host (env:VAR, file:PATH,
	// cmd:COMMAND), never the value itself.
	Secrets []string `yaml:"secrets" json:"secrets"`
	// Files are "PATH=TEMPLATE", as --secret-file takes them.
	Files []string `yaml:"files" json:"files"`
	// TLSExclude lists hosts whose TLS is never terminated.
	TLSExclude []string `yaml:"tls_exclude" json:"tls_exclude"`
}

// Commands holds the command rules by decision.
type Commands struct {
	Allow []CommandRule `yaml:"allow" json:"allow"`
	Ask   []CommandRule `yaml:"ask" json:"ask"`
	Deny  []CommandRule `yaml:"deny" json:"deny"`
}

// CommandRule is one command pattern ("npm *", "git push --force*") with
// an optional justification shown when it decides, and examples it must
// and must not match (checked when the rules are compiled).
type CommandRule struct {
	Pattern       string   `yaml:"pattern" json:"pattern"`
	Justification string   `yaml:"justification,omitempty" json:"justification,omitempty"`
	Match         []string `yaml:"match,omitempty" json:"match,omitempty"`
	NotMatch      []string `yaml:"not_match,omitempty" json:"not_match,omitempty"`
	// Source is where the rule was written ("policy.yaml:12:5"), for
	// error messages.
	Source string `yaml:"-" json:"-"`
}

// Process settings for the sandboxed command.
type Process struct {
	// Env lists extra variables passed in: "NAME" copies the host value,
	// "NAME=VALUE" sets it. Everything not on the built-in allowlist or here
	// is scrubbed.
	Env []string `yaml:"env" json:"env"`
	// Root runs the command as uid 0 inside the sandbox (still with no
	// capabilities). Off by default.
	Root bool `yaml:"root" json:"root"`
	// Hostname inside the UTS namespace; "" means "airlock".
	Hostname string `yaml:"hostname" json:"hostname"`
}

// Limits on resources. Zero means unlimited (not set).
type Limits struct {
	MemoryBytes  int64         `yaml:"memory" json:"memory"`
	Pids         int64         `yaml:"pids" json:"pids"`
	CPUs         float64       `yaml:"cpus" json:"cpus"`
	Timeout      time.Duration `yaml:"timeout" json:"timeout"`
	MaxOpenFiles uint64        `yaml:"max_open_files" json:"max_open_files"`
	MaxFileSize  int64         `yaml:"max_file_size" json:"max_file_size"`
}

// Layers that can be missing on a host and that --allow-degraded can name.
const (
	LayerUserNS   = "userns"
	LayerSeccomp  = "seccomp"
	LayerLandlock = "landlock"
	LayerCgroup   = "cgroup"
)

// Layers lists every layer name accepted by AllowDegraded.
var Layers = []string{LayerUserNS, LayerSeccomp, LayerLandlock, LayerCgroup}
