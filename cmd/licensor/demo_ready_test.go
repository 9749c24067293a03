package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// acceptWatch is a listener that runs check when the server first accepts
// on it: the moment /healthz can first be answered.
type acceptWatch struct {
	net.Listener
	once  sync.Once
	check func()
}

func (l *acceptWatch) Accept() (net.Conn, error) {
	l.once.Do(l.check)
	return l.Listener.Accept()
}

// serve --demo writes demo.json before the server accepts a connection,
// so a script that polls /healthz and then reads demo.json finds it.
func TestDemoWrittenBeforeServing(t *testing.T) {
	data := t.TempDir()
	existed := make(chan bool, 1)
	m := &Main{Config: ServeCmd{Listen: "127.0.0.1:0", Data: data, Demo: true}, Out: &bytes.Buffer{}}
	m.listen = func(network, addr string) (net.Listener, error) {
		ln, err := net.Listen(network, addr)
		if err != nil {
			return nil, err
		}
		return &acceptWatch{Listener: ln, check: func() {
			_, err := os.Stat(filepath.Join(data, "demo.json"))
			existed <- err == nil
		}}, nil
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if !<-existed {
		t.Fatal("the server accepted connections before demo.json was written")
	}
	d, err := readDemoFile(filepath.Join(data, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://" + m.Addr(); d.Server != want {
		t.Errorf("demo.json server: got %q, want %q", d.Server, want)
	}
}
