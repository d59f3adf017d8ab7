package seccomp

// Kernel ABI values used by the filter. They are spelled out here instead of
// taken from golang.org/x/sys/unix so that the generator (ProgramFor,
// Disassemble) builds and runs on every GOOS; constants_linux_test.go checks
// each one against x/sys/unix.
const (
	// Audit architecture tokens (linux/audit.h) found in seccomp_data.arch.
	auditArchX86_64  = 0xc000003e
	auditArchI386    = 0x40000003
	auditArchAarch64 = 0xc00000b7
	auditArchARM     = 0x40000028

	// x32Bit is __X32_SYSCALL_BIT: x32 ABI syscalls on x86_64 carry it in nr.
	x32Bit = 0x40000000

	// Filter return values (linux/seccomp.h).
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retErrno       = 0x00050000
	retUserNotif   = 0x7fc00000
	retAllow       = 0x7fff0000
	retDataMask    = 0x0000ffff

	// maxInstructions is BPF_MAXINSNS, the kernel's limit per program.
	maxInstructions = 4096

	// Offsets into struct seccomp_data.
	offNr   = 0
	offArch = 4
	offArgs = 16

	// errno values (identical on x86_64 and aarch64).
	errnoEPERM  = 1
	errnoENOSYS = 38

	// Namespace flags of clone(2) and unshare(2).
	cloneNewTime   = 0x00000080
	cloneNewNS     = 0x00020000
	cloneNewCgroup = 0x02000000
	cloneNewUTS    = 0x04000000
	cloneNewIPC    = 0x08000000
	cloneNewUser   = 0x10000000
	cloneNewPID    = 0x20000000
	cloneNewNet    = 0x40000000
	// nsFlags is every namespace flag; clone/unshare carrying any of them
	// are refused.
	nsFlags = cloneNewTime | cloneNewNS | cloneNewCgroup | cloneNewUTS |
		cloneNewIPC | cloneNewUser | cloneNewPID | cloneNewNet

	// Terminal ioctls that inject input or drive the Linux console.
	ioctlTIOCSTI   = 0x5412
	ioctlTIOCLINUX = 0x541c

	// Socket families and types.
	afUnix       = 1
	afPacket     = 17
	afVsock      = 40
	sockStream   = 1
	sockTypeMask = 0xf

	// oCreat is O_CREAT on x86_64 and aarch64.
	oCreat = 0x40
)

// Actions the filter returns.
const (
	actAllow  uint32 = retAllow
	actEPERM  uint32 = retErrno | errnoEPERM
	actENOSYS uint32 = retErrno | errnoENOSYS
	actNotify uint32 = retUserNotif
	actKill   uint32 = retKillProcess
)
