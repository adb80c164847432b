package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// terminalFd returns the file descriptor of v when it is an *os.File on a
// terminal.
func terminalFd(v any) (int, bool) {
	f, ok := v.(*os.File)
	if !ok || f == nil {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// isTerminal reports whether v is an *os.File on a terminal.
func isTerminal(v any) bool {
	_, ok := terminalFd(v)
	return ok
}

// terminalWidth is the width of the terminal w is on, 80 otherwise.
func terminalWidth(w io.Writer) int {
	if fd, ok := terminalFd(w); ok {
		if width, _, err := term.GetSize(fd); err == nil && width > 0 {
			return width
		}
	}
	return 80
}

// terminalHeight is the number of rows of the terminal w is on, 0 when
// unknown (a pseudo-terminal nobody sized cannot show redrawn lines).
func terminalHeight(w io.Writer) int {
	if fd, ok := terminalFd(w); ok {
		if _, height, err := term.GetSize(fd); err == nil {
			return height
		}
	}
	return 0
}

// errNoTTY is docker's refusal to prompt without a terminal.
var errNoTTY = errors.New("cannot perform an interactive login from a non TTY device")

// prompter asks for a username and a password on a terminal.
type prompter struct {
	in  io.Reader
	out io.Writer
	br  *bufio.Reader
}

// line prints label and reads one line from the terminal, without its
// line ending.
func (p *prompter) line(label string) (string, error) {
	if !isTerminal(p.in) {
		return "", errNoTTY
	}
	fmt.Fprint(p.out, label)
	if p.br == nil {
		p.br = bufio.NewReader(p.in)
	}
	s, err := p.br.ReadString('\n')
	if err != nil && (s == "" || !errors.Is(err, io.EOF)) {
		return "", fmt.Errorf("reading %s: %w", strings.TrimSpace(strings.TrimSuffix(label, ": ")), err)
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// password prints label and reads a line from the terminal without
// echoing it.
func (p *prompter) password(label string) (string, error) {
	fd, ok := terminalFd(p.in)
	if !ok {
		return "", errNoTTY
	}
	fmt.Fprint(p.out, label)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(p.out)
	if err != nil {
		return "", fmt.Errorf("reading password: %w", err)
	}
	return string(b), nil
}
