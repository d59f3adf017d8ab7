package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxFileBytes bounds the policy and settings files read, so that a wrong
// path (a log, a device) fails fast instead of filling memory.
const maxFileBytes = 1 << 20

// readFile reads the named policy or settings file, up to maxFileBytes.
func readFile(what, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s %q: %w", what, path, err)
	}
	if len(data) > maxFileBytes {
		return nil, &Error{File: path, Msg: fmt.Sprintf("file is larger than %d bytes", maxFileBytes)}
	}
	return data, nil
}

// LoadFile reads a native YAML policy file (the --policy flag) and validates
// it on its own; Build validates it again together with the base profile,
// settings and flags. The keys are the yaml tags of Policy and its parts.
// Unknown or duplicate keys, wrong types and bad values are *Error values
// located at FILE:LINE:COLUMN. Anchors, aliases and multiple documents are
// rejected.
//
// Value syntax:
//   - limits.memory and limits.max_file_size: a byte count with an optional
//     binary unit, "1024", "64K", "512M", "2G" ("KiB", "MB", ... are accepted
//     too and every unit is a power of 1024)
//   - limits.timeout: a Go duration, "30s", "5m", "1h30m"
//   - limits.cpus: a positive number, 1.5
//   - limits.pids and limits.max_open_files: a positive integer
//
// A limit given as 0 is an error: leave the key out for no limit.
func LoadFile(path string) (*Policy, error) {
	p, _, err := loadFile(path)
	return p, err
}

func loadFile(path string) (*Policy, origins, error) {
	data, err := readFile("policy", path)
	if err != nil {
		return nil, nil, err
	}
	return parsePolicy(path, data)
}

// parsePolicy parses and validates a native policy held in data; file names
// it in errors.
func parsePolicy(file string, data []byte) (*Policy, origins, error) {
	l := &yamlLoader{file: file, org: origins{}}
	p, err := l.load(data)
	if err != nil {
		return nil, nil, err
	}
	if err := validate(p, l.org); err != nil {
		return nil, nil, err
	}
	return p, l.org, nil
}

// yamlLoader walks a yaml.Node tree into a Policy, recording where every
// setting came from.
type yamlLoader struct {
	file string
	org  origins
}

func (l *yamlLoader) errAt(n *yaml.Node, field, format string, args ...any) *Error {
	return &Error{File: l.file, Line: n.Line, Column: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (l *yamlLoader) src(n *yaml.Node, field string) origin {
	return origin{file: l.file, line: n.Line, col: n.Column, field: field}
}

// yamlLineRE matches the location prefix of yaml.v3 syntax errors.
var yamlLineRE = regexp.MustCompile(`^line (\d+): `)

// syntaxError turns a yaml.v3 parse error into an *Error. yaml.v3 reports
// only the line of a syntax error, so Column stays 0.
func (l *yamlLoader) syntaxError(err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: l.file}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	e.Msg = "invalid YAML: " + msg
	return e
}

// decode parses one YAML document. yaml.v3 recovers its own errors; any
// other panic from it is turned into an error so that a malformed file
// cannot crash the caller.
func (l *yamlLoader) decode(data []byte) (doc *yaml.Node, empty bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{File: l.file, Msg: fmt.Sprintf("invalid YAML: parser failed: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first yaml.Node
	if err := dec.Decode(&first); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true, nil
		}
		return nil, false, l.syntaxError(err)
	}
	var second yaml.Node
	if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, false, l.syntaxError(err)
		}
		at := &second
		if len(second.Content) > 0 {
			at = second.Content[0]
		}
		return nil, false, l.errAt(at, "", "a policy file holds one YAML document; found a second one")
	}
	return &first, false, nil
}

func (l *yamlLoader) load(data []byte) (*Policy, error) {
	p := &Policy{}
	doc, empty, err := l.decode(data)
	if err != nil || empty {
		return p, err
	}
	if err := l.noAliases(doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return p, nil
	}
	root := doc.Content[0]
	if isNull(root) {
		return p, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, l.errAt(root, "", "expected a mapping of policy settings, got %s", kindName(root))
	}
	err = l.mapping(root, "", map[string]func(string, *yaml.Node) error{
		"version": func(f string, v *yaml.Node) error {
			if v.ShortTag() != "!!int" {
				return l.errAt(v, f, "expected an integer, got %s", kindName(v))
			}
			var n int
			if err := v.Decode(&n); err != nil || n != 1 {
				return l.errAt(v, f, "unsupported version %s (only version 1 exists)", v.Value)
			}
			p.Version = 1
			l.org.add(f, l.src(v, f))
			return nil
		},
		"profile": func(f string, v *yaml.Node) error { return l.str(v, f, &p.Profile) },
		"filesystem": func(f string, v *yaml.Node) error {
			fs := &p.Filesystem
			return l.mapping(v, f, map[string]func(string, *yaml.Node) error{
				"workspace":          func(f string, v *yaml.Node) error { return l.str(v, f, &fs.Workspace) },
				"allow_write":        func(f string, v *yaml.Node) error { return l.strList(v, f, &fs.AllowWrite) },
				"deny_read":          func(f string, v *yaml.Node) error { return l.strList(v, f, &fs.DenyRead) },
				"allow_read":         func(f string, v *yaml.Node) error { return l.strList(v, f, &fs.AllowRead) },
				"deny_write":         func(f string, v *yaml.Node) error { return l.strList(v, f, &fs.DenyWrite) },
				"unprotect":          func(f string, v *yaml.Node) error { return l.strList(v, f, &fs.Unprotect) },
				"allow_unix_sockets": func(f string, v *yaml.Node) error { return l.strList(v, f, &fs.AllowUnixSockets) },
			})
		},
		"network": func(f string, v *yaml.Node) error {
			n := &p.Network
			return l.mapping(v, f, map[string]func(string, *yaml.Node) error{
				"allow_domains":       func(f string, v *yaml.Node) error { return l.strList(v, f, &n.AllowDomains) },
				"deny_domains":        func(f string, v *yaml.Node) error { return l.strList(v, f, &n.DenyDomains) },
				"allow_cidrs":         func(f string, v *yaml.Node) error { return l.strList(v, f, &n.AllowCIDRs) },
				"deny_cidrs":          func(f string, v *yaml.Node) error { return l.strList(v, f, &n.DenyCIDRs) },
				"allow_local_binding": func(f string, v *yaml.Node) error { return l.boolean(v, f, &n.AllowLocalBinding) },
			})
		},
		"commands": func(f string, v *yaml.Node) error {
			c := &p.Commands
			return l.mapping(v, f, map[string]func(string, *yaml.Node) error{
				"allow": func(f string, v *yaml.Node) error { return l.commandRules(v, f, &c.Allow) },
				"ask":   func(f string, v *yaml.Node) error { return l.commandRules(v, f, &c.Ask) },
				"deny":  func(f string, v *yaml.Node) error { return l.commandRules(v, f, &c.Deny) },
			})
		},
		"credentials": func(f string, v *yaml.Node) error {
			c := &p.Credentials
			return l.mapping(v, f, map[string]func(string, *yaml.Node) error{
				"secrets":     func(f string, v *yaml.Node) error { return l.strList(v, f, &c.Secrets) },
				"files":       func(f string, v *yaml.Node) error { return l.strList(v, f, &c.Files) },
				"tls_exclude": func(f string, v *yaml.Node) error { return l.strList(v, f, &c.TLSExclude) },
			})
		},
		"process": func(f string, v *yaml.Node) error {
			pr := &p.Process
			return l.mapping(v, f, map[string]func(string, *yaml.Node) error{
				"env":      func(f string, v *yaml.Node) error { return l.strList(v, f, &pr.Env) },
				"root":     func(f string, v *yaml.Node) error { return l.boolean(v, f, &pr.Root) },
				"hostname": func(f string, v *yaml.Node) error { return l.str(v, f, &pr.Hostname) },
			})
		},
		"limits": func(f string, v *yaml.Node) error { return l.limits(v, f, &p.Limits) },
		"allow_degraded": func(f string, v *yaml.Node) error {
			return l.strList(v, f, &p.AllowDegraded)
		},
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (l *yamlLoader) limits(n *yaml.Node, field string, lim *Limits) error {
	return l.mapping(n, field, map[string]func(string, *yaml.Node) error{
		"memory": func(f string, v *yaml.Node) error { return l.size(v, f, &lim.MemoryBytes) },
		"pids": func(f string, v *yaml.Node) error {
			c, err := l.count(v, f, 63)
			lim.Pids = int64(c)
			return err
		},
		"cpus": func(f string, v *yaml.Node) error {
			var err error
			switch v.ShortTag() {
			case "!!int", "!!float":
				var x float64
				if err := v.Decode(&x); err != nil {
					return l.errAt(v, f, "invalid number %q", v.Value)
				}
				lim.CPUs, err = checkCPUs(x)
			case "!!str":
				lim.CPUs, err = parseCPUs(v.Value)
			default:
				return l.errAt(v, f, "expected a number of cpus such as 1.5, got %s", kindName(v))
			}
			if err != nil {
				return l.errAt(v, f, "%v", err)
			}
			l.org.add(f, l.src(v, f))
			return nil
		},
		"timeout": func(f string, v *yaml.Node) error {
			if v.ShortTag() != "!!str" {
				return l.errAt(v, f, `expected a duration with a unit such as "30s" or "5m", got %s`, kindName(v))
			}
			d, err := parseTimeout(v.Value)
			if err != nil {
				return l.errAt(v, f, "%v", err)
			}
			lim.Timeout = d
			l.org.add(f, l.src(v, f))
			return nil
		},
		"max_open_files": func(f string, v *yaml.Node) error {
			c, err := l.count(v, f, 64)
			lim.MaxOpenFiles = c
			return err
		},
		"max_file_size": func(f string, v *yaml.Node) error { return l.size(v, f, &lim.MaxFileSize) },
	})
}

// size reads a byte count: an integer or a string with a unit.
func (l *yamlLoader) size(v *yaml.Node, f string, dst *int64) error {
	var (
		n   int64
		err error
	)
	switch v.ShortTag() {
	case "!!int":
		var u uint64
		u, err = l.yamlUint(v, 63)
		n = int64(u)
	case "!!str":
		n, err = parseSize(v.Value)
	default:
		return l.errAt(v, f, "expected a size such as 512M, got %s", kindName(v))
	}
	if err != nil {
		return l.errAt(v, f, "%v", err)
	}
	*dst = n
	l.org.add(f, l.src(v, f))
	return nil
}

// count reads a positive integer of at most bitSize bits, written as a YAML
// integer or a decimal string.
func (l *yamlLoader) count(v *yaml.Node, f string, bitSize int) (uint64, error) {
	var (
		n   uint64
		err error
	)
	switch v.ShortTag() {
	case "!!int":
		n, err = l.yamlUint(v, bitSize)
	case "!!str":
		n, err = parseCount(v.Value, bitSize)
	default:
		return 0, l.errAt(v, f, "expected a positive integer, got %s", kindName(v))
	}
	if err != nil {
		return 0, l.errAt(v, f, "%v", err)
	}
	l.org.add(f, l.src(v, f))
	return n, nil
}

// yamlUint decodes a positive YAML integer (any YAML spelling: 1024, 0x400,
// 0o2000) of at most bitSize bits.
func (l *yamlLoader) yamlUint(v *yaml.Node, bitSize int) (uint64, error) {
	if strings.HasPrefix(v.Value, "-") {
		return 0, errors.New("must be positive (leave it out for no limit)")
	}
	var u uint64
	if err := v.Decode(&u); err != nil || (bitSize < 64 && u >= 1<<bitSize) {
		return 0, fmt.Errorf("%s is too large", v.Value)
	}
	if u == 0 {
		return 0, errors.New("must be positive (leave it out for no limit)")
	}
	return u, nil
}

// mapping walks mapping node n, calling the handler of each key with the
// key's dotted field name. Null values count as not set.
func (l *yamlLoader) mapping(n *yaml.Node, field string, handlers map[string]func(string, *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return l.errAt(n, field, "expected a mapping, got %s", kindName(n))
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return l.errAt(k, field, "expected a key, got %s", kindName(k))
		}
		name := k.Value
		if field != "" {
			name = field + "." + k.Value
		}
		h, ok := handlers[k.Value]
		if !ok {
			return l.errAt(k, name, "unknown key%s", didYouMean(k.Value, sortedKeys(handlers)))
		}
		if prev, dup := seen[k.Value]; dup {
			return l.errAt(k, name, "duplicate key (first set at line %d)", prev.Line)
		}
		seen[k.Value] = k
		if isNull(v) && v.Value == "~" && name == "filesystem.workspace" {
			// Written "~" for the one scalar path setting, this is almost
			// certainly the home directory, not YAML's null: refuse rather
			// than silently unset it.
			return l.errAt(v, name, `got null ("~" alone is YAML for null; write "~/" or quote it)`)
		}
		if isNull(v) {
			continue
		}
		if err := h(name, v); err != nil {
			return err
		}
	}
	return nil
}

func (l *yamlLoader) str(v *yaml.Node, f string, dst *string) error {
	s, err := l.scalarString(v, f)
	if err != nil {
		return err
	}
	*dst = s
	l.org.add(f, l.src(v, f))
	return nil
}

func (l *yamlLoader) scalarString(v *yaml.Node, f string) (string, error) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
		return v.Value, nil
	}
	if v.Kind == yaml.ScalarNode && v.Value == "~" {
		return "", l.errAt(v, f, `expected a string, got null ("~" alone is YAML for null; write "~/" or quote it)`)
	}
	return "", l.errAt(v, f, "expected a string, got %s", kindName(v))
}

func (l *yamlLoader) strList(v *yaml.Node, f string, dst *[]string) error {
	if v.Kind != yaml.SequenceNode {
		return l.errAt(v, f, "expected a list of strings, got %s", kindName(v))
	}
	for i, e := range v.Content {
		ef := fmt.Sprintf("%s[%d]", f, i)
		s, err := l.scalarString(e, ef)
		if err != nil {
			return err
		}
		*dst = append(*dst, s)
		l.org.add(entryKey(f, s), l.src(e, ef))
	}
	return nil
}

func (l *yamlLoader) boolean(v *yaml.Node, f string, dst *bool) error {
	if v.ShortTag() != "!!bool" {
		return l.errAt(v, f, "expected true or false, got %s", kindName(v))
	}
	if err := v.Decode(dst); err != nil {
		return l.errAt(v, f, "expected true or false, got %q", v.Value)
	}
	l.org.add(f, l.src(v, f))
	return nil
}

// noAliases rejects anchors and aliases anywhere in the tree: the format has
// no use for them, and refusing them rules out alias-expansion bombs.
func (l *yamlLoader) noAliases(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return l.errAt(n, "", "YAML anchors and aliases are not supported")
	}
	for _, c := range n.Content {
		if err := l.noAliases(c); err != nil {
			return err
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// kindName describes a node's type for "expected X, got Y" messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch t := n.ShortTag(); t {
	case "!!str":
		return "a string"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	case "!!timestamp":
		return "a timestamp"
	default:
		return "a value tagged " + t
	}
}

// commandRules reads a list of command rules: each a pattern string, or a
// mapping with pattern, justification, match and not_match.
func (l *yamlLoader) commandRules(v *yaml.Node, f string, dst *[]CommandRule) error {
	if v.Kind != yaml.SequenceNode {
		return l.errAt(v, f, "expected a list of command rules, got %s", kindName(v))
	}
	for i, e := range v.Content {
		ef := fmt.Sprintf("%s[%d]", f, i)
		r := CommandRule{Source: l.src(e, ef).String()}
		if e.Kind == yaml.ScalarNode {
			s, err := l.scalarString(e, ef)
			if err != nil {
				return err
			}
			r.Pattern = s
		} else {
			err := l.mapping(e, ef, map[string]func(string, *yaml.Node) error{
				"pattern":       func(f string, v *yaml.Node) error { return l.str(v, f, &r.Pattern) },
				"justification": func(f string, v *yaml.Node) error { return l.str(v, f, &r.Justification) },
				"match":         func(f string, v *yaml.Node) error { return l.strList(v, f, &r.Match) },
				"not_match":     func(f string, v *yaml.Node) error { return l.strList(v, f, &r.NotMatch) },
			})
			if err != nil {
				return err
			}
		}
		if strings.TrimSpace(r.Pattern) == "" {
			return l.errAt(e, ef, "a command rule needs a pattern, e.g. \"npm *\"")
		}
		*dst = append(*dst, r)
	}
	return nil
}
