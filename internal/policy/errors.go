package policy

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Error is a problem with a policy setting, located as precisely as its
// source allows. File is the policy or settings file as it was named, or ""
// for command-line flags and built-in profiles. Line and Column are 1-based;
// Column counts characters, not bytes. Either is 0 when unknown. Field names
// the setting as its source spells it: "filesystem.deny_read[2]" in a policy
// file, "network.allowedDomains[0]" in a settings file, "--memory" for a flag.
type Error struct {
	File   string
	Line   int
	Column int
	Field  string
	Msg    string
}

// Error renders "FILE:LINE:COL: FIELD: MSG", leaving out the parts that are
// unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Column > 0 {
				fmt.Fprintf(&b, ":%d", e.Column)
			}
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// origin records where one setting or list entry came from, so that errors
// found after merging can still point at the file position or flag.
type origin struct {
	file      string
	line, col int
	// field is how the source spells the setting ("filesystem.denyRead[1]",
	// "--deny-read").
	field string
	// what describes a source that has no position ("the agent profile").
	what string
}

// String names the source for use inside another entry's message.
func (o origin) String() string {
	switch {
	case o.file != "":
		return fmt.Sprintf("%s:%d:%d", o.file, o.line, o.col)
	case o.what != "":
		return o.what
	default:
		return o.field
	}
}

// origins maps a canonical setting key (see entryKey and the dotted native
// field names) to where it was set. Only the first source of a key is kept.
type origins map[string]origin

// entryKey is the origins key of one entry of a list setting.
func entryKey(field, value string) string { return field + "\x00" + value }

func (o origins) add(key string, src origin) {
	if o == nil {
		return
	}
	if _, ok := o[key]; !ok {
		o[key] = src
	}
}

// errorAt builds an Error for the setting stored under key, located at its
// origin when known and otherwise named by the canonical field.
func (o origins) errorAt(key, field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if src, ok := o[key]; ok {
		f := src.field
		if f == "" {
			f = field
		}
		return &Error{File: src.file, Line: src.line, Column: src.col, Field: f, Msg: msg}
	}
	return &Error{Field: field, Msg: msg}
}

// describe names the source of key in parentheses for a message about a
// conflicting entry, or returns "" when it is unknown.
func (o origins) describe(key string) string {
	if src, ok := o[key]; ok {
		return " (" + src.String() + ")"
	}
	return ""
}

// suggest returns the candidate closest to key when it is close enough to be
// a plausible typo, or "". Spelling variants that differ only in case, "_" or
// "-" (denyRead for deny_read) always match.
func suggest(key string, candidates []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
	}
	nk := norm(key)
	for _, c := range candidates {
		if norm(c) == nk {
			return c
		}
	}
	limit := utf8.RuneCountInString(key) / 3
	limit = max(1, min(limit, 3))
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(key), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// didYouMean formats a suggestion suffix for an error message.
func didYouMean(key string, candidates []string) string {
	if s := suggest(key, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent
// characters each cost 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Keys are short; a full matrix keeps the transposition rule simple.
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// sortedKeys returns the keys of m in order, for suggestions and messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
