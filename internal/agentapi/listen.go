package agentapi

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// Listen opens the API's listener: "unix:/path" for a Unix socket (a stale
// socket file left by a crash is replaced; the socket is made 0660, so
// that only the owner and its group can call the API), else a TCP address
// that must be on loopback — the API has no authentication, and anyone who
// reaches it can check the customer's seats out.
func Listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if path == "" {
			return nil, errors.New("unix: needs a path, e.g. unix:/run/licensor/agent.sock")
		}
		if fi, err := os.Lstat(path); err == nil {
			if fi.Mode()&os.ModeSocket == 0 {
				return nil, fmt.Errorf("%s exists and is not a socket; refusing to replace it", path)
			}
			if c, err := net.Dial("unix", path); err == nil {
				c.Close()
				return nil, fmt.Errorf("%s is in use by another process (another agent?)", path)
			}
			if err := os.Remove(path); err != nil {
				return nil, err
			}
		}
		ln, err := net.Listen("unix", path)
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(path, 0o660); err != nil {
			ln.Close()
			return nil, err
		}
		return ln, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%q: want host:port on loopback (127.0.0.1:7444) or unix:/path", addr)
	}
	if host != "localhost" {
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("%q is not a loopback address: the agent's API has no authentication, so it listens only on 127.0.0.1, ::1 or a Unix socket", addr)
		}
	}
	return net.Listen("tcp", addr)
}
