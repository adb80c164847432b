package acl

import (
	"errors"
	"fmt"
	"strings"
)

// accountVar is replaced by the caller's account in a rule's Name.
const accountVar = "${account}"

// pattern is a compiled repository name glob. A name is split at '/' into
// segments; each pattern segment matches one segment of the name, except
// "**", which matches one or more.
type pattern struct {
	segs []segment
	// usesAccount is true when the pattern holds ${account}.
	usesAccount bool
}

// segment is one '/'-separated part of a pattern: "**", or chunks of text
// with a '*' between each two, matching any run of characters except '/'.
type segment struct {
	doubleStar bool
	chunks     []chunk
}

// chunk is literal text in which ${account} stands for the account at
// match time: the text pieces with the account between each two.
type chunk []string

// expand returns the chunk's text with account in place of ${account}.
// The account is text to compare, never a pattern.
func (c chunk) expand(account string) string {
	return strings.Join(c, account)
}

// compile parses a Name glob.
func compile(glob string) (*pattern, error) {
	if glob == "" {
		return nil, errors.New("empty")
	}
	rest := strings.ReplaceAll(glob, accountVar, "")
	if i := strings.IndexAny(rest, "${}"); i >= 0 {
		return nil, fmt.Errorf("%q: %q is not allowed; the only variable is %s", glob, rest[i], accountVar)
	}
	p := &pattern{usesAccount: rest != glob}
	for _, s := range strings.Split(glob, "/") {
		switch {
		case s == "":
			return nil, fmt.Errorf("%q: empty path segment (a leading, trailing or doubled '/')", glob)
		case s == "**":
			p.segs = append(p.segs, segment{doubleStar: true})
			continue
		case strings.Contains(s, "**"):
			return nil, fmt.Errorf("%q: ** must be a whole path segment, as in team/**", glob)
		}
		var seg segment
		for _, c := range strings.Split(s, "*") {
			seg.chunks = append(seg.chunks, chunk(strings.Split(c, accountVar)))
		}
		p.segs = append(p.segs, seg)
	}
	return p, nil
}

// match reports whether the repository name matches the pattern with
// account in place of ${account}. Neither name nor account is read as a
// pattern: a '*' in them is a character like any other.
func (p *pattern) match(name, account string) bool {
	segs := strings.Split(name, "/")
	// ok[j] reports whether the pattern's segments from i on match segs[j:];
	// computed for i from the last pattern segment back to the first.
	ok := make([]bool, len(segs)+1)
	ok[len(segs)] = true
	for i := len(p.segs) - 1; i >= 0; i-- {
		next := make([]bool, len(segs)+1)
		ps := p.segs[i]
		for j := len(segs) - 1; j >= 0; j-- {
			if ps.doubleStar {
				// One segment, then either stop here or take more.
				next[j] = ok[j+1] || next[j+1]
			} else {
				next[j] = ok[j+1] && ps.matchOne(segs[j], account)
			}
		}
		ok = next
	}
	return ok[0]
}

// matchOne reports whether one name segment s matches the segment.
func (ps segment) matchOne(s, account string) bool {
	c := ps.chunks
	first := c[0].expand(account)
	if len(c) == 1 {
		return s == first
	}
	last := c[len(c)-1].expand(account)
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	// Between the first and last chunks each '*' takes the shortest run
	// that lets the next chunk follow: the earliest place it occurs.
	mid := s[len(first) : len(s)-len(last)]
	for _, ch := range c[1 : len(c)-1] {
		t := ch.expand(account)
		i := strings.Index(mid, t)
		if i < 0 {
			return false
		}
		mid = mid[i+len(t):]
	}
	return true
}
