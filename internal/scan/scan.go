package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Categories of a Finding.
const (
	// CategoryDenyReadName: the file name matches a deny_read base-name glob.
	CategoryDenyReadName = "deny-read-name"
	// CategoryPrivateKey: a PEM, OpenSSH, PGP or PuTTY private key.
	CategoryPrivateKey = "private-key"
	// CategoryDotenv: a .env-style file assigns a credential-like value.
	CategoryDotenv = "dotenv"
	// CategoryConfigToken: a credential in a tool's configuration file
	// (.npmrc, .netrc, .aws/credentials, kube config, ...).
	CategoryConfigToken = "config-token"
	// CategoryToken: text shaped like a well-known token (GitHub, Anthropic,
	// OpenAI, AWS, Slack, JWT, bearer credential).
	CategoryToken = "token"
	// CategoryHighEntropy: a random-looking value assigned to a
	// credential-like name in a file tracked by git.
	CategoryHighEntropy = "high-entropy"
)

// Defaults of the Options limits.
const (
	DefaultMaxFileSize = 1 << 20
	DefaultMaxFiles    = 200_000
)

// maxFindingsPerFile bounds the findings kept for one file, so that a
// generated file full of token-shaped text cannot flood the report.
const maxFindingsPerFile = 50

// Options configures Scan. The zero value is usable.
type Options struct {
	// Masked reports whether the sandbox policy hides the file at abs path
	// (and the deny rule that does). nil means nothing is masked. It is
	// called from one goroutine, once per file with findings.
	Masked func(abs string) (rule string, masked bool)
	// DenyRead are the policy's base-name globs (entries without "/", such
	// as ".env", ".env.*", "*.key"). Files and symlinks whose name matches
	// one are reported as CategoryDenyReadName. Entries with "/" are ignored.
	DenyRead []string
	// MaxFileSize is the largest file whose content is scanned (default
	// DefaultMaxFileSize); larger files are only checked by name.
	MaxFileSize int64
	// MaxFiles stops the walk after this many files (default
	// DefaultMaxFiles); the report is then marked Truncated.
	MaxFiles int
	// Tracked returns the set of git-tracked paths (relative to root,
	// slash-separated); a nil map means every file counts as tracked.
	// High-entropy values are only reported in tracked files. A nil
	// Tracked means: ask `git ls-files` when root is in a git work tree,
	// and treat every file as tracked otherwise.
	Tracked func(root string) (map[string]bool, error)
}

// Finding is one reason a file would expose a credential. It never holds
// the secret: Detail shows at most the first four characters of a token.
type Finding struct {
	Path     string `json:"path"`           // relative to the root, slash-separated
	Category string `json:"category"`       // one of the Category constants
	Detail   string `json:"detail"`         // what was found, e.g. "line 3: AWS access key id (AKIA…)"
	Line     int    `json:"line,omitempty"` // 1-based; 0 for a finding about the file name
	Masked   bool   `json:"masked"`         // the sandbox policy hides the file
	Rule     string `json:"rule,omitempty"` // the masking rule, when Masked
}

// Report is the result of Scan.
type Report struct {
	Root      string    `json:"root"`      // absolute path of the scanned directory
	Findings  []Finding `json:"findings"`  // sorted by path, line, category
	Files     int       `json:"files"`     // files and symlinks examined
	Truncated bool      `json:"truncated"` // the walk stopped at MaxFiles
}

// Unmasked returns the findings in files that the sandbox would leave
// readable.
func (r Report) Unmasked() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if !f.Masked {
			out = append(out, f)
		}
	}
	return out
}

// job is one file handed from the walker to a worker.
type job struct {
	rel      string // slash-separated, relative to the root
	abs      string
	symlink  bool
	nameOnly bool // in node_modules or vendor: names are checked, content is not
}

// scanner holds what the walker and the workers share; all of it is
// read-only once Scan starts them.
type scanner struct {
	root     string
	opts     Options
	deny     []string
	tracked  map[string]bool // nil: every file counts as tracked
	rootDev  uint64
	checkDev bool
}

// Scan walks root and reports the files whose name or content would expose
// a credential to a sandboxed agent. It does not follow symlinks, does not
// cross into other file systems, and reads at most opts.MaxFileSize bytes
// of each file. When ctx is cancelled it stops and returns the partial
// report with an error wrapping ctx.Err().
func Scan(ctx context.Context, root string, opts Options) (Report, error) {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return Report{}, fmt.Errorf("scan %s: %w", root, err)
	}
	// The root is named by the user and may be a symlink: like the
	// sandbox with its workspace, scan its real path.
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return Report{Root: abs}, fmt.Errorf("scan %s: %w", root, err)
	}
	abs = resolved
	rep := Report{Root: abs}
	fi, err := os.Stat(abs)
	if err != nil {
		return rep, fmt.Errorf("scan %s: %w", root, err)
	}
	if !fi.IsDir() {
		return rep, fmt.Errorf("scan %s: not a directory", root)
	}
	// An unreadable root must not look like a clean one.
	d, err := openDir(abs)
	if err != nil {
		return rep, fmt.Errorf("scan %s: %w", root, err)
	}
	d.Close()
	s := &scanner{root: abs, opts: opts}
	for _, g := range opts.DenyRead {
		if strings.Contains(g, "/") {
			continue
		}
		if _, err := path.Match(g, ""); err != nil {
			return rep, fmt.Errorf("scan %s: deny_read glob %q: %w", root, g, err)
		}
		s.deny = append(s.deny, g)
	}
	s.rootDev, s.checkDev = deviceOf(fi)
	if opts.Tracked != nil {
		s.tracked, err = opts.Tracked(abs)
		if err != nil {
			return rep, fmt.Errorf("scan %s: list tracked files: %w", root, err)
		}
	} else {
		s.tracked = gitTracked(ctx, abs)
	}

	workers := min(4, max(2, runtime.GOMAXPROCS(0)))
	jobs := make(chan job, 256)
	results := make([][]Finding, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() != nil {
					continue
				}
				results[i] = append(results[i], s.file(j)...)
			}
		}()
	}
	files, truncated := s.walk(ctx, jobs)
	close(jobs)
	wg.Wait()

	rep.Files, rep.Truncated = files, truncated
	for _, r := range results {
		rep.Findings = append(rep.Findings, r...)
	}
	sortFindings(rep.Findings)
	s.mask(rep.Findings)
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("scan %s: %w", root, err)
	}
	return rep, nil
}

// sortFindings orders findings by path, line and category.
func sortFindings(fs []Finding) {
	sort.Slice(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Category < b.Category
	})
}

// mask asks the policy, once per file, whether it hides the file.
func (s *scanner) mask(fs []Finding) {
	if s.opts.Masked == nil {
		return
	}
	for i := 0; i < len(fs); {
		j := i
		for j < len(fs) && fs[j].Path == fs[i].Path {
			j++
		}
		rule, masked := s.opts.Masked(filepath.Join(s.root, filepath.FromSlash(fs[i].Path)))
		for k := i; k < j; k++ {
			fs[k].Masked = masked
			if masked {
				fs[k].Rule = rule
			}
		}
		i = j
	}
}

// skipContentDirs are directory names below which files are checked by
// name only: third-party code, large, and rarely holding the user's own
// credentials.
var skipContentDirs = map[string]bool{"node_modules": true, "vendor": true}

// walk sends every regular file and symlink below the root to jobs, depth
// first in lexical order, the files of a directory before its
// subdirectories. It returns how many it sent and whether it stopped at
// MaxFiles.
func (s *scanner) walk(ctx context.Context, jobs chan<- job) (files int, truncated bool) {
	type dir struct {
		rel      string
		nameOnly bool
	}
	stack := []dir{{rel: ""}}
	send := func(j job) bool {
		if files >= s.opts.MaxFiles {
			truncated = true
			return false
		}
		select {
		case jobs <- j:
			files++
			return true
		case <-ctx.Done():
			return false
		}
	}
	for len(stack) > 0 {
		if ctx.Err() != nil {
			return files, truncated
		}
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		entries, ok := s.readDir(d.rel)
		if !ok {
			continue
		}
		var subdirs []dir
		for _, e := range entries {
			name := e.Name()
			rel := joinRel(d.rel, name)
			abs := filepath.Join(s.root, filepath.FromSlash(rel))
			switch t := e.Type(); {
			case t.IsDir():
				if name == ".git" {
					// Git's object store is compressed and large; only
					// the config holds credentials in plain text, in
					// remote URLs.
					cfg := filepath.Join(abs, "config")
					if fi, err := os.Lstat(cfg); err == nil && fi.Mode().IsRegular() {
						if !send(job{rel: rel + "/config", abs: cfg, nameOnly: d.nameOnly}) {
							return files, truncated
						}
					}
					continue
				}
				subdirs = append(subdirs, dir{rel: rel, nameOnly: d.nameOnly || skipContentDirs[name]})
			case t&fs.ModeSymlink != 0:
				if !send(job{rel: rel, abs: abs, symlink: true}) {
					return files, truncated
				}
			case t.IsRegular():
				if !send(job{rel: rel, abs: abs, nameOnly: d.nameOnly}) {
					return files, truncated
				}
			}
			// Devices, FIFOs and sockets hold no file content.
		}
		// Push in reverse so that the walk visits directories in order.
		for i := len(subdirs) - 1; i >= 0; i-- {
			stack = append(stack, subdirs[i])
		}
	}
	return files, truncated
}

// readDir lists a directory below the root, sorted by name, without
// following a symlink that replaced it and without crossing into another
// file system. Unreadable directories are skipped: the agent runs as the
// same user and cannot read them either.
func (s *scanner) readDir(rel string) ([]fs.DirEntry, bool) {
	abs := filepath.Join(s.root, filepath.FromSlash(rel))
	f, err := openDir(abs)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	if rel != "" && s.checkDev {
		fi, err := f.Stat()
		if err != nil {
			return nil, false
		}
		if dev, ok := deviceOf(fi); !ok || dev != s.rootDev {
			return nil, false
		}
	}
	entries, err := f.ReadDir(-1)
	if err != nil && len(entries) == 0 {
		return nil, false
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return entries, true
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// file examines one file: its name, then its content when it is a regular,
// small, non-binary file outside the name-only directories.
func (s *scanner) file(j job) []Finding {
	var out []Finding
	base := path.Base(j.rel)
	for _, g := range s.deny {
		if ok, _ := path.Match(g, base); ok {
			detail := fmt.Sprintf("name matches deny_read %q", g)
			if j.symlink {
				detail += " (symlink, target not read)"
			}
			out = append(out, Finding{Path: j.rel, Category: CategoryDenyReadName, Detail: detail})
			break
		}
	}
	if j.symlink || j.nameOnly {
		return out
	}
	data, ok := s.read(j.abs)
	if !ok {
		return out
	}
	tracked := s.tracked == nil || s.tracked[j.rel]
	return append(out, analyze(j.rel, data, tracked)...)
}

// read returns the content of a regular file of at most MaxFileSize bytes
// that is not binary (no NUL byte in its first 8 KiB).
func (s *scanner) read(abs string) ([]byte, bool) {
	f, err := openFile(abs)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > s.opts.MaxFileSize {
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(f, s.opts.MaxFileSize+1))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false
	}
	if int64(len(data)) > s.opts.MaxFileSize {
		return nil, false
	}
	head := data[:min(len(data), 8<<10)]
	for _, c := range head {
		if c == 0 {
			return nil, false
		}
	}
	return data, true
}
