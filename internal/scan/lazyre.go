package scan

import (
	"regexp"
	"sync"
)

// lazyRE is a regular expression compiled on first use, so that a binary
// that links the scanner but does not scan (every `airlock run` re-executes
// itself as the sandbox's init) does not pay for compiling them at start.
type lazyRE struct {
	src  string
	once sync.Once
	re   *regexp.Regexp
}

// mustLazy returns src to be compiled on first use; a bad pattern panics
// then (every pattern is exercised by the package's tests).
func mustLazy(src string) *lazyRE { return &lazyRE{src: src} }

func (l *lazyRE) get() *regexp.Regexp {
	l.once.Do(func() { l.re = regexp.MustCompile(l.src) })
	return l.re
}

func (l *lazyRE) MatchString(s string) bool            { return l.get().MatchString(s) }
func (l *lazyRE) FindStringSubmatch(s string) []string { return l.get().FindStringSubmatch(s) }
func (l *lazyRE) FindStringIndex(s string) []int       { return l.get().FindStringIndex(s) }
func (l *lazyRE) FindAllStringSubmatch(s string, n int) [][]string {
	return l.get().FindAllStringSubmatch(s, n)
}
func (l *lazyRE) FindAllStringSubmatchIndex(s string, n int) [][]int {
	return l.get().FindAllStringSubmatchIndex(s, n)
}
