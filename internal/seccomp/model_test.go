package seccomp

import "slices"

// Kernel values for the reference model, written out independently of
// constants.go so that a wrong constant there shows up as a disagreement.
const (
	mSIGCHLD      = 17
	mCloneVM      = 0x100
	mCloneFS      = 0x200
	mCloneFiles   = 0x400
	mCloneSighand = 0x800
	mCloneThread  = 0x10000
	mCloneSysvsem = 0x40000
	mCloneSettls  = 0x80000
	mCloneParentS = 0x100000
	mCloneChildCl = 0x200000
	// glibc's pthread_create flags.
	mThreadFlags = mCloneVM | mCloneFS | mCloneFiles | mCloneSighand | mCloneThread |
		mCloneSysvsem | mCloneSettls | mCloneParentS | mCloneChildCl

	mAFUnix    = 1
	mAFInet    = 2
	mAFInet6   = 10
	mAFNetlink = 16
	mAFPacket  = 17
	mAFVsock   = 40

	mSockStream    = 1
	mSockDgram     = 2
	mSockSeqpacket = 5
	mSockNonblock  = 0x800
	mSockCloexec   = 0x80000

	mTIOCSTI   = 0x5412
	mTIOCLINUX = 0x541c
	mTCGETS    = 0x5401

	mOCreat   = 0100
	mOWronly  = 01
	mOCloexec = 02000000

	mAllow  = 0x7fff0000
	mEPERM  = 0x00050001
	mENOSYS = 0x00050026
	mNotify = 0x7fc00000
	mKill   = 0x80000000

	mAuditX86_64  = 0xc000003e
	mAuditI386    = 0x40000003
	mAuditAarch64 = 0xc00000b7
	mAuditARM     = 0x40000028
)

// mNamespaceFlags are CLONE_NEWTIME, NEWNS, NEWCGROUP, NEWUTS, NEWIPC,
// NEWUSER, NEWPID and NEWNET.
var mNamespaceFlags = []uint32{0x80, 0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000}

// expected is the policy restated as plain Go: the oracle the BPF program
// is checked against, input by input.
func expected(ar *arch, opts Options, d seccompData) uint32 {
	if d.arch != ar.audit {
		return mKill
	}
	name, known := ar.byNr()[d.nr]
	if !known {
		return mENOSYS // includes every x32 number and every unknown one
	}
	lo := func(i int) uint32 { return uint32(d.args[i]) }
	anyNS := func(v uint32) bool {
		for _, f := range mNamespaceFlags {
			if v&f != 0 {
				return true
			}
		}
		return false
	}
	either := func(cond bool, yes, no uint32) uint32 {
		if cond {
			return yes
		}
		return no
	}
	switch name {
	case "clone", "unshare":
		return either(anyNS(lo(0)), mEPERM, mAllow)
	case "clone3":
		return mENOSYS
	case "ioctl":
		return either(lo(1) == mTIOCSTI || lo(1) == mTIOCLINUX, mEPERM, mAllow)
	case "socket":
		switch lo(0) {
		case mAFPacket, mAFVsock:
			return mEPERM
		case mAFUnix:
			return either(opts.AllowUnixSockets, mAllow, mEPERM)
		}
		return mAllow
	case "socketpair":
		if opts.AllowUnixSockets {
			return mAllow
		}
		return either(lo(0) == mAFUnix && lo(1)&0xf == mSockStream, mAllow, mEPERM)
	case "open":
		return either(opts.NotifyCreate && lo(1)&mOCreat != 0, mNotify, mAllow)
	case "openat":
		return either(opts.NotifyCreate && lo(2)&mOCreat != 0, mNotify, mAllow)
	case "creat":
		return either(opts.NotifyCreate, mNotify, mAllow)
	case "openat2":
		return either(opts.NotifyCreate, mENOSYS, mAllow)
	}
	switch {
	case slices.Contains(refused, name):
		return mEPERM
	case slices.Contains(allowed, name):
		return mAllow
	case slices.Contains(createFamily, name):
		return either(opts.NotifyCreate, mNotify, mAllow)
	case slices.Contains(execFamily, name):
		return either(opts.NotifyExec, mNotify, mAllow)
	}
	return mENOSYS
}

// allOptions is every combination of Options.
func allOptions() []Options {
	var out []Options
	for bits := range 8 {
		out = append(out, Options{
			AllowUnixSockets: bits&1 != 0,
			NotifyCreate:     bits&2 != 0,
			NotifyExec:       bits&4 != 0,
		})
	}
	return out
}

var supportedArches = []*arch{archX86_64, archAarch64}
