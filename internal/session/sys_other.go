//go:build !linux

package session

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// errUnsupported is returned on systems without the Linux primitives this
// package needs.
var errUnsupported = fmt.Errorf("sessions are unsupported on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// On systems other than Linux every primitive fails with errUnsupported,
// so no session can be opened, compared or applied.

func sysSupported() error { return errUnsupported }

func openRoot(string) (int, error)                  { return -1, errUnsupported }
func openDirBeneath(int, string) (int, error)       { return -1, errUnsupported }
func openReadBeneath(int, string) (int, error)      { return -1, errUnsupported }
func openDirAt(int, string) (int, error)            { return -1, errUnsupported }
func openReadAt(int, string) (int, error)           { return -1, errUnsupported }
func createExclAt(int, string, uint32) (int, error) { return -1, errUnsupported }
func openLockFile(string) (int, error)              { return -1, errUnsupported }
func statAt(int, string) (fileStat, error)          { return fileStat{}, errUnsupported }
func fstatFD(int) (fileStat, error)                 { return fileStat{}, errUnsupported }
func readDirNames(int) ([]string, error)            { return nil, errUnsupported }
func readlinkAt(int, string) (string, error)        { return "", errUnsupported }
func getxattrFD(int, string) ([]byte, error)        { return nil, errUnsupported }
func mkdirAt(int, string, uint32) error             { return errUnsupported }
func symlinkAt(string, int, string) error           { return errUnsupported }
func renameAt(int, string, int, string, bool) error { return errUnsupported }
func unlinkAt(int, string, bool) error              { return errUnsupported }
func fchmodFD(int, uint32) error                    { return errUnsupported }
func syncFS(int) error                              { return errUnsupported }
func fsyncFD(int) error                             { return errUnsupported }
func closeFD(int)                                   {}
func lockFD(int) error                              { return errUnsupported }
func chmodDirAt(int, string, uint32) error          { return errUnsupported }
func sameFile(fileStat, os.FileInfo) bool           { return false }
func describeResolveError(err error) string         { return err.Error() }
func isResolveRefusal(error) bool                   { return false }
