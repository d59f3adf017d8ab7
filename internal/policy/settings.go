package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// LoadSettings reads a sandbox-runtime (srt) settings file, such as
// ~/.srt-settings.json, unchanged (the --settings flag), and validates it on
// its own. Unknown keys, duplicate keys and wrong types are *Error values
// located at FILE:LINE:COLUMN.
//
// These settings map onto the Policy:
//
//	filesystem.denyRead, allowRead, allowWrite, denyWrite -> Filesystem lists
//	filesystem.allowGitConfig: true                       -> Unprotect ".git/config"
//	network.allowedDomains, deniedDomains                 -> Network.AllowDomains, DenyDomains
//	network.deniedResolvedAddresses                       -> Network.DenyCIDRs
//	network.allowLocalBinding                             -> Network.AllowLocalBinding
//	network.allowUnixSockets                              -> Filesystem.AllowUnixSockets
//	credentials.files[].path (mode deny or mask)          -> Filesystem.DenyRead
//
// A read pattern "**/NAME" (NAME without "/") becomes the base-name glob
// NAME, which Airlock matches at any depth. Other entries without "/" are
// paths relative to the current directory in srt: a denyRead one is kept as
// a base-name glob, which denies more, and an allowRead one becomes
// "./NAME", so that it exposes no more than srt would. credentials.files in
// mode "mask" are denied outright: Airlock has no file masking, and denying
// is the stricter reading.
//
// These are parsed and checked, then not used, because Airlock already
// behaves as they ask or because they configure srt internals:
// network.strictAllowlist (Airlock's allowlist is always strict),
// network.deniedDomainReasons, httpProxyPort, socksProxyPort, mitmProxy,
// tlsTerminate, parentProxy, allowMachLookup, credentials.envVars (the
// sandbox scrubs the environment to an allowlist), credentials.awsPairs,
// credentials.sigv4, credentials.allowPlaintextInject, ignoreViolations,
// allowPty, ripgrep, seccomp, bwrapPath, socatPath, windows, git and
// mandatoryDenySearchDepth: srt searches for dangerous files only that many
// directories deep, while Airlock protects them at any depth.
//
// Settings that would weaken the sandbox are refused when true:
// enableWeakerNestedSandbox, enableWeakerNetworkIsolation, allowAppleEvents,
// filesystem.disabled, network.allowAllDomains and
// network.allowAllUnixSockets.
func LoadSettings(path string) (*Policy, error) {
	p, _, err := loadSettings(path)
	return p, err
}

func loadSettings(path string) (*Policy, origins, error) {
	data, err := readFile("settings", path)
	if err != nil {
		return nil, nil, err
	}
	return parseSettings(path, data)
}

// parseSettings parses and validates srt settings held in data; file names
// it in errors.
func parseSettings(file string, data []byte) (*Policy, origins, error) {
	r := &jsonReader{file: file, data: data, dec: json.NewDecoder(bytes.NewReader(data)), org: origins{}}
	r.dec.UseNumber()
	p := &Policy{}
	if err := r.settings(p); err != nil {
		return nil, nil, err
	}
	if err := validate(p, r.org); err != nil {
		return nil, nil, err
	}
	return p, r.org, nil
}

const weakerMsg = "not supported: airlock never weakens the sandbox"

// jsonReader walks JSON tokens, keeping the byte offset of each so that
// errors can name a line and column.
type jsonReader struct {
	file string
	data []byte
	dec  *json.Decoder
	org  origins
}

// jtok is a JSON token and the offset of its first byte.
type jtok struct {
	v   json.Token
	off int
}

// handlers maps the keys of a JSON object to functions that read their value.
type handlers map[string]func(field string) error

func (r *jsonReader) errAt(off int, field, format string, args ...any) *Error {
	line, col := position(r.data, off)
	return &Error{File: r.file, Line: line, Column: col, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (r *jsonReader) src(off int, field string) origin {
	line, col := position(r.data, off)
	return origin{file: r.file, line: line, col: col, field: field}
}

// position converts a byte offset in data to a 1-based line and a 1-based
// column counted in characters.
func position(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}

// next returns the next token; the end of input is an error here, since
// every caller expects a value or a closing delimiter.
func (r *jsonReader) next() (jtok, error) {
	prev := int(r.dec.InputOffset())
	t, err := r.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return jtok{}, r.errAt(len(r.data), "", "invalid JSON: unexpected end of file")
		case errors.As(err, &se):
			return jtok{}, r.errAt(int(se.Offset), "", "invalid JSON: %s", se.Error())
		default:
			return jtok{}, r.errAt(prev, "", "invalid JSON: %v", err)
		}
	}
	// InputOffset was the end of the previous token; the separators
	// between it and this token are whitespace, ',' and ':'.
	off := prev
	for off < len(r.data) && strings.IndexByte(" \t\r\n,:", r.data[off]) >= 0 {
		off++
	}
	return jtok{v: t, off: off}, nil
}

func isDelim(t jtok, d byte) bool {
	v, ok := t.v.(json.Delim)
	return ok && byte(v) == d
}

// tokenName describes a value's type for "expected X, got Y" messages.
func tokenName(t jtok) string {
	switch v := t.v.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "an unknown token"
}

func (r *jsonReader) settings(p *Policy) error {
	t, err := r.next()
	if err != nil {
		return err
	}
	if !isDelim(t, '{') {
		return r.errAt(t.off, "", "expected a settings object, got %s", tokenName(t))
	}
	fs, nw := &p.Filesystem, &p.Network
	err = r.objectBody("", handlers{
		"$schema": r.ignoredString,
		"filesystem": func(f string) error {
			return r.object(f, handlers{
				"disabled":       func(f string) error { return r.refuseTrue(f, weakerMsg) },
				"denyRead":       func(f string) error { return r.readPatterns(f, fDenyRead, &fs.DenyRead) },
				"allowRead":      func(f string) error { return r.stringsMapped(f, fAllowRead, &fs.AllowRead, srtAllowRead) },
				"allowWrite":     func(f string) error { return r.strings(f, fAllowWrite, &fs.AllowWrite) },
				"denyWrite":      func(f string) error { return r.strings(f, fDenyWrite, &fs.DenyWrite) },
				"allowGitConfig": func(f string) error { return r.allowGitConfig(f, fs) },
			})
		},
		"network": func(f string) error {
			return r.object(f, handlers{
				"allowedDomains":          func(f string) error { return r.strings(f, fAllowDomains, &nw.AllowDomains) },
				"deniedDomains":           func(f string) error { return r.strings(f, fDenyDomains, &nw.DenyDomains) },
				"deniedDomainReasons":     r.reasons,
				"deniedResolvedAddresses": func(f string) error { return r.strings(f, fDenyCIDRs, &nw.DenyCIDRs) },
				"strictAllowlist":         r.ignoredBool,
				"allowAllDomains": func(f string) error {
					return r.refuseTrue(f, weakerMsg+"; list the domains in network.allowedDomains")
				},
				"allowUnixSockets": func(f string) error { return r.strings(f, fUnixSockets, &fs.AllowUnixSockets) },
				"allowAllUnixSockets": func(f string) error {
					return r.refuseTrue(f, weakerMsg+"; list the sockets in network.allowUnixSockets")
				},
				"allowLocalBinding": func(f string) error { return r.boolean(f, fLocalBinding, &nw.AllowLocalBinding) },
				"allowMachLookup":   r.ignoredStrings,
				"httpProxyPort":     r.port,
				"socksProxyPort":    r.port,
				"mitmProxy": func(f string) error {
					return r.object(f, handlers{
						"socketPath": r.nonEmptyString,
						"domains":    r.hostPatterns,
					}, "socketPath", "domains")
				},
				"tlsTerminate": func(f string) error { return r.tlsTerminate(f, &p.Credentials) },
				"parentProxy": func(f string) error {
					return r.object(f, handlers{
						"http":    r.proxyURL,
						"https":   r.proxyURL,
						"noProxy": r.ignoredString,
					})
				},
			})
		},
		"credentials":                  func(f string) error { return r.credentials(f, fs, &p.Credentials) },
		"ignoreViolations":             func(f string) error { return r.stringListMap(f) },
		"enableWeakerNestedSandbox":    func(f string) error { return r.refuseTrue(f, weakerMsg) },
		"enableWeakerNetworkIsolation": func(f string) error { return r.refuseTrue(f, weakerMsg) },
		"allowAppleEvents":             func(f string) error { return r.refuseTrue(f, weakerMsg) },
		"allowPty":                     r.ignoredBool,
		"mandatoryDenySearchDepth":     func(f string) error { _, err := r.integer(f, 1, 10); return err },
		"ripgrep": func(f string) error {
			return r.object(f, handlers{
				"command": r.ignoredString,
				"args":    r.ignoredStrings,
				"argv0":   r.ignoredString,
			}, "command")
		},
		"seccomp": func(f string) error {
			return r.object(f, handlers{"applyPath": r.ignoredString, "argv0": r.ignoredString})
		},
		"bwrapPath": r.absolutePath,
		"socatPath": r.absolutePath,
		"windows":   r.ignoredObject,
		"git": func(f string) error {
			return r.object(f, handlers{"safeDirectories": r.ignoredStrings})
		},
	})
	if err != nil {
		return err
	}
	end := r.peekOffset()
	if _, err := r.dec.Token(); !errors.Is(err, io.EOF) {
		return r.errAt(end, "", "unexpected data after the settings object")
	}
	return nil
}

func (r *jsonReader) tlsTerminate(f string, cr *Credentials) error {
	start := r.peekOffset()
	var cert, key bool
	err := r.object(f, handlers{
		"caCertPath":       func(f string) error { cert = true; return r.nonEmptyString(f) },
		"caKeyPath":        func(f string) error { key = true; return r.nonEmptyString(f) },
		"excludeDomains":   func(f string) error { return r.strings(f, fTLSExclude, &cr.TLSExclude) },
		"extraCaCertPaths": r.ignoredStrings,
	})
	if err == nil && cert != key {
		return r.errAt(start, f, "caCertPath and caKeyPath must be given together")
	}
	return err
}

func (r *jsonReader) credentials(f string, fs *Filesystem, cr *Credentials) error {
	// The fields of the entry being read: a "mask" entry with
	// injectHosts becomes a secret injected for those hosts.
	var mode string
	var hosts []string
	var start int
	common := handlers{
		"mode": func(f string) error {
			t, s, err := r.nextString(f)
			if err == nil && s != "deny" && s != "mask" {
				return r.errAt(t.off, f, "unknown value %q (valid: deny, mask)", s)
			}
			mode = s
			return err
		},
		"extract":          r.ignoredString,
		"onExtractNoMatch": func(f string) error { return r.enum(f, "warn", "deny", "error") },
		"decode":           func(f string) error { return r.enum(f, "jwt") },
		"maskClaims":       r.ignoredStrings,
		"injectHosts": func(f string) error {
			return r.array(f, func(t jtok, f string) error {
				s, err := r.stringValue(t, f)
				if err != nil {
					return err
				}
				if err := CheckHostPattern(s, false); err != nil {
					return r.errAt(t.off, f, "invalid domain pattern %q: %v", s, err)
				}
				hosts = append(hosts, s)
				return nil
			})
		},
	}
	with := func(extra handlers) handlers {
		mode, hosts, start = "", nil, r.peekOffset()
		h := maps.Clone(common)
		maps.Copy(h, extra)
		return h
	}
	addSecret := func(f, secret, file string) {
		cr.Secrets = append(cr.Secrets, secret)
		r.org.add(entryKey(fSecrets, secret), r.src(start, f))
		if file != "" {
			cr.Files = append(cr.Files, file)
			r.org.add(entryKey(fSecretFiles, file), r.src(start, f))
		}
	}
	nFiles := 0
	policy := func(f string) error { return r.enum(f, "deny", "passthrough") }
	return r.object(f, handlers{
		"files": func(f string) error {
			return r.array(f, func(t jtok, f string) error {
				var path string
				err := r.objectAt(t, f, with(handlers{
					"path": func(f string) error {
						t, s, err := r.nextString(f)
						if err != nil {
							return err
						}
						if s == "" {
							return r.errAt(t.off, f, "empty path")
						}
						path = s
						s = srtPattern(s)
						if !slices.Contains(fs.DenyRead, s) {
							fs.DenyRead = append(fs.DenyRead, s)
						}
						r.org.add(entryKey(fDenyRead, s), r.src(t.off, f))
						return nil
					},
					"maskDuplicates": r.ignoredBool,
				}), "path", "mode")
				// A masked file with injectHosts: the whole file is the
				// secret; the sandbox sees its placeholder in its place.
				if err == nil && mode == "mask" && len(hosts) > 0 && !strings.Contains(path, "*") {
					nFiles++
					name := fmt.Sprintf("SRT_FILE_%d", nFiles)
					addSecret(f, name+"=file:"+path+"@"+strings.Join(hosts, ","), path+"=${"+name+"}")
				}
				return err
			})
		},
		"envVars": func(f string) error {
			return r.array(f, func(t jtok, f string) error {
				var name string
				err := r.objectAt(t, f, with(handlers{
					"name": func(f string) error {
						t, s, err := r.nextString(f)
						if err == nil && !isEnvName(s) {
							return r.errAt(t.off, f, "invalid variable name %q", s)
						}
						name = s
						return err
					},
				}), "name", "mode")
				// "mask" with injectHosts: the sandbox sees a
				// placeholder, the proxy injects the value for those
				// hosts. "deny" (and mask without hosts): the variable
				// is scrubbed, as every unlisted variable is.
				if err == nil && mode == "mask" && len(hosts) > 0 {
					addSecret(f, name+"=env:"+name+"@"+strings.Join(hosts, ","), "")
				}
				return err
			})
		},
		"allowPlaintextInject": r.ignoredBool,
		"awsPairs": func(f string) error {
			return r.array(f, func(t jtok, f string) error {
				return r.objectAt(t, f, handlers{
					"accessKeyIdVar":     r.ignoredString,
					"secretAccessKeyVar": r.ignoredString,
					"sessionTokenVar":    r.ignoredString,
				}, "accessKeyIdVar", "secretAccessKeyVar")
			})
		},
		"sigv4": func(f string) error {
			return r.object(f, handlers{"streaming": policy, "presigned": policy, "sigv4a": policy})
		},
	})
}

// srtPattern turns srt's "**/NAME" read pattern into the equivalent
// base-name glob NAME.
func srtPattern(s string) string {
	if rest, ok := strings.CutPrefix(s, "**/"); ok && rest != "" && !strings.Contains(rest, "/") {
		return rest
	}
	return s
}

// srtAllowRead maps an srt allowRead entry: "**/NAME" to the base-name glob
// NAME, and any other entry without "/" to the relative path "./NAME" that
// srt means by it.
func srtAllowRead(s string) string {
	if p := srtPattern(s); p != s {
		return p
	}
	if IsBaseNameGlob(s) && s != "" {
		return "./" + s
	}
	return s
}

// peekOffset returns the offset of the next token without consuming it.
func (r *jsonReader) peekOffset() int {
	off := int(r.dec.InputOffset())
	for off < len(r.data) && strings.IndexByte(" \t\r\n,:", r.data[off]) >= 0 {
		off++
	}
	return off
}

// object reads the next value, which must be an object with keys from h;
// required keys must be present.
func (r *jsonReader) object(field string, h handlers, required ...string) error {
	t, err := r.next()
	if err != nil {
		return err
	}
	return r.objectAt(t, field, h, required...)
}

// objectAt is object with the opening token already read.
func (r *jsonReader) objectAt(t jtok, field string, h handlers, required ...string) error {
	if !isDelim(t, '{') {
		return r.errAt(t.off, field, "expected an object, got %s", tokenName(t))
	}
	seen, err := r.objectBodySeen(field, h)
	if err != nil {
		return err
	}
	for _, k := range required {
		if !seen[k] {
			return r.errAt(t.off, field, "missing required key %q", k)
		}
	}
	return nil
}

// objectBody reads the keys and values of an object whose "{" has been
// read, up to and including the closing "}".
func (r *jsonReader) objectBody(field string, h handlers) error {
	_, err := r.objectBodySeen(field, h)
	return err
}

func (r *jsonReader) objectBodySeen(field string, h handlers) (map[string]bool, error) {
	seen := map[string]bool{}
	lines := map[string]int{}
	for {
		k, err := r.next()
		if err != nil {
			return nil, err
		}
		if isDelim(k, '}') {
			return seen, nil
		}
		key, _ := k.v.(string) // the decoder only yields string keys
		name := key
		if field != "" {
			name = field + "." + key
		}
		handle, ok := h[key]
		if !ok {
			return nil, r.errAt(k.off, name, "unknown key%s", didYouMean(key, sortedKeys(h)))
		}
		if seen[key] {
			return nil, r.errAt(k.off, name, "duplicate key (first set at line %d)", lines[key])
		}
		seen[key] = true
		lines[key], _ = position(r.data, k.off)
		if err := handle(name); err != nil {
			return nil, err
		}
	}
}

// array reads the next value, which must be an array, calling elem with the
// first token of each element.
func (r *jsonReader) array(field string, elem func(t jtok, field string) error) error {
	t, err := r.next()
	if err != nil {
		return err
	}
	if !isDelim(t, '[') {
		return r.errAt(t.off, field, "expected an array, got %s", tokenName(t))
	}
	for i := 0; ; i++ {
		e, err := r.next()
		if err != nil {
			return err
		}
		if isDelim(e, ']') {
			return nil
		}
		if err := elem(e, fmt.Sprintf("%s[%d]", field, i)); err != nil {
			return err
		}
	}
}

// nextString reads the next token as a string value.
func (r *jsonReader) nextString(field string) (jtok, string, error) {
	t, err := r.next()
	if err != nil {
		return t, "", err
	}
	s, err := r.stringValue(t, field)
	return t, s, err
}

func (r *jsonReader) stringValue(t jtok, field string) (string, error) {
	s, ok := t.v.(string)
	if !ok {
		return "", r.errAt(t.off, field, "expected a string, got %s", tokenName(t))
	}
	return s, nil
}

// strings reads an array of strings into dst, recording each entry's origin
// under the canonical field name.
func (r *jsonReader) strings(field, canonical string, dst *[]string) error {
	return r.stringsMapped(field, canonical, dst, func(s string) string { return s })
}

// readPatterns is strings for denyRead, translating srt's "**/NAME" to a
// base-name glob.
func (r *jsonReader) readPatterns(field, canonical string, dst *[]string) error {
	return r.stringsMapped(field, canonical, dst, srtPattern)
}

func (r *jsonReader) stringsMapped(field, canonical string, dst *[]string, conv func(string) string) error {
	return r.array(field, func(t jtok, f string) error {
		s, err := r.stringValue(t, f)
		if err != nil {
			return err
		}
		s = conv(s)
		*dst = append(*dst, s)
		r.org.add(entryKey(canonical, s), r.src(t.off, f))
		return nil
	})
}

func (r *jsonReader) boolValue(field string) (bool, jtok, error) {
	t, err := r.next()
	if err != nil {
		return false, t, err
	}
	b, ok := t.v.(bool)
	if !ok {
		return false, t, r.errAt(t.off, field, "expected true or false, got %s", tokenName(t))
	}
	return b, t, nil
}

func (r *jsonReader) boolean(field, canonical string, dst *bool) error {
	b, t, err := r.boolValue(field)
	if err != nil {
		return err
	}
	*dst = b
	r.org.add(canonical, r.src(t.off, field))
	return nil
}

func (r *jsonReader) allowGitConfig(field string, fs *Filesystem) error {
	b, t, err := r.boolValue(field)
	if err != nil || !b {
		return err
	}
	if !slices.Contains(fs.Unprotect, ".git/config") {
		fs.Unprotect = append(fs.Unprotect, ".git/config")
	}
	r.org.add(entryKey(fUnprotect, ".git/config"), r.src(t.off, field))
	return nil
}

// refuseTrue reads a boolean that must not be true.
func (r *jsonReader) refuseTrue(field, msg string) error {
	b, t, err := r.boolValue(field)
	if err == nil && b {
		return r.errAt(t.off, field, "%s", msg)
	}
	return err
}

// integer reads a JSON number that is a whole number in [lo, hi].
func (r *jsonReader) integer(field string, lo, hi int64) (int64, error) {
	t, err := r.next()
	if err != nil {
		return 0, err
	}
	n, ok := t.v.(json.Number)
	if !ok {
		return 0, r.errAt(t.off, field, "expected an integer, got %s", tokenName(t))
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, r.errAt(t.off, field, "expected an integer from %d to %d, got %s", lo, hi, n)
	}
	return int64(f), nil
}

func (r *jsonReader) port(field string) error {
	_, err := r.integer(field, 1, 65535)
	return err
}

func (r *jsonReader) enum(field string, values ...string) error {
	t, s, err := r.nextString(field)
	if err != nil {
		return err
	}
	if !slices.Contains(values, s) {
		return r.errAt(t.off, field, "unknown value %q (valid: %s)%s", s, strings.Join(values, ", "), didYouMean(s, values))
	}
	return nil
}

func (r *jsonReader) nonEmptyString(field string) error {
	t, s, err := r.nextString(field)
	if err == nil && s == "" {
		return r.errAt(t.off, field, "must not be empty")
	}
	return err
}

func (r *jsonReader) absolutePath(field string) error {
	t, s, err := r.nextString(field)
	if err == nil && !strings.HasPrefix(s, "/") {
		return r.errAt(t.off, field, "%q is not an absolute path", s)
	}
	return err
}

func (r *jsonReader) proxyURL(field string) error {
	t, s, err := r.nextString(field)
	if err != nil {
		return err
	}
	if u, err := url.Parse(s); err != nil || u.Scheme == "" || u.Host == "" {
		return r.errAt(t.off, field, "%q is not a proxy URL such as \"http://proxy.example.com:3128\"", s)
	}
	return nil
}

// hostPatterns reads an array of domain patterns without ports (srt's
// mitmProxy.domains, tlsTerminate.excludeDomains, injectHosts).
func (r *jsonReader) hostPatterns(field string) error {
	return r.array(field, func(t jtok, f string) error {
		s, err := r.stringValue(t, f)
		if err != nil {
			return err
		}
		if err := CheckHostPattern(s, false); err != nil {
			return r.errAt(t.off, f, "invalid domain pattern %q: %v", s, err)
		}
		return nil
	})
}

func (r *jsonReader) ignoredString(field string) error {
	t, err := r.next()
	if err != nil {
		return err
	}
	_, err = r.stringValue(t, field)
	return err
}

func (r *jsonReader) ignoredBool(field string) error {
	_, _, err := r.boolValue(field)
	return err
}

func (r *jsonReader) ignoredStrings(field string) error {
	return r.array(field, func(t jtok, f string) error {
		_, err := r.stringValue(t, f)
		return err
	})
}

// reasons reads srt's deniedDomainReasons: an object of non-empty strings
// keyed by deniedDomains entries.
func (r *jsonReader) reasons(field string) error {
	return r.anyKeys(field, r.nonEmptyString)
}

// stringListMap reads an object whose values are arrays of strings.
func (r *jsonReader) stringListMap(field string) error {
	return r.anyKeys(field, r.ignoredStrings)
}

// anyKeys reads an object with arbitrary, unique keys, reading each value
// with value.
func (r *jsonReader) anyKeys(field string, value func(string) error) error {
	t, err := r.next()
	if err != nil {
		return err
	}
	if !isDelim(t, '{') {
		return r.errAt(t.off, field, "expected an object, got %s", tokenName(t))
	}
	lines := map[string]int{}
	for {
		k, err := r.next()
		if err != nil {
			return err
		}
		if isDelim(k, '}') {
			return nil
		}
		key, _ := k.v.(string)
		name := fmt.Sprintf("%s[%q]", field, key)
		if line, dup := lines[key]; dup {
			return r.errAt(k.off, name, "duplicate key (first set at line %d)", line)
		}
		lines[key], _ = position(r.data, k.off)
		if err := value(name); err != nil {
			return err
		}
	}
}

// ignoredObject reads and discards an object of any content.
func (r *jsonReader) ignoredObject(field string) error {
	t, err := r.next()
	if err != nil {
		return err
	}
	if !isDelim(t, '{') {
		return r.errAt(t.off, field, "expected an object, got %s", tokenName(t))
	}
	for depth := 1; depth > 0; {
		t, err := r.next()
		if err != nil {
			return err
		}
		switch {
		case isDelim(t, '{'), isDelim(t, '['):
			depth++
		case isDelim(t, '}'), isDelim(t, ']'):
			depth--
		}
	}
	return nil
}
