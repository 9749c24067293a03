package server

import (
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Only a native gRPC library's gRPC request, not relayed by a proxy, takes
// its connection to grpc-go: the rest may share the connection with
// requests grpc-go cannot answer.
func TestForGRPCGo(t *testing.T) {
	grpcGo := []string{"content-type", "application/grpc", "user-agent", "grpc-go/1.85.0"}
	for _, tc := range []struct {
		name   string
		method string
		fields []string
		want   bool
	}{
		{"GRPCGo", "POST", grpcGo, true},
		{"GRPCJavaProto", "POST", []string{"content-type", "application/grpc+proto", "user-agent", "grpc-java-netty/1.70.0"}, true},
		{"ConnectGoGRPC", "POST", []string{"content-type", "application/grpc", "user-agent", "grpc-go-connect/1.21.1 (go1.26.8)"}, false},
		{"GRPCWeb", "POST", []string{"content-type", "application/grpc-web+proto", "user-agent", "grpc-go/1.85.0"}, false},
		{"GRPCJSON", "POST", []string{"content-type", "application/grpc+json", "user-agent", "grpc-go/1.85.0"}, false},
		{"Connect", "POST", []string{"content-type", "application/proto", "user-agent", "grpc-go/1.85.0"}, false},
		{"NoUserAgent", "POST", []string{"content-type", "application/grpc"}, false},
		{"Get", "GET", grpcGo, false},
		{"Proxied", "POST", append([]string{"x-forwarded-for", "10.0.0.1"}, grpcGo...), false},
		{"Envoy", "POST", append([]string{"x-envoy-expected-rq-timeout-ms", "1000"}, grpcGo...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mh := &http2.MetaHeadersFrame{Fields: []hpack.HeaderField{{Name: ":method", Value: tc.method}}}
			for i := 0; i+1 < len(tc.fields); i += 2 {
				mh.Fields = append(mh.Fields, hpack.HeaderField{Name: tc.fields[i], Value: tc.fields[i+1]})
			}
			if got := forGRPCGo(mh); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
