package session

import (
	"path"
	"strings"
)

// protectedBy returns the first rule in rules that protects path p, or "".
//
// A rule is one or more slash-separated names. It matches when its names
// appear as consecutive elements of p at any depth, and so also protects
// everything below the matched elements: ".git/hooks" protects
// "sub/.git/hooks" and "sub/.git/hooks/pre-commit"; ".bashrc" protects
// ".bashrc" and "home/.bashrc"; ".claude" protects ".claude/settings.json".
// Names compare case-insensitively, so a case-folding file system cannot
// be used to slip ".Git/Hooks" past a rule.
func protectedBy(p string, rules []string) string {
	if len(rules) == 0 {
		return ""
	}
	elems := strings.Split(p, "/")
	for _, rule := range rules {
		parts := splitRule(rule)
		if len(parts) == 0 || len(parts) > len(elems) {
			continue
		}
		for i := 0; i+len(parts) <= len(elems); i++ {
			match := true
			for j, part := range parts {
				if !strings.EqualFold(elems[i+j], part) {
					match = false
					break
				}
			}
			if match {
				return rule
			}
		}
	}
	return ""
}

// splitRule splits a rule into its names, ignoring empty and "." elements
// and leading or trailing slashes.
func splitRule(rule string) []string {
	var parts []string
	for _, part := range strings.Split(rule, "/") {
		if part != "" && part != "." {
			parts = append(parts, part)
		}
	}
	return parts
}

// matchesPaths reports whether p is selected by the path filter paths: an
// empty filter selects everything, otherwise p must equal a filter path or
// lie below one.
func matchesPaths(p string, paths []string) bool {
	if len(paths) == 0 {
		return true
	}
	for _, f := range paths {
		f = strings.TrimPrefix(path.Clean("/"+f), "/")
		if f == "" || p == f || strings.HasPrefix(p, f+"/") {
			return true
		}
	}
	return false
}
