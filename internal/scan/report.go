package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// JSONVersion is the schema version of WriteJSON's output.
const JSONVersion = 1

const (
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[1;31m"
	ansiGreen = "\x1b[32m"
	ansiReset = "\x1b[0m"
)

// WriteText writes a human report: the files with findings, each marked
// "masked by deny_read RULE" or "READABLE", then a hint with the
// policy setting and the flag that would mask the readable ones. color
// adds ANSI colors. Paths and details are quoted when they hold control or
// other unprintable characters, so a file name cannot drive the terminal.
func WriteText(w io.Writer, r Report, color bool) error {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	var b strings.Builder
	files := groupByPath(r.Findings)
	var readable []string
	for _, g := range files {
		if !g[0].Masked {
			readable = append(readable, g[0].Path)
		}
	}
	fmt.Fprintf(&b, "scanned %s: %d files", safe(r.Root), r.Files)
	if len(files) == 0 {
		b.WriteString(", no credentials found\n")
	} else {
		fmt.Fprintf(&b, ", %d with credentials (%d masked, %d readable by the agent)\n",
			len(files), len(files)-len(readable), len(readable))
	}
	if r.Truncated {
		fmt.Fprintf(&b, "warning: stopped after %d files; the rest of the tree was not scanned\n", r.Files)
	}
	width := 0
	for _, g := range files {
		width = max(width, len(safe(g[0].Path)))
	}
	width = min(width, 60)
	for _, g := range files {
		b.WriteByte('\n')
		p := safe(g[0].Path)
		pad := strings.Repeat(" ", max(1, width-len(p)+2))
		if g[0].Masked {
			mark := "masked"
			if g[0].Rule != "" {
				mark = "masked by deny_read " + safe(g[0].Rule)
			}
			fmt.Fprintf(&b, "%s%s%s\n", paint(ansiBold, p), pad, paint(ansiGreen, mark))
		} else {
			fmt.Fprintf(&b, "%s%s%s\n", paint(ansiBold, p), pad, paint(ansiRed, "READABLE"))
		}
		for _, f := range g {
			fmt.Fprintf(&b, "    %-15s %s\n", f.Category, safe(f.Detail))
		}
	}
	if len(readable) > 0 {
		writeHint(&b, readable)
	}
	b.WriteString("note: the scan is heuristic; no finding is not proof that no credential is present\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeHint names the exact policy entry and flags that would mask the
// readable files. deny_read paths are relative to the workspace; a name
// without "/" would be a base-name glob, so it is written as "./NAME".
func writeHint(b *strings.Builder, readable []string) {
	var entries, flags, unnamable []string
	for _, p := range readable {
		if strings.ContainsAny(p, "*?[") || safe(p) != p {
			unnamable = append(unnamable, safe(p))
			continue
		}
		if !strings.Contains(p, "/") {
			p = "./" + p
		}
		entries = append(entries, strconv.Quote(p))
		flags = append(flags, "--deny-read "+shellQuote(p))
	}
	fmt.Fprintf(b, "\nhint: %d file(s) stay readable in the sandbox", len(readable))
	if len(entries) > 0 {
		b.WriteString("; to mask them, add to the policy file (paths are relative to the workspace):\n")
		fmt.Fprintf(b, "hint:   filesystem: { deny_read: [%s] }\n", strings.Join(entries, ", "))
		fmt.Fprintf(b, "hint: or pass to airlock run: %s\n", strings.Join(flags, " "))
	} else {
		b.WriteString("\n")
	}
	for _, p := range unnamable {
		fmt.Fprintf(b, "hint: %s cannot be named in deny_read (glob or control characters in its name); rename, move or delete it\n", p)
	}
	b.WriteString("hint: better still, remove the credential from the workspace and rotate it\n")
}

// groupByPath splits sorted findings into runs with the same path.
func groupByPath(fs []Finding) [][]Finding {
	var out [][]Finding
	for i := 0; i < len(fs); {
		j := i
		for j < len(fs) && fs[j].Path == fs[i].Path {
			j++
		}
		out = append(out, fs[i:j])
		i = j
	}
	return out
}

// safe returns s, or s quoted when it is not valid UTF-8 or holds a
// control, format (bidirectional override) or other unprintable character.
func safe(s string) string {
	if !utf8.ValidString(s) {
		return strconv.QuoteToASCII(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.QuoteToASCII(s)
		}
	}
	return s
}

var shellSafeRE = mustLazy(`^[A-Za-z0-9_./@%+=:,-]+$`)

func shellQuote(s string) string {
	if shellSafeRE.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// jsonReport is the document WriteJSON writes.
type jsonReport struct {
	Version   int       `json:"version"`
	Root      string    `json:"root"`
	Files     int       `json:"files"`
	Truncated bool      `json:"truncated"`
	Unmasked  int       `json:"unmasked"`
	Findings  []Finding `json:"findings"`
}

// WriteJSON writes the report as one indented JSON document with a schema
// version and the count of unmasked findings.
func WriteJSON(w io.Writer, r Report) error {
	doc := jsonReport{
		Version:   JSONVersion,
		Root:      r.Root,
		Files:     r.Files,
		Truncated: r.Truncated,
		Unmasked:  len(r.Unmasked()),
		Findings:  r.Findings,
	}
	if doc.Findings == nil {
		doc.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write scan report: %w", err)
	}
	return nil
}
