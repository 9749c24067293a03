package server

// Inflated returns how many request bytes s has decompressed.
func Inflated(s *Server) int64 { return s.inflated.Load() }

// GRPCGoConns is how many connections s handed to grpc-go's transport.
func GRPCGoConns(s *Server) int64 {
	if s.grpcT == nil {
		return 0
	}
	return s.grpcT.served.Load()
}
