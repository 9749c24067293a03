package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// maxSniffBytes bounds what a connection may send before its first
// request's headers are complete: the preface, a few settings and window
// updates, and one HEADERS block with its CONTINUATIONs.
const maxSniffBytes = 64 << 10

// errSniff is why a connection was refused before its first request.
var errSniff = errors.New("http2: no request headers within the bounds")

// sniffed is an HTTP/2 connection whose first request's content type has
// been read. Its Read replays the consumed bytes first; its Close reports
// that the connection is done.
type sniffed struct {
	*tls.Conn
	grpc bool

	replay []byte
	// dropAck: the client's acknowledgement of the sniffer's SETTINGS
	// frame is still to come and must not reach the server that takes the
	// connection over (it never sent those SETTINGS).
	dropAck bool
	frames  int // frames passed through while looking for it
	hdr     [9]byte
	hdrOff  int // bytes of hdr still to serve
	payload int // payload bytes of the current frame still to pass

	once sync.Once
	done chan struct{}
}

// sniff reads the client preface and the frames up to the first HEADERS
// block of c, within deadline and maxSniffBytes. It first sends a SETTINGS
// frame advertising maxStreams: a client may wait for the server's preface
// before it sends a request (grpc-go does).
func sniff(c *tls.Conn, deadline time.Time, maxStreams int) (*sniffed, error) {
	if err := c.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	rec := &recorder{r: c, max: maxSniffBytes}
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(rec, preface); err != nil {
		return nil, err
	}
	if string(preface) != http2.ClientPreface {
		return nil, fmt.Errorf("%w: bad client preface", errSniff)
	}
	_ = c.SetWriteDeadline(deadline)
	fr := http2.NewFramer(c, rec)
	// SETTINGS_NO_RFC7540_PRIORITIES may not change after a peer's first
	// SETTINGS (RFC 9218, section 2.1), and x/net's server, which may take
	// the connection over, sends 1: so does this first one. Browsers and
	// nghttp2 end a connection that changes it.
	settings := []http2.Setting{{ID: http2.SettingNoRFC7540Priorities, Val: 1}}
	if maxStreams > 0 {
		settings = append(settings, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: uint32(maxStreams)})
	}
	if err := fr.WriteSettings(settings...); err != nil {
		return nil, err
	}
	_ = c.SetWriteDeadline(time.Time{})
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = maxSniffBytes
	kept := rec.buf[:len(preface)]
	dropAck := true
	for {
		start := len(rec.buf)
		f, err := fr.ReadFrame()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errSniff, err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && sf.IsAck() && dropAck {
			dropAck = false // consumed here: not replayed
			continue
		}
		kept = append(kept, rec.buf[start:]...)
		mh, ok := f.(*http2.MetaHeadersFrame)
		if !ok {
			continue
		}
		if mh.Truncated {
			return nil, fmt.Errorf("%w: header list too large", errSniff)
		}
		if err := c.SetReadDeadline(time.Time{}); err != nil {
			return nil, err
		}
		return &sniffed{Conn: c, grpc: forGRPCGo(mh), replay: kept,
			dropAck: dropAck, done: make(chan struct{})}, nil
	}
}

// forGRPCGo reports whether a connection whose first request is mh is
// one for grpc-go's transport, which answers gRPC only: a POST in the gRPC
// protocol with the protobuf codec, from a native gRPC library (user agent
// grpc-go/, grpc-java-, grpc-c/, ...: a channel of those carries gRPC
// only), not relayed by a proxy (which may send other clients' requests
// on the same connection). connect-go's gRPC client (grpc-go-connect/)
// shares its
// connections with plain HTTP requests (JWKS), so it stays on net/http,
// as do gRPC-Web, Connect and every other codec.
func forGRPCGo(mh *http2.MetaHeadersFrame) bool {
	if mh.PseudoValue("method") != "POST" {
		return false
	}
	var grpcCT, nativeUA bool
	for _, f := range mh.RegularFields() {
		switch f.Name {
		case "content-type":
			ct := strings.ToLower(strings.TrimSpace(f.Value))
			grpcCT = ct == "application/grpc" || ct == "application/grpc+proto"
		case "user-agent":
			nativeUA = strings.Contains(f.Value, "grpc-") && !strings.Contains(f.Value, "connect")
		case "forwarded", "x-forwarded-for", "via":
			return false
		default:
			if strings.HasPrefix(f.Name, "x-envoy-") {
				return false
			}
		}
	}
	return grpcCT && nativeUA
}

// recorder keeps every byte read through it, up to max.
type recorder struct {
	r   io.Reader
	buf []byte
	max int
}

func (r *recorder) Read(p []byte) (int, error) {
	if len(r.buf) >= r.max {
		return 0, fmt.Errorf("%w: more than %d bytes before the first request", errSniff, r.max)
	}
	if len(p) > r.max-len(r.buf) {
		p = p[:r.max-len(r.buf)]
	}
	n, err := r.r.Read(p)
	r.buf = append(r.buf, p[:n]...)
	return n, err
}

// Read serves the replayed bytes, then the connection's, dropping the
// acknowledgement of the sniffer's SETTINGS if it is still to come.
func (s *sniffed) Read(p []byte) (int, error) {
	if len(s.replay) > 0 {
		n := copy(p, s.replay)
		s.replay = s.replay[n:]
		if len(s.replay) == 0 {
			s.replay = nil
		}
		return n, nil
	}
	if !s.dropAck {
		return s.Conn.Read(p)
	}
	return s.readFiltered(p)
}

// maxAckFrames bounds the frames read while waiting for the SETTINGS
// acknowledgement; a client that sends that many without it is broken, and
// a stray acknowledgement only ends its own connection.
const maxAckFrames = 256

// readFiltered passes frames through whole until the client's first
// SETTINGS acknowledgement, which it drops.
func (s *sniffed) readFiltered(p []byte) (int, error) {
	for {
		if s.hdrOff > 0 {
			n := copy(p, s.hdr[9-s.hdrOff:])
			s.hdrOff -= n
			return n, nil
		}
		if s.payload > 0 {
			if len(p) > s.payload {
				p = p[:s.payload]
			}
			n, err := s.Conn.Read(p)
			s.payload -= n
			if s.payload == 0 && s.frames >= maxAckFrames {
				s.dropAck = false
			}
			return n, err
		}
		if _, err := io.ReadFull(s.Conn, s.hdr[:]); err != nil {
			return 0, err
		}
		length := int(s.hdr[0])<<16 | int(s.hdr[1])<<8 | int(s.hdr[2])
		if http2.FrameType(s.hdr[3]) == http2.FrameSettings && http2.Flags(s.hdr[4])&http2.FlagSettingsAck != 0 && length == 0 {
			s.dropAck = false
			if len(p) == 0 {
				return 0, nil
			}
			return s.Conn.Read(p)
		}
		s.frames++
		s.hdrOff, s.payload = 9, length
		if length == 0 && s.frames >= maxAckFrames {
			s.dropAck = false
		}
	}
}

// Close closes the connection and reports it done.
func (s *sniffed) Close() error {
	err := s.Conn.Close()
	s.once.Do(func() { close(s.done) })
	return err
}

// NetConn is the guarded connection under TLS (netguard.ConnContext
// looks through it).
func (s *sniffed) NetConn() net.Conn { return s.Conn.NetConn() }
