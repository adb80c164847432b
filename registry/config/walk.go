package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// kind says how a key of the schema is treated.
type kind int

const (
	section  kind = iota // a mapping with a fixed set of keys
	leaf                 // a single value, parsed from its text
	mapping              // a mapping with free-form keys, decoded whole
	sequence             // a list, decoded whole
	ignored              // known to registry:2, ignored here: a warning
	rejected             // known to registry:2, cannot be honoured: an error
)

// node is one key of the schema: what the file may contain below it and
// where its values go.
type node struct {
	kind kind
	// note explains an ignored or rejected key to the user.
	note string
	// keys are a section's children.
	keys map[string]*node
	// choices are the children a section may name as a plain value
	// ("storage: inmemory", REGISTRY_STORAGE=inmemory).
	choices []string
	// driver marks a storage driver section.
	driver Driver
	// enter, when set, is called when the file or the environment
	// configures the section, even empty ("auth: token").
	enter func()
	// fileOnly marks a leaf that no environment variable sets.
	fileOnly bool
	// parse sets a leaf from its text. name is the key path or the
	// environment variable, and starts any error returned.
	parse func(name, value string) error
	// decode sets a mapping or sequence from its node; errors start with
	// name.
	decode func(name string, n *yaml.Node) error
}

// loader accumulates the configuration, warnings and errors of one Load.
type loader struct {
	cfg      *Config
	warnings []string
	errs     []error
	// drivers lists the storage driver sections in the file, in order.
	drivers []Driver
	// levelSet records that log.level was given; legacyLevel holds the
	// deprecated top-level loglevel, used only when it was not.
	levelSet    bool
	legacyLevel string
	versionSet  bool
	// token holds "auth.token" while it is read; it becomes
	// cfg.Auth.Token when the section is configured. aclSet records that
	// auth.token.acl was given.
	token  *Token
	aclSet bool
	// redirectSet records that storage.redirect.disable was given.
	redirectSet bool
}

// newLoader returns a loader starting from the base configuration.
func newLoader() *loader { return &loader{cfg: base(), token: newToken()} }

func (l *loader) warnf(format string, args ...any) {
	l.warnings = append(l.warnings, fmt.Sprintf(format, args...))
}

func (l *loader) errorf(format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf(format, args...))
}

func (l *loader) err() error { return errors.Join(l.errs...) }

// null returns a node standing for an empty value ("inmemory:").
func null() *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"} }

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// walk checks the file node n against schema s at key path, whose key is on
// line line, and stores what it finds.
func (l *loader) walk(s *node, n *yaml.Node, path string, line int) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch s.kind {
	case ignored:
		l.warnf("%s: ignored: %s", path, s.note)
	case rejected:
		l.errorf("%s: %s (line %d)", path, s.note, line)
	case leaf:
		if n.Kind != yaml.ScalarNode {
			l.errorf("%s: must be a single value (line %d)", path, n.Line)
			return
		}
		value := n.Value
		if isNull(n) {
			value = ""
		}
		if err := s.parse(path, value); err != nil {
			l.errs = append(l.errs, fmt.Errorf("%w (line %d)", err, n.Line))
		}
	case mapping:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			l.errorf("%s: must be a mapping of keys to values (line %d)", path, n.Line)
			return
		}
		if err := s.decode(path, n); err != nil {
			l.errs = append(l.errs, err)
		}
	case sequence:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			l.errorf("%s: must be a list (line %d)", path, n.Line)
			return
		}
		if err := s.decode(path, n); err != nil {
			l.errs = append(l.errs, err)
		}
	case section:
		l.walkSection(s, n, path)
	}
}

// walkSection walks the keys of a section node.
func (l *loader) walkSection(s *node, n *yaml.Node, path string) {
	if s.driver != "" {
		l.drivers = append(l.drivers, s.driver)
	}
	if s.enter != nil {
		s.enter()
	}
	switch {
	case isNull(n):
		return
	case n.Kind == yaml.ScalarNode && s.choices != nil:
		if child := s.keys[n.Value]; child != nil && slices.Contains(s.choices, n.Value) {
			l.walk(child, null(), join(path, n.Value), n.Line)
			return
		}
		l.errorf("%s: %q is not one of %s (line %d)", path, n.Value, strings.Join(s.choices, ", "), n.Line)
		return
	case n.Kind != yaml.MappingNode:
		l.errorf("%s: must be a mapping of keys to values (line %d)", path, n.Line)
		return
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := join(path, k.Value)
		if line, dup := seen[k.Value]; dup {
			l.errorf("%s: repeated key (line %d; first on line %d)", name, k.Line, line)
			continue
		}
		seen[k.Value] = k.Line
		child := s.keys[k.Value]
		if child == nil {
			l.errorf("%s: unknown key (line %d)%s", name, k.Line, suggest(k.Value, s.keys))
			continue
		}
		l.walk(child, v, name, k.Line)
	}
}

// suggest returns "; did you mean X?" for the known key closest to key, or
// "" when none is close.
func suggest(key string, keys map[string]*node) string {
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	slices.Sort(names)
	best, bestDist := "", 3
	for _, k := range names {
		d := distance(strings.ToLower(key), k)
		if len(key) >= 4 && (strings.HasPrefix(k, strings.ToLower(key)) || strings.HasPrefix(strings.ToLower(key), k)) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// finishFile settles what the file alone decides: the storage driver.
func (l *loader) finishFile() {
	switch len(l.drivers) {
	case 0:
	case 1:
		l.cfg.Storage.Driver = l.drivers[0]
	default:
		names := make([]string, len(l.drivers))
		for i, d := range l.drivers {
			names[i] = string(d)
		}
		l.errorf("storage: exactly one driver must be configured, found %s", strings.Join(names, ", "))
	}
	if !l.versionSet {
		l.errorf("version: required; registry configuration files start with version: 0.1")
	}
}

// finish applies what depends on both file and environment.
func (l *loader) finish() {
	if !l.levelSet && l.legacyLevel != "" {
		l.cfg.Log.Level = l.legacyLevel
	}
	l.finishRedirect()
	l.finishAuth()
}

// finishRedirect explains storage.redirect where it differs from
// registry:2: only s3 storage redirects, and only with storage.s3.redirect.
func (l *loader) finishRedirect() {
	s := &l.cfg.Storage
	switch {
	case !l.redirectSet:
	case s.Driver != DriverS3:
		l.warnf("storage.redirect: ignored: only s3 storage redirects; Berth serves %s blobs itself", s.Driver)
	case !s.Redirect.Disable && !s.S3.Redirect:
		l.warnf("storage.redirect.disable: false does not turn redirects on: Berth streams blobs unless storage.s3.redirect is true")
	}
}
