package server

import (
	"compress/gzip"
	"io"

	"connectrpc.com/connect"
)

// withCappedGzip replaces connect's gzip with one whose decompressor stops
// at limit bytes and answers INVALID_ARGUMENT: connect's own read limit
// answers RESOURCE_EXHAUSTED, which clients retry, and inflates the rest of
// an oversized body to report its size — a whole gzip bomb.
func (s *Server) withCappedGzip() connect.HandlerOption {
	limit := int64(s.limits.MaxMessageBytes)
	return connect.WithCompression("gzip",
		func() connect.Decompressor { return &cappedGzip{s: s, limit: limit} },
		func() connect.Compressor { return gzip.NewWriter(io.Discard) },
	)
}

type cappedGzip struct {
	gz    gzip.Reader
	s     *Server
	limit int64
	n     int64
}

func (d *cappedGzip) Read(p []byte) (int, error) {
	if d.limit > 0 && int64(len(p)) > d.limit-d.n+1 {
		p = p[:d.limit-d.n+1]
	}
	n, err := d.gz.Read(p)
	d.n += int64(n)
	d.s.inflated.Add(int64(n))
	if d.limit > 0 && d.n > d.limit {
		d.s.guardMetrics.BodyTooLarge()
		return 0, errTooLarge(int(d.limit))
	}
	return n, err
}

func (d *cappedGzip) Reset(r io.Reader) error {
	d.n = 0
	return d.gz.Reset(r)
}

func (d *cappedGzip) Close() error { return d.gz.Close() }
