package proxy

import (
	"net/netip"
	"time"
)

// RecordSchema is the version of Record; it changes when a field changes
// meaning or is removed.
const RecordSchema = 1

// JSON field names of Record.
const (
	FieldSchema     = "schema"
	FieldTime       = "time"
	FieldSandboxID  = "sandbox_id"
	FieldClient     = "client"
	FieldProto      = "proto"
	FieldMethod     = "method"
	FieldHost       = "host"
	FieldPort       = "port"
	FieldIP         = "ip"
	FieldRule       = "rule"
	FieldDecision   = "decision"
	FieldReason     = "reason"
	FieldHint       = "hint"
	FieldError      = "error"
	FieldBytesUp    = "bytes_up"
	FieldBytesDown  = "bytes_down"
	FieldDurationMS = "duration_ms"
	FieldEvent      = "event"
	FieldTLS        = "tls"
	FieldPath       = "path"
	FieldInjected   = "injected"
)

// EventEgress is Record.Event: the audit stream also carries other events
// (programs run, secret files), each with its own "event" value.
const EventEgress = "egress"

// Values of Record.Proto.
const (
	ProtoHTTP    = "http"
	ProtoConnect = "connect"
	ProtoSOCKS5  = "socks5"
	ProtoSOCKS4  = "socks4"
	// ProtoHTTPS is a request inside a CONNECT tunnel whose TLS the proxy
	// terminated; ProtoGateway a request to the gateway listener.
	ProtoHTTPS   = "https"
	ProtoGateway = "gateway"
)

// Values of Record.Decision.
const (
	DecisionAllow = "allow"
	DecisionDeny  = "deny"
)

// Rule ids of the decisions the proxy makes itself, before or instead of
// the policy.
const (
	RuleAuth        = "proxy.auth"        // missing or wrong proxy credentials
	RuleBadRequest  = "proxy.bad-request" // malformed or ambiguous request
	RuleUnsupported = "proxy.unsupported" // SOCKS4, SOCKS5 BIND and UDP ASSOCIATE
	RuleNoPolicy    = "proxy.no-policy"   // Config.Policy returned nil
	RuleAsk         = "proxy.ask"         // allowed by Config.Ask
)

// Record is the canonical audit record of one decision: one per forwarded
// HTTP request, CONNECT tunnel or SOCKS request, allowed or denied. The
// package documentation describes each field.
type Record struct {
	Schema    int       `json:"schema"`
	Event     string    `json:"event"`
	Time      time.Time `json:"time"`
	SandboxID string    `json:"sandbox_id"`
	Client    string    `json:"client"`
	Proto     string    `json:"proto"`
	Method    string    `json:"method"`
	Host      string    `json:"host"`
	Port      int       `json:"port"`
	IP        string    `json:"ip"`
	Rule      string    `json:"rule"`
	Decision  string    `json:"decision"`
	Reason    string    `json:"reason"`
	Hint      string    `json:"hint,omitempty"`
	// TLS is "terminated" when the proxy read the request inside TLS.
	TLS string `json:"tls,omitempty"`
	// Path is the request path, without the query, of a request the proxy
	// read (plain HTTP, terminated TLS, gateway).
	Path string `json:"path,omitempty"`
	// Injected names the secrets whose real values the proxy put into
	// the request.
	Injected   []string `json:"injected,omitempty"`
	Error      string   `json:"error,omitempty"`
	BytesUp    int64    `json:"bytes_up"`
	BytesDown  int64    `json:"bytes_down"`
	DurationMS float64  `json:"duration_ms"`
}

// Verdict is a policy decision on one destination.
type Verdict struct {
	Allow  bool
	Rule   string // id of the deciding rule, for the audit record and the 403 header
	Reason string // why, for a human
	Hint   string // how to change the outcome, for a human; may be empty

	// NoMatch reports a denial made only because no allow rule matched
	// (not an explicit deny rule, not an address class). Only such a
	// denial of CheckName is passed to Config.Ask.
	NoMatch bool
}

// Policy decides which destinations the sandbox may reach. It is called
// concurrently and must not block on I/O.
type Policy interface {
	// CheckName is called before any DNS lookup, with the host exactly
	// as the client sent it (an IPv6 literal without its brackets). name
	// is the normalised name ("" for an IP literal); literal is valid
	// only for an IP literal.
	CheckName(host string, port int) (name string, literal netip.Addr, v Verdict)
	// CheckAddr is called after resolution for each candidate address,
	// and for the literal of an IP literal (with name "").
	CheckAddr(name string, ip netip.Addr, port int) Verdict
}
