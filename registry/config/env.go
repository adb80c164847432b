package config

import (
	"maps"
	"slices"
	"strings"
)

// envPrefix starts every variable that overrides the configuration.
const envPrefix = "REGISTRY_"

// envStorage selects the storage driver; it is applied before the others so
// that a driver's parameters land on the driver it selects.
const envStorage = envPrefix + "STORAGE"

// applyEnv applies the REGISTRY_* entries of env ("NAME=value") over the
// file, as registry:2 does: REGISTRY_A_B names key a.b. Only keys of the
// schema are set; registry:2 variables Berth ignores and unknown REGISTRY_*
// variables (such as Kubernetes' REGISTRY_PORT) are warnings. A variable
// listed twice takes its last value.
func (l *loader) applyEnv(root *node, env []string) {
	vars := make(map[string]string)
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(name, envPrefix) {
			vars[name] = value
		}
	}
	if v, ok := vars[envStorage]; ok {
		l.envVar(root, envStorage, v)
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if name != envStorage {
			l.envVar(root, name, vars[name])
		}
	}
}

// envVar applies one variable: it walks the schema along the
// underscore-separated parts of its name (registry:2 keys hold no "_").
func (l *loader) envVar(root *node, name, value string) {
	s, path := root, ""
	// entered are the sections on the way that want to know when a
	// variable configures them.
	var entered []*node
	parts := strings.Split(strings.ToLower(strings.TrimPrefix(name, envPrefix)), "_")
	for i, part := range parts {
		child := s.keys[part]
		if s.kind != section || child == nil {
			l.warnf("%s: not a registry configuration variable; ignored", name)
			return
		}
		path = join(path, part)
		if child.driver != "" && !l.envDriver(name, child.driver) {
			return
		}
		if child.enter != nil {
			entered = append(entered, child)
		}
		switch child.kind {
		case ignored:
			l.warnf("%s: ignored (%s): %s", name, path, child.note)
			return
		case rejected:
			l.errorf("%s: %s", name, child.note)
			return
		case mapping, sequence:
			l.warnf("%s: %s cannot be set from the environment; set it in the configuration file", name, path)
			return
		case leaf:
			if i != len(parts)-1 {
				l.warnf("%s: not a registry configuration variable; ignored", name)
			} else if child.fileOnly {
				l.warnf("%s: %s is set in the configuration file only; ignored", name, path)
			} else if err := child.parse(name, value); err != nil {
				l.errs = append(l.errs, err)
			} else {
				for _, e := range entered {
					e.enter()
				}
			}
			return
		}
		s = child
	}
	switch {
	case s.driver != "":
		// REGISTRY_STORAGE_INMEMORY: selected above.
	case s.choices != nil:
		l.envChoice(s, name, strings.ToLower(value))
	default:
		l.warnf("%s: %s is a section, not a value; ignored", name, path)
	}
}

// envChoice applies a variable naming a section's child, such as
// REGISTRY_STORAGE=inmemory, which replaces the driver the file chose, or
// REGISTRY_AUTH=token, which turns token authentication on.
func (l *loader) envChoice(s *node, name, value string) {
	child := s.keys[value]
	if child == nil || !slices.Contains(s.choices, value) {
		l.errorf("%s: %q is not one of %s", name, value, strings.Join(s.choices, ", "))
		return
	}
	switch {
	case child.kind == rejected:
		l.errorf("%s: %s", name, child.note)
	case child.driver != "":
		l.cfg.Storage.Driver = child.driver
	case child.enter != nil:
		child.enter()
	}
}

// envDriver selects driver d for a variable that sets one of its
// parameters, unless another driver is already in use. It reports whether
// the variable may be applied.
func (l *loader) envDriver(name string, d Driver) bool {
	switch cur := l.cfg.Storage.Driver; cur {
	case "":
		l.cfg.Storage.Driver = d
	case d:
	default:
		l.errorf("%s: configures the %s driver but storage uses %s; set %s=%s to switch", name, d, cur, envStorage, d)
		return false
	}
	return true
}
