// Package importcheck holds the test that keeps DESIGN.md's import rules
// true: which project packages may import which, and which third-party
// modules are confined to one package. It has no code of its own; run it
// with `make check-imports` (or `go test ./internal/importcheck/`).
package importcheck
