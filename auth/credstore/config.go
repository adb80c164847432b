package credstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// maxConfigSize bounds how much of config.json is read.
const maxConfigSize = 16 << 20

// configFile is config.json as read: its top-level fields in file order,
// kept verbatim except "auths", which is decoded so entries can change.
type configFile struct {
	path   string
	info   fs.FileInfo // the file replaced on save; nil when there was none
	order  []string    // top-level keys in file order
	fields map[string]json.RawMessage
	auths  map[string]entry
}

// entry is one value of "auths": docker's fields (auth, identitytoken,
// registrytoken, email, ...) kept verbatim.
type entry map[string]json.RawMessage

// loadConfig reads the config.json at path. A missing or empty file is an
// empty configuration; anything unusable is an error matching
// ErrInvalidConfig that names the file.
func loadConfig(path string) (*configFile, error) {
	cfg := &configFile{path: path, fields: map[string]json.RawMessage{}, auths: map[string]entry{}}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("credstore: %w", err)
	}
	defer f.Close()
	if cfg.info, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("credstore: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("credstore: %s: %w", path, err)
	}
	if len(data) > maxConfigSize {
		return nil, cfg.invalid("larger than %d bytes", maxConfigSize)
	}
	if err := cfg.parse(data); err != nil {
		return nil, err
	}
	return cfg, nil
}

// invalid returns an error matching ErrInvalidConfig naming the file.
func (c *configFile) invalid(format string, args ...any) error {
	return fmt.Errorf("credstore: %s: %w: %s", c.path, ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// parse fills c from the file's bytes, keeping the order of top-level keys
// (a repeated key keeps its first place and its last value, as
// encoding/json does).
func (c *configFile) parse(data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 || string(bytes.TrimSpace(data)) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return c.invalid("not a JSON object (%s)", describe(err, "it does not start with {"))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return c.invalid("%v", err)
		}
		key := tok.(string) // object keys are always strings
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return c.invalid("field %q: %v", key, err)
		}
		if _, seen := c.fields[key]; !seen {
			c.order = append(c.order, key)
		}
		c.fields[key] = value
	}
	if _, err := dec.Token(); err != nil {
		return c.invalid("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return c.invalid("data after the JSON object")
	}
	if raw, ok := c.fields["auths"]; ok {
		if err := json.Unmarshal(raw, &c.auths); err != nil {
			return c.invalid(`"auths" is not an object of objects: %v`, err)
		}
		if c.auths == nil { // "auths": null
			c.auths = map[string]entry{}
		}
	}
	return nil
}

// describe is err's message, or fallback when err is nil.
func describe(err error, fallback string) string {
	if err != nil {
		return err.Error()
	}
	return fallback
}

// helperFor returns the name of the credential helper for key: the one
// "credHelpers" names for it (under key or any older form of it), else
// "credsStore". "" means the file itself.
func (c *configFile) helperFor(key string) (string, error) {
	var store string
	var helpers map[string]string
	if raw, ok := c.fields["credsStore"]; ok {
		if err := json.Unmarshal(raw, &store); err != nil {
			return "", c.invalid(`"credsStore" is not a string`)
		}
	}
	if raw, ok := c.fields["credHelpers"]; ok {
		if err := json.Unmarshal(raw, &helpers); err != nil {
			return "", c.invalid(`"credHelpers" is not an object of strings`)
		}
	}
	name, found := helpers[key]
	if !found {
		for _, k := range sortedKeys(helpers) {
			if sameRegistry(k, key) {
				name, found = helpers[k], true
				break
			}
		}
	}
	if !found {
		name = store
	}
	if strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", c.invalid("credential helper name %q for %s", name, key)
	}
	return name, nil
}

// lookupExact returns the "auths" entry stored under key, or nil.
func (c *configFile) lookupExact(key string) entry {
	return c.auths[key]
}

// lookup returns the entry for key and the key it is under: key itself or
// else an older form of it (the first in sorted order). It returns "" and
// nil when there is none.
func (c *configFile) lookup(key string) (string, entry) {
	if e, ok := c.auths[key]; ok {
		return key, e
	}
	for _, k := range sortedKeys(c.auths) {
		if sameRegistry(k, key) {
			return k, c.auths[k]
		}
	}
	return "", nil
}

// matchingKeys returns every "auths" key that names the registry of key.
func (c *configFile) matchingKeys(key string) []string {
	var keys []string
	for _, k := range sortedKeys(c.auths) {
		if k == key || sameRegistry(k, key) {
			keys = append(keys, k)
		}
	}
	return keys
}

// credential decodes e, found under "auths" at key.
func (c *configFile) credential(key string, e entry) (Credential, error) {
	var cred Credential
	var auth string
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"auth", &auth},
		{"username", &cred.Username}, // written in clear by old clients
		{"password", &cred.Password},
		{"identitytoken", &cred.IdentityToken},
		{"registrytoken", &cred.RegistryToken},
	} {
		v, err := e.str(f.name)
		if err != nil {
			return Credential{}, c.invalid("auths[%q]: %v", key, err)
		}
		*f.dst = v
	}
	if auth != "" {
		user, password, err := decodeAuth(auth)
		if err != nil {
			return Credential{}, c.invalid("auths[%q]: field \"auth\": %v", key, err)
		}
		cred.Username, cred.Password = user, password
	}
	return cred, nil
}

// setEntry stores e under key, creating "auths" when there is none.
func (c *configFile) setEntry(key string, e entry) {
	c.auths[key] = e
	if _, ok := c.fields["auths"]; !ok {
		c.order = append([]string{"auths"}, c.order...) // docker writes it first
		c.fields["auths"] = nil
	}
}

// deleteEntries removes keys from "auths".
func (c *configFile) deleteEntries(keys []string) {
	for _, k := range keys {
		delete(c.auths, k)
	}
}

// encode returns the file's new contents, tab-indented like docker's.
func (c *configFile) encode() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, key := range c.order {
		value := c.fields[key]
		if key == "auths" {
			var err error
			if value, err = json.Marshal(c.auths); err != nil {
				return nil, fmt.Errorf("credstore: %w", err)
			}
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		name, _ := json.Marshal(key)
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(value)
	}
	buf.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "\t"); err != nil {
		return nil, fmt.Errorf("credstore: %w", err)
	}
	return out.Bytes(), nil
}

// save writes c back to its file (see writeFile).
func (c *configFile) save() error {
	data, err := c.encode()
	if err != nil {
		return err
	}
	return writeFile(c.path, data, c.info)
}

// str returns the string field name of e ("" when absent or null).
func (e entry) str(name string) (string, error) {
	raw, ok := e[name]
	if !ok {
		return "", nil
	}
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("field %q is not a string", name)
	}
	if s == nil {
		return "", nil
	}
	return *s, nil
}

// with returns a copy of e holding cred the way docker writes it: "auth"
// as base64 of user:password, "identitytoken", "registrytoken". Fields
// docker writes in clear for older clients are dropped; others (such as
// "email") are kept.
func (e entry) with(cred Credential) entry {
	out := entry{}
	for k, v := range e {
		switch k {
		case "auth", "identitytoken", "registrytoken", "username", "password", "serveraddress":
		default:
			out[k] = v
		}
	}
	set := func(name, value string) {
		if value != "" {
			out[name], _ = json.Marshal(value)
		}
	}
	if cred.Username != "" || cred.Password != "" {
		set("auth", encodeAuth(cred.Username, cred.Password))
	}
	set("identitytoken", cred.IdentityToken)
	set("registrytoken", cred.RegistryToken)
	return out
}

// sortedKeys returns m's keys in order, for deterministic lookups.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
