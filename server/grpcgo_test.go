package server_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	v1 "github.com/licensor/licensor/gen/licensor/v1"
	"github.com/licensor/licensor/gen/licensor/v1/licensorv1connect"
	"github.com/licensor/licensor/internal/testserver"
	"github.com/licensor/licensor/server"
)

// An HTTP/2 connection whose first request cannot be read within the
// bounds (bytes and time) is closed and counted, and the server goes on.
func TestSniffRefusesBadPreludes(t *testing.T) {
	g := startGuarded(t, server.Limits{ReadHeaderTimeout: 200 * time.Millisecond, UnauthIdle: -1})
	f := g.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
	bigHeaders := func(w io.Writer) {
		var block bytes.Buffer
		enc := hpack.NewEncoder(&block)
		_ = enc.WriteField(hpack.HeaderField{Name: ":method", Value: "POST"})
		_ = enc.WriteField(hpack.HeaderField{Name: "x-big", Value: strings.Repeat("a", 100<<10)})
		fr := http2.NewFramer(w, nil)
		b := block.Bytes()
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:16<<10]})
		for b = b[16<<10:]; len(b) > 0; {
			n := min(len(b), 16<<10)
			_ = fr.WriteContinuation(1, n == len(b), b[:n])
			b = b[n:]
		}
	}
	cases := []struct {
		name string
		send func(w io.Writer)
	}{
		{"Garbage", func(w io.Writer) {
			_, _ = io.WriteString(w, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"+strings.Repeat("x", 100))
		}},
		{"GarbageFrames", func(w io.Writer) {
			_, _ = io.WriteString(w, http2.ClientPreface)
			_, _ = w.Write(bytes.Repeat([]byte{0xff}, 100)) // a frame longer than any allowed
		}},
		{"OversizedHeaders", func(w io.Writer) {
			_, _ = io.WriteString(w, http2.ClientPreface)
			_ = http2.NewFramer(w, nil).WriteSettings()
			bigHeaders(w)
		}},
		{"Slowloris", func(w io.Writer) { _, _ = io.WriteString(w, http2.ClientPreface) }},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := g.dialFrom(t, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			go tc.send(c)
			// The server answers with its SETTINGS at most, then closes.
			n, err := io.Copy(io.Discard, io.LimitReader(c, 1<<20))
			if err != nil && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("read until closed: %v", err)
			}
			if n > 64 {
				t.Errorf("server sent %d bytes, want at most its SETTINGS", n)
			}
			if got := g.metric(t, "licensor_connections_bad_preface_total"); got != float64(i+1) {
				t.Errorf("bad preface count: got %v, want %d", got, i+1)
			}
		})
	}
	if err := g.getLicense(t, g.license(testserver.GRPC, f.ContractToken), f); err != nil {
		t.Errorf("GetLicense after the bad preludes: %v", err)
	}
}

// A gRPC request whose message does not arrive within the body timeout
// ends with DEADLINE_EXCEEDED naming the flag, as on net/http.
func TestGRPCGoSlowBodyCut(t *testing.T) {
	g := startGuarded(t, server.Limits{BodyTimeout: 200 * time.Millisecond})
	f := g.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+f.ContractToken)
	s, err := g.grpcConn(t).NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, licensorv1connect.LicenseServiceGetLicenseProcedure)
	if err != nil {
		t.Fatal(err)
	}
	// No message is sent: the server answers once the deadline passes.
	err = s.RecvMsg(new(v1.GetLicenseResponse))
	if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "--body-timeout") {
		t.Errorf("got %v, want deadline_exceeded naming --body-timeout", err)
	}
	if got := g.metric(t, "licensor_request_body_deadline_total"); got != 1 {
		t.Errorf("body deadline hits: got %v, want 1", got)
	}
	if server.GRPCGoConns(g.srv) != 1 {
		t.Errorf("grpc-go connections: got %d, want 1", server.GRPCGoConns(g.srv))
	}
}

// On shutdown a held stream on grpc-go's transport ends, and the
// connection closes once it has, within the graceful shutdown.
func TestGRPCGoShutdownEndsStreams(t *testing.T) {
	g := startGuarded(t, server.Limits{})
	f := g.ts.NewFixture(t, testserver.FixtureOptions{MaxSeats: 5})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+f.ContractToken)
	s, err := g.grpcConn(t).NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, licensorv1connect.LicenseServiceWatchLicenseProcedure)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMsg(&v1.WatchLicenseRequest{ContractId: f.ContractID, InstanceId: "held"}); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseSend()
	if err := s.RecvMsg(new(v1.WatchLicenseResponse)); err != nil {
		t.Fatalf("first license: %v", err)
	}
	g.srv.BeginShutdown()
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- g.hs.Shutdown(sctx) }()
	if err := s.RecvMsg(new(v1.WatchLicenseResponse)); err == nil {
		t.Error("stream after shutdown began: got a message, want its end")
	}
	if err := <-done; err != nil {
		t.Errorf("shutdown: got %v, want the connection closed in time", err)
	}
	if server.GRPCGoConns(g.srv) != 1 {
		t.Errorf("grpc-go connections: got %d, want 1", server.GRPCGoConns(g.srv))
	}
}

// A plain HTTP/2 request is served through the sniffer and then x/net's
// server, each of which sends SETTINGS: none of the later ones may change
// SETTINGS_NO_RFC7540_PRIORITIES from the first (RFC 9218; browsers and
// curl end the connection with PROTOCOL_ERROR if it does), and the
// request is answered.
func TestSniffedSettingsStayConsistent(t *testing.T) {
	g := startGuarded(t, server.Limits{UnauthIdle: -1})
	c, err := g.dialFrom(t, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "licensor"}, {":path", "/healthz"}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	var first map[http2.SettingID]uint32
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("read: %v (before the response)", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			got := map[http2.SettingID]uint32{}
			_ = f.ForeachSetting(func(s http2.Setting) error { got[s.ID] = s.Val; return nil })
			if first == nil {
				first = got
				continue
			}
			if v, ok := got[http2.SettingNoRFC7540Priorities]; ok && v != first[http2.SettingNoRFC7540Priorities] {
				t.Fatalf("SETTINGS_NO_RFC7540_PRIORITIES: first SETTINGS %d, a later one %d", first[http2.SettingNoRFC7540Priorities], v)
			}
			_ = fr.WriteSettingsAck()
		case *http2.GoAwayFrame:
			t.Fatalf("server sent GOAWAY %v before the response", f.ErrCode)
		case *http2.HeadersFrame:
			if f.StreamID == 1 {
				return // answered
			}
		}
	}
}
