package sandbox

// Spec is the fully resolved plan for one sandbox: every path is absolute in
// the host's view, every glob is expanded, every default applied. The
// supervisor computes it (Plan) and sends it to init, which only executes it.
// Keeping the decision on the supervisor side makes the plan testable
// without privileges and keeps init small.
type Spec struct {
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
	// Dir is the working directory of the command inside the sandbox.
	Dir string `json:"dir"`
	// UID and GID are the ids the command runs as inside the user namespace.
	UID int `json:"uid"`
	GID int `json:"gid"`
	// HostUID and HostGID are the invoking user's ids, mapped to UID/GID.
	HostUID  int    `json:"host_uid"`
	HostGID  int    `json:"host_gid"`
	Hostname string `json:"hostname"`
	// TTY asks init to give the command a pty whose master the supervisor relays.
	TTY bool `json:"tty"`

	Workspace string `json:"workspace"`
	// Overlay, when set, mounts the workspace as an overlay: the real
	// workspace is the read-only lower layer and every write lands in
	// Upper, for review (airlock diff/apply/discard).
	Overlay *Overlay `json:"overlay,omitempty"`
	// Writable lists read-write bind mounts (the workspace first).
	Writable []string `json:"writable"`
	// ReadOnly lists paths re-bound read-only inside writable ones (deny_write
	// rules and the mandatory protections found at start).
	ReadOnly []string `json:"read_only"`
	// MaskDirs and MaskFiles are existing deny-read paths replaced by an
	// inaccessible empty directory or file.
	MaskDirs  []string `json:"mask_dirs"`
	MaskFiles []string `json:"mask_files"`
	// DenyExec are the binaries of programs a command deny rule names as
	// a whole; they are also in MaskFiles.
	DenyExec []string `json:"deny_exec"`
	// Reexpose lists allow_read paths inside masked directories that are
	// bound back in.
	Reexpose []string `json:"reexpose"`
	// DenyMissing lists deny-read paths that did not exist at start; Landlock
	// keeps them unreadable if the host creates them later.
	DenyMissing []string `json:"deny_missing"`

	// Landlock and Seccomp say how init treats these layers.
	Landlock Layer `json:"landlock"`
	Seccomp  Layer `json:"seccomp"`
	// AllowUnixSockets permits creating AF_UNIX sockets (explicit opt-in).
	AllowUnixSockets bool     `json:"allow_unix_sockets"`
	UnixSockets      []string `json:"unix_sockets"`
	// NotifyCreate routes path-creating syscalls to the supervisor, which
	// refuses protected names at any depth of the workspace.
	NotifyCreate bool `json:"notify_create"`
	// NotifyExec routes execve and execveat to the supervisor, which
	// records each program run (the exec audit) and lets it continue.
	NotifyExec bool `json:"notify_exec"`
	// Protected are the mandatory write-protected names (".git/hooks",
	// ".bashrc", ...) the create guard refuses at any depth.
	Protected []string `json:"protected"`
	// DenyCreate are deny_write paths inside writable trees that did not
	// exist at start; the create guard refuses to create them.
	DenyCreate []string `json:"deny_create"`
	// GitDirs are git directories inside writable trees that are not named
	// ".git": the targets of ".git" files (submodules, worktrees) and
	// symlinks. They get the same protection as a ".git" directory.
	GitDirs []string `json:"git_dirs"`

	Rlimits []Rlimit `json:"rlimits"`

	// Egress asks init for the proxy listeners inside the sandbox's network
	// namespace (HTTP on ProxyHTTPPort, SOCKS5 on ProxySOCKSPort of
	// 127.0.0.1). Init hands the listening sockets to the supervisor, which
	// accepts on them directly: no relay process, and nothing listens on
	// the host.
	Egress bool `json:"egress"`
	// Gateway adds a third listener, on ProxyGatewayPort, for the
	// credential gateway (base-URL mode).
	Gateway bool `json:"gateway"`

	// Files are written by init into a read-only tmpfs at FilesDir, owned
	// by the command's uid, before the command starts: the run's CA and
	// trust bundle, and secret files (which hold placeholders, never real
	// values). A File with a Target is also bound over that path.
	// They travel in a memfd next to the spec message, which a socket
	// packet could not hold (a trust bundle alone is some 200 KiB).
	Files []File `json:"-"`
}

// Overlay names the directories of an overlay workspace.
type Overlay struct {
	Upper string `json:"upper"`
	Work  string `json:"work"`
}

// File is one file init writes into FilesDir.
type File struct {
	// Name is the path below FilesDir ("ca.pem", "secrets/1").
	Name string `json:"name"`
	Data []byte `json:"data"`
	Mode uint32 `json:"mode"`
	// Target, when set, is a sandbox path the file is bound over: an
	// existing file, or a new one below the private /tmp.
	Target string `json:"target,omitempty"`
}

// FilesDir is where init puts Spec.Files inside the sandbox.
const FilesDir = "/tmp/.airlock"

// Ports of the proxy listeners on the sandbox's own loopback.
const (
	ProxyHTTPPort  = 3128
	ProxySOCKSPort = 1080
	// ProxyGatewayPort serves the credential gateway (plain HTTP).
	ProxyGatewayPort = 3129
)

// Rlimit is one setrlimit applied to the command.
type Rlimit struct {
	Resource int    `json:"resource"`
	Name     string `json:"name"`
	Value    uint64 `json:"value"`
}

// Layer is how strictly init must apply one isolation layer.
type Layer string

const (
	// Require: a missing layer is a set-up error (the default).
	Require Layer = "require"
	// BestEffort: used when available, reported when missing
	// (--allow-degraded).
	BestEffort Layer = "best-effort"
	// Off: not applied at all. Only AIRLOCK_UNSAFE_DISABLE sets it, for
	// tests that show what a layer blocks; every such run warns.
	Off Layer = "off"
)
