package sandbox

import (
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// conn is one end of the supervisor/init SOCK_SEQPACKET socketpair.
type conn struct{ fd int }

const maxPacket = 1 << 20

func (c conn) send(m message, fds ...int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	return unix.Sendmsg(c.fd, b, oob, nil, 0)
}

func (c conn) recv() (message, []int, error) {
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		// Peek at the packet's length first, so a small message does not
		// cost a large buffer.
		size, _, err := unix.Recvfrom(c.fd, nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return message{}, nil, err
		}
		if size > maxPacket {
			return message{}, nil, fmt.Errorf("control message of %d bytes is too large", size)
		}
		buf := make([]byte, max(size, 1))
		n, oobn, _, _, err := unix.Recvmsg(c.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return message{}, nil, err
		}
		if n == 0 {
			return message{}, nil, fmt.Errorf("peer closed the control socket")
		}
		var fds []int
		if oobn > 0 {
			scms, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err != nil {
				return message{}, nil, err
			}
			for _, s := range scms {
				f, err := unix.ParseUnixRights(&s)
				if err == nil {
					fds = append(fds, f...)
				}
			}
		}
		var m message
		if err := json.Unmarshal(buf[:n], &m); err != nil {
			return message{}, fds, fmt.Errorf("bad control message: %w", err)
		}
		return m, fds, nil
	}
}

func socketpair() (sup conn, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return conn{}, nil, fmt.Errorf("control socketpair: %w", err)
	}
	return conn{fds[0]}, os.NewFile(uintptr(fds[1]), "airlock-control"), nil
}
