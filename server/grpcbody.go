package server

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Read serves the client's messages as sent, each in its gRPC envelope:
// compressed ones stay compressed for connect's capped gzip, and the
// guard's bound on the body counts them as on net/http.
func (c *grpcCall) Read(p []byte) (int, error) {
	if c.ws == nil {
		return c.readMsgs(p)
	}
	for c.inHdr == 0 && c.inLeft == 0 {
		if c.inEOF {
			return 0, io.EOF
		}
		if err := c.ws.ReadMessageHeader(c.hdr[:]); err != nil {
			return 0, c.readErr(err)
		}
		c.inHdr = 5
		c.inLeft = int(c.hdr[1])<<24 | int(c.hdr[2])<<16 | int(c.hdr[3])<<8 | int(c.hdr[4])
	}
	if c.inHdr > 0 {
		n := copy(p, c.hdr[5-c.inHdr:])
		c.inHdr -= n
		return n, nil
	}
	data, err := c.ws.Read(min(len(p), c.inLeft))
	if err != nil {
		return 0, c.readErr(err)
	}
	n := data.CopyTo(p)
	data.Free()
	c.inLeft -= n
	return n, nil
}

// readErr is what Read reports for err: io.EOF at the client stream's end
// (the body is then whole: the body deadline no longer applies).
func (c *grpcCall) readErr(err error) error {
	c.mu.Lock()
	late := c.late
	if err == io.EOF {
		c.inEOF = true
		if c.timer != nil {
			c.timer.Stop()
		}
	}
	c.mu.Unlock()
	if late {
		return c.lateErr() // counted when the status was written
	}
	return err
}

// readMsgs is Read through grpc-go's RecvMsg, when the stream does not
// offer its raw reads (grpc-go then inflates and bounds the messages).
func (c *grpcCall) readMsgs(p []byte) (int, error) {
	for c.inOff >= len(c.in.b) {
		if c.inEOF {
			return 0, io.EOF
		}
		c.in.b, c.inOff = c.in.b[:0], 0
		if err := c.ss.RecvMsg(&c.in); err != nil {
			if err == io.EOF {
				c.inEOF = true
				return 0, io.EOF
			}
			if status.Code(err) == codes.ResourceExhausted {
				c.s.guardMetrics.BodyTooLarge()
				return 0, errTooLarge(c.s.limits.MaxMessageBytes)
			}
			return 0, err
		}
	}
	n := copy(p, c.in.b[c.inOff:])
	c.inOff += n
	return n, nil
}

// SetReadDeadline bounds the wait for the rest of the body (the guard's
// body timeout): past t, the call ends with DEADLINE_EXCEEDED as on
// net/http. grpc-go cannot fail a pending read alone, so the status is
// written first, which ends the stream and the read.
func (c *grpcCall) SetReadDeadline(t time.Time) error {
	if c.ws == nil {
		return http.ErrNotSupported
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.inEOF || t.IsZero() {
		return nil
	}
	gen := c.gen
	c.timer = time.AfterFunc(time.Until(t), func() { c.bodyLate(gen) })
	return nil
}

func (c *grpcCall) bodyLate(gen uint64) {
	c.mu.Lock()
	if c.gen != gen || c.inEOF || c.done {
		c.mu.Unlock()
		return
	}
	c.late = true
	ws, m, msg := c.ws, c.s.guardMetrics, c.lateErr().Message() // c may be reused once unlocked
	c.mu.Unlock()
	m.BodyDeadline()
	_ = ws.WriteStatus(status.New(codes.DeadlineExceeded, msg))
}

// lateErr is boundedBody's answer to a body past its deadline.
func (c *grpcCall) lateErr() *connect.Error {
	return connect.NewError(connect.CodeDeadlineExceeded,
		fmt.Errorf("request body did not arrive within %s (--body-timeout)", c.s.limits.BodyTimeout))
}
