package server

// Inflated returns how many request bytes s has decompressed.
func Inflated(s *Server) int64 { return s.inflated.Load() }
