package sandbox

import (
	"path/filepath"
	"strings"
)

// nameMatcher matches base names against deny-read globs. The walk of the
// writable trees calls it once per directory entry (50,000 times for a
// large repository), so the common shapes, "name", "prefix*", "*suffix",
// are matched with string operations and only other shapes fall back to
// filepath.Match.
type nameMatcher struct {
	exact    map[string]bool
	prefixes []string
	suffixes []string
	infixes  [][2]string // "prefix*suffix"
	other    []string
}

func compileGlobs(globs []string) *nameMatcher {
	m := &nameMatcher{exact: map[string]bool{}}
	for _, g := range globs {
		body := strings.TrimSuffix(strings.TrimPrefix(g, "*"), "*")
		switch {
		case strings.Count(g, "*") == 1 && !strings.HasPrefix(g, "*") && !strings.HasSuffix(g, "*") && !strings.ContainsAny(g, `?[\`):
			pre, suf, _ := strings.Cut(g, "*")
			m.infixes = append(m.infixes, [2]string{pre, suf})
		case strings.ContainsAny(body, `*?[\`):
			m.other = append(m.other, g)
		case g == "*":
			m.prefixes = append(m.prefixes, "")
		case !strings.ContainsAny(g, "*"):
			m.exact[g] = true
		case strings.HasSuffix(g, "*") && !strings.HasPrefix(g, "*"):
			m.prefixes = append(m.prefixes, body)
		case strings.HasPrefix(g, "*") && !strings.HasSuffix(g, "*"):
			m.suffixes = append(m.suffixes, body)
		default:
			m.other = append(m.other, g)
		}
	}
	return m
}

func (m *nameMatcher) match(name string) bool {
	if m.exact[name] {
		return true
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, s := range m.suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	for _, ps := range m.infixes {
		if len(name) >= len(ps[0])+len(ps[1]) && strings.HasPrefix(name, ps[0]) && strings.HasSuffix(name, ps[1]) {
			return true
		}
	}
	for _, g := range m.other {
		if ok, _ := filepath.Match(g, name); ok {
			return true
		}
	}
	return false
}
