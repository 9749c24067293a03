package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var stdout io.Writer = os.Stdout

// Output formats of -o.
const (
	outTable = "table"
	outJSON  = "json"
	outYAML  = "yaml"
	outID    = "id"
)

// table reports whether output is for a person: only then do commands add
// lines beside the data (a token shown once, the next page's token).
func (g *Globals) table() bool { return g.Output == "" || g.Output == outTable }

// emit prints a response: the message as JSON or YAML, the first column of
// each row (the id) with -o id, else the table.
func emit(g *Globals, msg proto.Message, header []string, rows [][]string) error {
	switch g.Output {
	case outJSON, outYAML:
		b, err := marshalMessage(msg, g.Output)
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	case outID:
		col := idColumn(header)
		for _, r := range rows {
			if col < len(r) {
				fmt.Fprintln(stdout, r[col])
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	return w.Flush()
}

// stderr is where a secret goes with -o id; tests replace it.
var stderr io.Writer = os.Stderr

// showOnce prints a secret the server shows only once: under the table, or
// with -o id on stderr, so that a script keeping the id from stdout does
// not lose it. JSON and YAML carry it in the document.
func showOnce(g *Globals, what, secret string) {
	switch g.Output {
	case outJSON, outYAML:
	case outID:
		fmt.Fprintf(stderr, "%s (shown once, store it now): %s\n", what, secret)
	default:
		fmt.Fprintf(stdout, "\n%s (shown once, store it now):\n%s\n", what, secret)
	}
}

// idColumn is the column -o id prints: ID, else INSTANCE (an instance is
// named by its id within its contract), else the first.
func idColumn(header []string) int {
	for _, want := range []string{"ID", "INSTANCE"} {
		for i, h := range header {
			if h == want {
				return i
			}
		}
	}
	return 0
}

// marshalMessage renders msg as indented JSON (or YAML) with the proto
// field names. protojson deliberately varies its spacing from build to
// build so nobody depends on it; re-indenting with encoding/json gives the
// same bytes every run, which diffs and golden files need.
func marshalMessage(msg proto.Message, format string) ([]byte, error) {
	raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(msg)
	if err != nil {
		return nil, err
	}
	if format == outYAML {
		return jsonToYAML(raw)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// emitValue prints a plain Go value (not a proto message) as JSON or YAML.
func emitValue(g *Globals, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if g.Output == outYAML {
		if raw, err = jsonToYAML(raw); err != nil {
			return err
		}
		_, err = stdout.Write(raw)
		return err
	}
	_, err = fmt.Fprintln(stdout, string(raw))
	return err
}

// jsonToYAML re-encodes JSON as YAML, keeping the order of the keys.
func jsonToYAML(raw []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(raw, &n); err != nil { // JSON is YAML
		return nil, err
	}
	clearStyle(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// clearStyle drops the flow style and quoting the JSON input carries, so
// the YAML is written block style; strings that need quotes keep them.
func clearStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		clearStyle(c)
	}
}

func fmtTS(t *timestamppb.Timestamp) string {
	if t == nil {
		return "-"
	}
	return t.AsTime().UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
