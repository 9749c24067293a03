package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/alecthomas/kong"
)

// runCLI runs one licensor command line in-process and returns what it
// printed. A parse error is returned, not fatal, so tests can assert on it.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var cli CLI
	p, err := kong.New(&cli, append(parserOptions(), kong.Exit(func(int) { t.Fatalf("kong exited on %v", args) }))...)
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := p.Parse(args)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	stdout = &buf
	defer func() { stdout = os.Stdout }()
	err = kctx.Run(&cli.Globals)
	return buf.String(), err
}
