package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// asker asks the user on the terminal whether an unlisted destination may
// be reached (--ask). One question at a time; "always" and "deny" answers
// are remembered for the session; no answer within the timeout denies.
type asker struct {
	out     io.Writer
	keys    chan byte     // keystrokes while a question is open
	timeout time.Duration // how long a question waits

	mu      sync.Mutex      // serialises questions; guards answers
	answers map[string]bool // "host:port" -> remembered answer
	asking  bool            // a question is open (keys go to it); guarded by keyMu
	keyMu   sync.Mutex
}

func newAsker(out io.Writer, timeout time.Duration) *asker {
	return &asker{out: out, keys: make(chan byte, 16), timeout: timeout, answers: map[string]bool{}}
}

// feed reads keystrokes from in: while a question is open they answer it,
// otherwise they go on to fwd (the sandbox's terminal). It returns when in
// ends.
func (k *asker) feed(in io.Reader, fwd io.Writer) {
	buf := make([]byte, 256)
	for {
		n, err := in.Read(buf)
		for _, b := range buf[:n] {
			k.keyMu.Lock()
			asking := k.asking
			k.keyMu.Unlock()
			if asking {
				select {
				case k.keys <- b:
				default:
				}
				continue
			}
			if fwd != nil {
				_, _ = fwd.Write([]byte{b})
			}
		}
		if err != nil {
			if c, ok := fwd.(io.Closer); ok {
				c.Close()
			}
			return
		}
	}
}

// Ask implements proxy.Config.Ask.
func (k *asker) Ask(ctx context.Context, host string, port int) bool {
	dest := fmt.Sprintf("%s:%d", host, port)
	k.mu.Lock()
	defer k.mu.Unlock()
	if v, ok := k.answers[dest]; ok {
		return v
	}
	k.keyMu.Lock()
	k.asking = true
	k.keyMu.Unlock()
	defer func() {
		k.keyMu.Lock()
		k.asking = false
		k.keyMu.Unlock()
	}()
	for {
		select {
		case <-k.keys: // drop keys typed before the question
			continue
		default:
		}
		break
	}
	fmt.Fprintf(k.out, "\r\nairlock: the command wants to reach %s, which the policy does not list.\r\nairlock: allow? [o]nce, [a]lways, [d]eny (denied in %v): ", dest, k.timeout)
	timer := time.NewTimer(k.timeout)
	defer timer.Stop()
	for {
		select {
		case b := <-k.keys:
			switch strings.ToLower(string(b)) {
			case "o", "y":
				fmt.Fprintf(k.out, "once\r\n")
				return true
			case "a":
				fmt.Fprintf(k.out, "always (for this session)\r\n")
				k.answers[dest] = true
				return true
			case "d", "n":
				fmt.Fprintf(k.out, "denied (for this session)\r\n")
				k.answers[dest] = false
				return false
			}
		case <-timer.C:
			fmt.Fprintf(k.out, "no answer: denied\r\n")
			return false
		case <-ctx.Done():
			fmt.Fprintf(k.out, "cancelled: denied\r\n")
			return false
		}
	}
}
