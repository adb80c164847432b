package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"gopkg.in/yaml.v3"
)

// config is ctl's own configuration file, YAML, read from --config, else
// the first of $XDG_CONFIG_HOME/ctl/config.yaml (~/.config/ctl/config.yaml)
// and <root>/config.yaml that exists; with none, everything is default.
// Unknown keys are refused. Docker's credentials are not here: they stay
// in docker's config.json ($DOCKER_CONFIG or ~/.docker).
//
//	# Registries pull tries first for images of a registry, in order; the
//	# registry itself is tried last. docker.io covers Docker Hub's names.
//	mirrors:
//	  docker.io: [mirror.internal:5000]
//	# Per-registry settings. insecure: plain HTTP, or HTTPS without
//	# certificate checks, as docker's insecure-registries.
//	registries:
//	  mirror.internal:5000:
//	    insecure: true
type config struct {
	Mirrors    map[string][]string       `yaml:"mirrors"`
	Registries map[string]registryConfig `yaml:"registries"`
}

// registryConfig is what the config says about one registry.
type registryConfig struct {
	Insecure bool `yaml:"insecure"`
}

// loadConfig reads the config at path; a missing file is an error only
// when required. Hosts are checked and Docker Hub's aliases folded into
// docker.io.
func loadConfig(path string, required bool) (*config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return &config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var c config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.normalize(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

// normalize checks every host and keys the maps by canonical host.
func (c *config) normalize() error {
	mirrors := map[string][]string{}
	for host, list := range c.Mirrors {
		h, err := canonicalHost(host)
		if err != nil {
			return fmt.Errorf("mirrors: %w", err)
		}
		for i, m := range list {
			mh, err := canonicalHost(m)
			if err != nil {
				return fmt.Errorf("mirrors.%s[%d]: %w", host, i, err)
			}
			mirrors[h] = append(mirrors[h], mh)
		}
	}
	regs := map[string]registryConfig{}
	for host, rc := range c.Registries {
		h, err := canonicalHost(host)
		if err != nil {
			return fmt.Errorf("registries: %w", err)
		}
		regs[h] = rc
	}
	c.Mirrors, c.Registries = mirrors, regs
	return nil
}

// canonicalHost checks that s is a registry host[:port] and returns it,
// with Docker Hub's names as docker.io. A scheme and a /v1/ or /v2/ path
// are tolerated, as docker login takes "https://host:5000/v1/".
func canonicalHost(s string) (string, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	h = strings.TrimSuffix(h, "/")
	h = strings.TrimSuffix(strings.TrimSuffix(h, "/v1"), "/v2")
	switch h {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return "docker.io", nil
	}
	named, err := reference.ParseNamed(h + "/x")
	if err != nil || reference.Domain(named) != h {
		return "", fmt.Errorf("invalid registry host %q: want host[:port]", s)
	}
	return h, nil
}

// defaultRoot is the local store's directory when --root and CTL_ROOT are
// unset: /var/lib/ctl for root, else $XDG_DATA_HOME/ctl, else
// ~/.local/share/ctl.
func defaultRoot(getenv func(string) string, home string, euid int) (string, error) {
	if euid == 0 {
		return "/var/lib/ctl", nil
	}
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "ctl"), nil
	}
	if home == "" {
		return "", errors.New("no local store directory: set --root or CTL_ROOT")
	}
	return filepath.Join(home, ".local", "share", "ctl"), nil
}

// rootDir returns the local store's directory: --root, else CTL_ROOT,
// else defaultRoot.
func (a *app) rootDir() (string, error) {
	if a.root != "" {
		return a.root, nil
	}
	if d := a.getenv("CTL_ROOT"); d != "" {
		return d, nil
	}
	return defaultRoot(a.getenv, a.home, os.Geteuid())
}

// loadConfig reads ctl's config file (see config).
func (a *app) loadConfig() (*config, error) {
	if a.configPath != "" {
		return loadConfig(a.configPath, true)
	}
	var candidates []string
	if d := a.getenv("XDG_CONFIG_HOME"); d != "" {
		candidates = append(candidates, filepath.Join(d, "ctl", "config.yaml"))
	} else if a.home != "" {
		candidates = append(candidates, filepath.Join(a.home, ".config", "ctl", "config.yaml"))
	}
	if root, err := a.rootDir(); err == nil {
		candidates = append(candidates, filepath.Join(root, "config.yaml"))
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return loadConfig(p, true)
		}
	}
	return &config{}, nil
}
