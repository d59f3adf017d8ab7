package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// The new root is assembled on a private tmpfs mounted over /tmp in the
// sandbox's own mount namespace (invisible to the host), then pivot_root
// makes it "/" and the old root is detached. Every host tree is cloned with
// open_tree before anything is mounted over, so workspaces under /tmp work,
// and every mount target inside a writable tree is resolved with
// RESOLVE_NO_SYMLINKS, so links planted by the sandbox in earlier runs can
// never redirect a mount.
const (
	stagingDir = "/tmp"
	newRoot    = "/tmp/root"
	maskFile   = "/tmp/mask"
)

// devNodes are bound from the host into the sandbox's minimal /dev.
var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty"}

func mountErr(what string, err error) error {
	hint := "run `airlock doctor` to see which kernel feature is missing"
	return fail("mount", hint, "%s: %v", what, err)
}

func buildRoot(s *Spec) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return mountErr("make mounts private", err)
	}
	// Clone every host tree we need before anything is covered.
	rootTree, err := cloneTree("/", true)
	if err != nil {
		return mountErr("clone host root", err)
	}
	ro := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(rootTree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, ro); err != nil {
		return mountErr("make host root read-only", err)
	}
	writable := make([]int, len(s.Writable))
	var overlayFDs []int
	for i, w := range s.Writable {
		if s.Overlay != nil && w == s.Workspace {
			// The overlay is mounted at attach time from these
			// directories, opened now, before /tmp is covered.
			for _, d := range []string{w, s.Overlay.Upper, s.Overlay.Work} {
				fd, err := unix.Open(d, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
				if err != nil {
					return mountErr("overlay directory "+d, err)
				}
				overlayFDs = append(overlayFDs, fd)
			}
			writable[i] = -1
			continue
		}
		if writable[i], err = cloneTree(w, true); err != nil {
			return mountErr("clone writable "+w, err)
		}
		nosuid := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
		if err := unix.MountSetattr(writable[i], "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, nosuid); err != nil {
			return mountErr("harden writable "+w, err)
		}
	}
	reexpose := map[string]int{}
	for _, r := range append(append([]string{}, s.Reexpose...), s.UnixSockets...) {
		fd, err := cloneTree(r, false)
		if err != nil {
			return mountErr("clone "+r, err)
		}
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, ro); err != nil {
			return mountErr("make read-only "+r, err)
		}
		reexpose[r] = fd
	}

	if err := unix.Mount("tmpfs", stagingDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700"); err != nil {
		return mountErr("staging tmpfs", err)
	}
	if err := os.Mkdir(newRoot, 0o755); err != nil {
		return mountErr("staging root", err)
	}
	if err := unix.MoveMount(rootTree, "", unix.AT_FDCWD, newRoot, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return mountErr("attach root", err)
	}
	unix.Close(rootTree)

	// Kernel filesystems and private scratch space.
	if err := unix.Mount("proc", newRoot+"/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fail("pidns", "a container may hide parts of /proc; run `airlock doctor`", "mount /proc: %v", err)
	}
	if err := buildDev(); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", newRoot+"/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return mountErr("mount /tmp", err)
	}

	// Writable trees, shallowest first so nested ones land on top.
	order := make([]int, len(s.Writable))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return depth(s.Writable[order[a]]) < depth(s.Writable[order[b]]) })
	for _, i := range order {
		if writable[i] < 0 {
			if err := mountOverlay(s.Writable[i], overlayFDs); err != nil {
				return fail("overlay", "run `airlock doctor`; overlay workspaces need overlayfs in user namespaces (Linux 5.11+)", "mount the overlay workspace: %v", err)
			}
			continue
		}
		if err := attach(writable[i], s.Writable[i], true); err != nil {
			return mountErr("bind writable "+s.Writable[i], err)
		}
		unix.Close(writable[i])
	}
	// Read-only islands inside writable trees.
	for _, p := range s.ReadOnly {
		if err := bindReadOnly(p); err != nil {
			return mountErr("protect "+p, err)
		}
	}
	// Deny-read masks.
	if err := os.WriteFile(maskFile, nil, 0); err != nil {
		return mountErr("mask file", err)
	}
	for _, f := range s.MaskFiles {
		if hiddenByPrivateTmp(f, s.Writable) {
			continue
		}
		if err := maskOneFile(f); err != nil {
			return mountErr("mask "+f, err)
		}
	}
	for _, d := range s.MaskDirs {
		if hiddenByPrivateTmp(d, s.Writable) {
			continue
		}
		if err := maskDir(d, childrenOf(d, reexpose)); err != nil {
			return mountErr("mask "+d, err)
		}
	}

	if len(s.Files) > 0 {
		if err := writeFiles(s); err != nil {
			return mountErr("airlock files", err)
		}
	}

	if err := os.Chdir(newRoot); err != nil {
		return mountErr("enter new root", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fail("mount", "pivot_root fails on an initramfs root; run airlock from a system with a real root filesystem", "pivot_root: %v", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return mountErr("detach old root", err)
	}
	return os.Chdir("/")
}

func depth(p string) int { return strings.Count(p, "/") }

func cloneTree(path string, recursive bool) (int, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	return unix.OpenTree(unix.AT_FDCWD, path, flags)
}

// resolveTarget opens path inside the new root without following any
// symlink on the way. When mkdir is set and the path is missing below a
// directory Airlock owns (a tmpfs of its own), the missing parts are made
// there; the host filesystem is never written.
func resolveTarget(path string, dir, mkdir bool) (int, error) {
	rel := strings.TrimPrefix(path, "/")
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC | unix.O_NOFOLLOW, Resolve: unix.RESOLVE_NO_SYMLINKS}
	root, err := unix.Open(newRoot, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(root)
	fd, err := unix.Openat2(root, rel, how)
	if err == nil || !mkdir || !errors.Is(err, unix.ENOENT) || !ownedTmpfs(path) {
		return fd, err
	}
	full := newRoot + path
	if dir {
		err = os.MkdirAll(full, 0o755)
	} else if err = os.MkdirAll(filepath.Dir(full), 0o755); err == nil {
		err = os.WriteFile(full, nil, 0o600)
	}
	if err != nil {
		return -1, err
	}
	return unix.Openat2(root, rel, how)
}

func attach(tree int, path string, dir bool) error {
	t, err := resolveTarget(path, dir, true)
	if err != nil {
		return err
	}
	defer unix.Close(t)
	return unix.MoveMount(tree, "", t, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

func bindReadOnly(path string) error {
	t, err := resolveTarget(path, false, false)
	if errors.Is(err, unix.ELOOP) {
		// A symlink planted where a protected path was: the link itself is
		// harmless in a read-only view of its target, but it must not be
		// followed. Refuse the run rather than protect the wrong thing.
		return fmt.Errorf("refusing to follow the symlink at %s", path)
	}
	if err != nil {
		return err
	}
	defer unix.Close(t)
	tree, err := unix.OpenTree(t, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH|unix.AT_RECURSIVE)
	if err != nil {
		return err
	}
	defer unix.Close(tree)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
		return err
	}
	return unix.MoveMount(tree, "", t, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

func maskOneFile(path string) error {
	t, err := resolveTarget(path, false, false)
	if err != nil {
		return err
	}
	defer unix.Close(t)
	tree, err := unix.OpenTree(unix.AT_FDCWD, maskFile, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(tree)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, attr); err != nil {
		return err
	}
	return unix.MoveMount(tree, "", t, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// maskDir covers path with an empty, read-only tmpfs whose root has mode
// 0000 (0711 when allow_read entries below it are bound back in).
func maskDir(path string, children map[string]int) error {
	t, err := resolveTarget(path, true, false)
	if err != nil {
		return err
	}
	defer unix.Close(t)
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fsfd)
	mode := "0000"
	if len(children) > 0 {
		mode = "0711"
	}
	for k, v := range map[string]string{"mode": mode, "size": "64k", "nr_inodes": "64"} {
		if err := unix.FsconfigSetString(fsfd, k, v); err != nil {
			return err
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return err
	}
	mnt, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(mnt)
	for child, tree := range children {
		rel := strings.TrimPrefix(child, path+"/")
		if err := reexposeChild(mnt, rel, child, tree); err != nil {
			return fmt.Errorf("re-expose %s: %w", child, err)
		}
	}
	if err := unix.MountSetattr(mnt, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
		return err
	}
	return unix.MoveMount(mnt, "", t, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

func reexposeChild(mnt int, rel, host string, tree int) error {
	fi, err := os.Lstat(host)
	if err != nil {
		return err
	}
	parts := strings.Split(rel, "/")
	dirfd := mnt
	for _, p := range parts[:len(parts)-1] {
		if err := unix.Mkdirat(dirfd, p, 0o711); err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
		next, err := unix.Openat(dirfd, p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if dirfd != mnt {
			unix.Close(dirfd)
		}
		dirfd = next
	}
	last := parts[len(parts)-1]
	if fi.IsDir() {
		err = unix.Mkdirat(dirfd, last, 0o755)
	} else {
		var f int
		f, err = unix.Openat(dirfd, last, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
		if err == nil {
			unix.Close(f)
		}
	}
	if err != nil {
		return err
	}
	return unix.MoveMount(tree, "", dirfd, last, unix.MOVE_MOUNT_F_EMPTY_PATH)
}

func childrenOf(dir string, trees map[string]int) map[string]int {
	out := map[string]int{}
	for p, fd := range trees {
		if strings.HasPrefix(p, dir+"/") {
			out[p] = fd
		}
	}
	return out
}

// buildDev makes a minimal /dev: a few safe character devices bound from the
// host, a private devpts instance, and a private /dev/shm.
func buildDev() error {
	dev := newRoot + "/dev"
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return mountErr("mount /dev", err)
	}
	for _, n := range devNodes {
		if err := os.WriteFile(dev+"/"+n, nil, 0o666); err != nil {
			return mountErr("/dev/"+n, err)
		}
		if err := unix.Mount("/dev/"+n, dev+"/"+n, "", unix.MS_BIND, ""); err != nil {
			return mountErr("bind /dev/"+n, err)
		}
	}
	for _, d := range []string{"pts", "shm"} {
		if err := os.Mkdir(dev+"/"+d, 0o755); err != nil {
			return mountErr("/dev/"+d, err)
		}
	}
	if err := unix.Mount("devpts", dev+"/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return mountErr("mount /dev/pts", err)
	}
	if err := unix.Mount("tmpfs", dev+"/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return mountErr("mount /dev/shm", err)
	}
	links := map[string]string{
		"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
	}
	for name, target := range links {
		if err := os.Symlink(target, dev+"/"+name); err != nil {
			return mountErr("/dev/"+name, err)
		}
	}
	// Nothing new may be created in /dev itself.
	if err := unix.Mount("", dev, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NOEXEC, ""); err != nil {
		return mountErr("make /dev read-only", err)
	}
	return nil
}

// writeFiles puts Spec.Files into a tmpfs at FilesDir owned by the
// command's uid, makes it read-only, and binds the files that have a
// target over it. They are bound last, so a secret file replaces a
// deny-read mask at the same path.
func writeFiles(s *Spec) error {
	dir := newRoot + FilesDir
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=16m"); err != nil {
		return err
	}
	for _, f := range s.Files {
		if f.Name == "" || strings.Contains(f.Name, "..") || strings.HasPrefix(f.Name, "/") {
			return fmt.Errorf("bad file name %q", f.Name)
		}
		full := dir + "/" + f.Name
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, f.Data, 0o600); err != nil {
			return err
		}
		if err := os.Chown(full, s.UID, s.GID); err != nil {
			return err
		}
		if err := os.Chmod(full, fs.FileMode(f.Mode&0o777)); err != nil {
			return err
		}
	}
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return err
	}
	for _, f := range s.Files {
		if f.Target == "" {
			continue
		}
		t, err := resolveTarget(f.Target, false, true)
		if err != nil {
			return fmt.Errorf("secret file target %s: %w", f.Target, err)
		}
		tree, err := unix.OpenTree(unix.AT_FDCWD, dir+"/"+f.Name, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			unix.Close(t)
			return err
		}
		err = unix.MoveMount(tree, "", t, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
		unix.Close(tree)
		unix.Close(t)
		if err != nil {
			return fmt.Errorf("bind %s: %w", f.Target, err)
		}
	}
	return nil
}

// mountOverlay mounts an overlay at path: the workspace (fds[0]) as the
// lower layer, fds[1] and fds[2] as upper and work directories. Inside a
// user namespace overlayfs keeps its whiteouts and opaque markers in
// user.overlay.* xattrs (userxattr), which also keeps redirect_dir and
// metacopy off (the kernel refuses them together), so the upper directory
// holds whole files that can be reviewed as they are.
func mountOverlay(path string, fds []int) error {
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	t, err := resolveTarget(path, true, true)
	if err != nil {
		return err
	}
	defer unix.Close(t)
	opts := fmt.Sprintf("lowerdir=/proc/self/fd/%d,upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d,userxattr",
		fds[0], fds[1], fds[2])
	return unix.Mount("overlay", fmt.Sprintf("/proc/self/fd/%d", t), "overlay", unix.MS_NOSUID|unix.MS_NODEV, opts)
}
