package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Bounds on what a WWW-Authenticate header may make the parser hold. The
// header comes from the server, so it is untrusted input.
const (
	maxChallengeHeader = 8 << 10 // bytes of one header value
	maxChallenges      = 16      // challenges per response
	maxChallengeParams = 32      // auth-params per challenge
)

// ErrMalformedChallenge is wrapped by the errors of ParseChallenges.
var ErrMalformedChallenge = errors.New("malformed WWW-Authenticate challenge")

// Challenge is one challenge of a WWW-Authenticate header (RFC 7235): a
// scheme and its parameters, such as
//
//	Bearer realm="https://auth.example.com/token",service="registry",scope="repository:app:pull"
type Challenge struct {
	// Scheme is the auth-scheme, lower-cased: "bearer", "basic", ...
	Scheme string
	// Params holds the auth-params by lower-cased name, quoted values
	// unescaped. Empty when the challenge carries a token68 or nothing.
	Params map[string]string
	// Token68 is the challenge's token68 form, rarely used.
	Token68 string
}

// Realm returns the realm parameter: for Bearer, the token service's URL.
func (c Challenge) Realm() string { return c.Params["realm"] }

// Service returns the service parameter of a Bearer challenge.
func (c Challenge) Service() string { return c.Params["service"] }

// Scopes returns the space-separated entries of the scope parameter.
func (c Challenge) Scopes() []string { return strings.Fields(c.Params["scope"]) }

// ResponseChallenges parses every WWW-Authenticate header of h and returns
// the well-formed challenges, in order, and the first parse error. At most
// 16 challenges are returned.
func ResponseChallenges(h http.Header) ([]Challenge, error) {
	var (
		all      []Challenge
		firstErr error
	)
	for _, v := range h.Values("WWW-Authenticate") {
		cs, err := ParseChallenges(v)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		for _, c := range cs {
			if len(all) == maxChallenges {
				return all, firstErr
			}
			all = append(all, c)
		}
	}
	return all, firstErr
}

// ParseChallenges parses one WWW-Authenticate header value, which may hold
// several comma-separated challenges. Schemes and parameter names are
// case-insensitive; quoted values may contain commas and backslash escapes.
// As a leniency towards real servers, an unquoted value may be any run of
// visible characters but comma, quote and backslash (a bare URL realm).
//
// It never panics. On malformed input it returns the challenges completed
// before the fault and an error wrapping ErrMalformedChallenge; a challenge
// that is itself malformed (a repeated parameter, an unterminated quote) is
// never returned in part. Values longer than 8 KiB, and challenges or
// parameters beyond 16 and 32, are refused.
func ParseChallenges(header string) ([]Challenge, error) {
	if len(header) > maxChallengeHeader {
		return nil, fmt.Errorf("%w: header is %d bytes, limit %d", ErrMalformedChallenge, len(header), maxChallengeHeader)
	}
	p := &challengeParser{s: header}
	var out []Challenge
	for {
		p.skipListSeparators()
		if p.eof() {
			return out, nil
		}
		if len(out) == maxChallenges {
			return out, p.errorf("more than %d challenges", maxChallenges)
		}
		c, err := p.challenge()
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
}

// challengeParser is a cursor over one header value.
type challengeParser struct {
	s   string
	pos int
}

func (p *challengeParser) eof() bool { return p.pos >= len(p.s) }

func (p *challengeParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

func (p *challengeParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformedChallenge, fmt.Sprintf(format, args...), p.pos)
}

// skipSpace skips optional whitespace and returns how much it skipped.
func (p *challengeParser) skipSpace() int {
	start := p.pos
	for !p.eof() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
	return p.pos - start
}

// skipListSeparators skips whitespace and the empty list elements RFC 7230's
// #rule allows (", ,").
func (p *challengeParser) skipListSeparators() {
	for {
		p.skipSpace()
		if p.peek() != ',' {
			return
		}
		p.pos++
	}
}

// token reads an RFC 7230 token, possibly empty.
func (p *challengeParser) token() string {
	start := p.pos
	for !p.eof() && isTokenChar(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// challenge reads auth-scheme [ 1*SP ( token68 / #auth-param ) ].
func (p *challengeParser) challenge() (Challenge, error) {
	scheme := p.token()
	if scheme == "" {
		return Challenge{}, p.errorf("expected an auth-scheme, found %q", p.peek())
	}
	c := Challenge{Scheme: strings.ToLower(scheme), Params: map[string]string{}}
	spaced := p.skipSpace() > 0
	if p.eof() || p.peek() == ',' {
		return c, nil
	}
	if !spaced {
		return Challenge{}, p.errorf("expected a space after scheme %q", scheme)
	}
	if t, ok := p.token68(); ok {
		c.Token68 = t
		return c, nil
	}
	return c, p.params(c.Params)
}

// token68 reads a token68 when one stands alone before the end or a comma;
// otherwise it leaves the cursor where it was and reports false.
func (p *challengeParser) token68() (string, bool) {
	start := p.pos
	for !p.eof() && isToken68Char(p.s[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		return "", false
	}
	for !p.eof() && p.s[p.pos] == '=' {
		p.pos++
	}
	end := p.pos
	p.skipSpace()
	if p.eof() || p.peek() == ',' {
		return p.s[start:end], true
	}
	p.pos = start
	return "", false
}

// params reads #auth-param into into, stopping before the next challenge.
func (p *challengeParser) params(into map[string]string) error {
	for {
		name := p.token()
		if name == "" {
			return p.errorf("expected a parameter name, found %q", p.peek())
		}
		p.skipSpace()
		if p.peek() != '=' {
			return p.errorf("expected '=' after parameter %q", name)
		}
		p.pos++
		p.skipSpace()
		value, err := p.value()
		if err != nil {
			return err
		}
		key := strings.ToLower(name)
		if _, dup := into[key]; dup {
			return p.errorf("parameter %q repeated", key)
		}
		if len(into) == maxChallengeParams {
			return p.errorf("more than %d parameters", maxChallengeParams)
		}
		into[key] = value
		p.skipSpace()
		if p.eof() {
			return nil
		}
		if p.peek() != ',' {
			return p.errorf("unexpected %q after parameter %q", p.peek(), key)
		}
		p.skipListSeparators()
		if p.eof() || !p.paramAhead() {
			return nil // what follows, if anything, is the next challenge
		}
	}
}

// paramAhead reports whether the cursor is at "token BWS =", the start of
// another parameter rather than of another challenge.
func (p *challengeParser) paramAhead() bool {
	save := p.pos
	defer func() { p.pos = save }()
	if p.token() == "" {
		return false
	}
	p.skipSpace()
	return p.peek() == '='
}

// value reads a quoted-string (unescaping it) or an unquoted value.
func (p *challengeParser) value() (string, error) {
	if p.peek() != '"' {
		start := p.pos
		for !p.eof() && isBareValueChar(p.s[p.pos]) {
			p.pos++
		}
		if p.pos == start {
			return "", p.errorf("expected a parameter value, found %q", p.peek())
		}
		return p.s[start:p.pos], nil
	}
	p.pos++ // opening quote
	var b strings.Builder
	for !p.eof() {
		ch := p.s[p.pos]
		p.pos++
		switch {
		case ch == '"':
			return b.String(), nil
		case ch == '\\':
			if p.eof() {
				return "", p.errorf("unterminated escape in quoted value")
			}
			ch = p.s[p.pos]
			p.pos++
			if isCtl(ch) && ch != '\t' {
				return "", p.errorf("control character in quoted value")
			}
			b.WriteByte(ch)
		case isCtl(ch) && ch != '\t':
			return "", p.errorf("control character in quoted value")
		default:
			b.WriteByte(ch)
		}
	}
	return "", p.errorf("unterminated quoted value")
}

func isCtl(c byte) bool { return c < 0x20 || c == 0x7f }

// isTokenChar reports whether c is a tchar of RFC 7230.
func isTokenChar(c byte) bool {
	if c >= 0x80 || isCtl(c) {
		return false
	}
	return !strings.ContainsRune(" \t\"(),/:;<=>?@[\\]{}", rune(c))
}

// isToken68Char reports whether c may appear in a token68 before padding.
func isToken68Char(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("-._~+/", c) >= 0
}

// isBareValueChar reports whether c may appear in an unquoted value.
func isBareValueChar(c byte) bool {
	return c > 0x20 && c < 0x7f && c != ',' && c != '"' && c != '\\'
}
