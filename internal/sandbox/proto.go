package sandbox

// Messages between the supervisor and init travel as JSON over a
// SOCK_SEQPACKET socketpair created before the sandbox exists; each message
// is one packet, and file descriptors ride along as SCM_RIGHTS.
//
//	supervisor                                   init (PID 1, new namespaces)
//	    |  clone(NEWUSER|NEWNS|NEWPID|NEWNET|...) + exec /proc/self/exe   |
//	    |  (uid/gid maps written by the runtime before exec)              |
//	    |  cgroup: add init's pid                                         |
//	    |----------------- spec ------------------------------------------>|
//	    |                                      unshare(NEWCGROUP), mounts,
//	    |                                      pivot_root, pty, landlock,
//	    |                                      caps, seccomp (+listener)
//	    |<---------------- pty (fd: master), only for a TTY ---------------|
//	    |<---------------- proxy (fds: HTTP, SOCKS5 listeners), for egress-|
//	    |<---------------- landlock (fd: ruleset), when Landlock applies --|
//	    |<---------------- notify (fd: seccomp listener), if asked --------|
//	    |<---------------- degraded{layer,msg}, per missing best-effort layer
//	    |<---------------- started | error{msg,hint} ----------------------|
//	    |                                      command runs; init reaps,
//	    |                                      forwards signals
//	    |<---------------- exit{code,signal} ------------------------------|
//	    |  init exits with the command's status; the kernel kills every
//	    |  process left in the PID namespace. If the supervisor dies, init
//	    |  reads EOF (and gets SIGKILL from PDEATHSIG) and exits too.
type message struct {
	Type   string `json:"type"`
	Msg    string `json:"msg,omitempty"`
	Hint   string `json:"hint,omitempty"`
	Layer  string `json:"layer,omitempty"`
	Code   int    `json:"code,omitempty"`
	Signal int    `json:"signal,omitempty"`
	Spec   *Spec  `json:"spec,omitempty"`
}

const (
	msgSpec   = "spec"
	msgPty    = "pty"
	msgNotify = "notify"
	// msgProxy carries the two proxy listeners (HTTP, SOCKS5) created in
	// the sandbox's network namespace.
	msgProxy = "proxy"
	// msgLandlock carries init's Landlock ruleset fd, which the create
	// guard enforces on the thread that acts for the sandbox.
	msgLandlock = "landlock"
	msgStarted  = "started"
	msgError    = "error"
	// msgDegraded reports a best-effort layer that could not be applied.
	msgDegraded = "degraded"
	msgExit     = "exit"
)

// ExitSetup is the exit status of a run whose sandbox could not be set up.
const ExitSetup = 125

// ExitTimeout is the exit status of a run stopped by --timeout.
const ExitTimeout = 124

// ExitNotFound is the exit status when the command cannot be found or run.
const ExitNotFound = 127
