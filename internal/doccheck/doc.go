// Package doccheck runs the code in the documentation that is not Go: the
// license-verification snippets of docs/other-languages.md, with node,
// python3 and java where they are installed. It holds tests only and must
// never be imported.
package doccheck
