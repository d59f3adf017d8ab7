package guard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Limits of the argv one Exec record holds.
const (
	maxExecArgs      = 256
	maxExecArgBytes  = 4 << 10
	maxExecArgvBytes = 64 << 10
)

// exec records an execve or execveat and lets the kernel carry it out. It
// never refuses one (see Exec), and it touches no file on the sandbox's
// behalf, so it runs on the receiving thread.
func (s *server) exec(n *notif, name string) {
	if s.onExec == nil {
		s.resume(n.ID)
		return
	}
	e := readExec(n, name)
	// Everything was read while the task waited in the syscall, unless it
	// died meanwhile: then the exec never runs and its pid may already
	// name another process, which the fields may describe.
	if !s.valid(n.ID) {
		e.Err = joinErr(e.Err, "the task was gone before the exec was let through: it did not run, and the fields may describe another process")
		s.onExec(e)
		return
	}
	s.onExec(e)
	s.resume(n.ID)
}

// resume lets the kernel run the notified syscall itself, which reads its
// arguments from the task's memory again.
func (s *server) resume(id uint64) {
	resp := notifResp{ID: id, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	// ENOENT means the task is gone; there is nobody left to answer.
	_ = ioctl(s.listener, ioctlSend, unsafe.Pointer(&resp))
}

// readExec reads the record of the exec behind n from /proc/PID. Whatever
// cannot be read is named in Err and the rest is kept.
func readExec(n *notif, name string) Exec {
	e := Exec{Time: time.Now(), Pid: int(n.Pid), Syscall: name}
	proc := "/proc/" + strconv.Itoa(e.Pid)
	var errs []string
	fail := func(what string, err error) { errs = append(errs, what+": "+err.Error()) }

	cwd, err := os.Readlink(proc + "/cwd")
	if err != nil {
		fail("cwd", err)
	}
	e.Cwd = cwd
	if e.Ppid, err = readPpid(proc); err != nil {
		fail("ppid", err)
	}

	pathArg, argvArg := n.Args[0], n.Args[1]
	if name == "execveat" {
		pathArg, argvArg = n.Args[1], n.Args[2]
	}
	// Plain descriptors, not *os.File: this runs for every exec, and
	// os.File's set-up (poller, non-blocking mode) costs as much again.
	fd, err := unix.Open(proc+"/mem", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		fail("memory", &os.PathError{Op: "open", Path: proc + "/mem", Err: err})
		e.Err = strings.Join(errs, "; ")
		return e
	}
	defer unix.Close(fd)
	m := memReader{fd: fd}
	p, cut, err := m.cstring(pathArg, unix.PathMax-1)
	switch {
	case err != nil:
		fail("path", err)
	case cut:
		fail("path", unix.ENAMETOOLONG)
	}
	e.Path = p
	if name == "execveat" && err == nil && !cut {
		dirfd, flags := int(int32(n.Args[0])), int(n.Args[4])
		if e.Path, err = execatPath(proc, dirfd, p, flags, cwd); err != nil {
			fail("dirfd "+strconv.Itoa(dirfd), err)
		}
	}
	if e.Argv, e.Truncated, err = m.argv(argvArg); err != nil {
		fail("argv", err)
	}
	e.Err = strings.Join(errs, "; ")
	return e
}

// execatPath resolves execveat's path p against dirfd as the kernel would
// (the descriptor itself for "" with AT_EMPTY_PATH). When the descriptor
// has no path to join, p is returned as given with an error.
func execatPath(proc string, dirfd int, p string, flags int, cwd string) (string, error) {
	empty := p == "" && flags&unix.AT_EMPTY_PATH != 0
	if strings.HasPrefix(p, "/") || (p == "" && !empty) {
		return p, nil
	}
	var base string
	switch {
	case dirfd == unix.AT_FDCWD:
		if cwd == "" {
			return p, errors.New("the working directory is unknown")
		}
		base = cwd
	case dirfd < 0:
		return p, unix.EBADF
	default:
		var err error
		if base, err = os.Readlink(proc + "/fd/" + strconv.Itoa(dirfd)); err != nil {
			return p, err
		}
	}
	if empty {
		return base, nil
	}
	if !strings.HasPrefix(base, "/") {
		return p, fmt.Errorf("%q is not a directory", base)
	}
	return strings.TrimSuffix(base, "/") + "/" + p, nil
}

// readPpid returns the parent pid from proc/stat, whose second field (the
// command name, in parentheses) may itself hold spaces and parentheses, so
// the fields are counted from the last ')'.
func readPpid(proc string) (int, error) {
	fd, err := unix.Open(proc+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: proc + "/stat", Err: err}
	}
	defer unix.Close(fd)
	// The line is well under 2 KiB (the name is at most 64 bytes), and
	// the ppid comes early in it.
	var buf [2048]byte
	n, err := unix.Read(fd, buf[:])
	if err != nil {
		return 0, &os.PathError{Op: "read", Path: proc + "/stat", Err: err}
	}
	return parseStatPpid(buf[:n])
}

// parseStatPpid returns the fourth field of a /proc/PID/stat line.
func parseStatPpid(b []byte) (int, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	fields := strings.Fields(string(b[i+1:])) // state, ppid, ...
	if len(fields) < 2 {
		return 0, errors.New("malformed stat")
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return 0, fmt.Errorf("malformed stat: %w", err)
	}
	return ppid, nil
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// memChunk is the unit of reads from /proc/PID/mem: aligned and no larger
// than any page, so a chunk is readable whole or not at all.
const memChunk = 4096

// maxCachedChunks bounds the chunks one record keeps.
const maxCachedChunks = 32

// ptrSize is the size of a pointer in the task. The filter admits only the
// native architecture, so it is the supervisor's own.
const ptrSize = int(unsafe.Sizeof(uintptr(0)))

// memReader reads a task's memory through its /proc/PID/mem, one aligned
// chunk at a time, and keeps the chunks it has read: argv's pointers and
// strings usually share one or two pages.
type memReader struct {
	fd     int               // the task's /proc/PID/mem
	chunks map[uint64][]byte // chunk-aligned address -> contents
}

func (m *memReader) chunk(base uint64) ([]byte, error) {
	if c, ok := m.chunks[base]; ok {
		return c, nil
	}
	if m.chunks == nil || len(m.chunks) >= maxCachedChunks {
		m.chunks = make(map[uint64][]byte)
	}
	if base > 1<<63-memChunk {
		return nil, unix.EFAULT
	}
	c := make([]byte, memChunk)
	n, err := unix.Pread(m.fd, c, int64(base))
	switch {
	case n == memChunk:
	case err == nil && n == 0:
		return nil, errors.New("the task has no memory (it exited)")
	case err == nil || errors.Is(err, unix.EIO):
		return nil, unix.EFAULT // not mapped
	default:
		return nil, err
	}
	m.chunks[base] = c
	return c, nil
}

// read copies len(buf) bytes at addr.
func (m *memReader) read(addr uint64, buf []byte) error {
	for len(buf) > 0 {
		base := addr &^ (memChunk - 1)
		c, err := m.chunk(base)
		if err != nil {
			return err
		}
		n := copy(buf, c[addr-base:])
		buf = buf[n:]
		addr += uint64(n)
	}
	return nil
}

// cstring reads the NUL-terminated string at addr, at most limit bytes of
// it; cut reports a longer string.
func (m *memReader) cstring(addr uint64, limit int) (s string, cut bool, err error) {
	if addr == 0 {
		return "", false, unix.EFAULT
	}
	var out []byte
	for len(out) <= limit {
		base := addr &^ (memChunk - 1)
		c, err := m.chunk(base)
		if err != nil {
			return "", false, err
		}
		part := c[addr-base:]
		if i := bytes.IndexByte(part, 0); i >= 0 {
			part = part[:i]
			if len(out)+len(part) <= limit {
				return string(append(out, part...)), false, nil
			}
		}
		out = append(out, part...)
		addr += uint64(len(c) - int(addr-base))
	}
	return string(out[:limit]), true, nil
}

// argv reads the NULL-terminated array of string pointers at addr, within
// the limits of an Exec record. A NULL argv is an empty one to the kernel.
func (m *memReader) argv(addr uint64) (args []string, truncated bool, err error) {
	total := 0
	word := make([]byte, ptrSize)
	for i := 0; addr != 0; i++ {
		if err := m.read(addr+uint64(i*ptrSize), word); err != nil {
			return args, truncated, fmt.Errorf("pointer %d: %w", i, err)
		}
		var p uint64
		if ptrSize == 8 {
			p = binary.NativeEndian.Uint64(word)
		} else {
			p = uint64(binary.NativeEndian.Uint32(word))
		}
		if p == 0 {
			break
		}
		if i == maxExecArgs || total == maxExecArgvBytes {
			return args, true, nil
		}
		s, cut, err := m.cstring(p, min(maxExecArgBytes, maxExecArgvBytes-total))
		if err != nil {
			return args, truncated, fmt.Errorf("argument %d: %w", i, err)
		}
		args = append(args, s)
		total += len(s)
		truncated = truncated || cut
	}
	return args, truncated, nil
}
