package config

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Leaf parsers: each returns the parse function of a schema leaf that
// checks the text and stores it in dst. Errors start with the key path or
// variable name.

func str(dst *string, check func(string) error) func(name, value string) error {
	return func(name, value string) error {
		if check != nil {
			if err := check(value); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		*dst = value
		return nil
	}
}

func enum(dst *string, allowed ...string) func(name, value string) error {
	return func(name, value string) error {
		value = strings.ToLower(value)
		if err := checkEnum(value, allowed...); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		*dst = value
		return nil
	}
}

func boolean(dst *bool) func(name, value string) error {
	return func(name, value string) error {
		b, err := parseBool(value)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		*dst = b
		return nil
	}
}

func duration(dst *time.Duration) func(name, value string) error {
	return func(name, value string) error {
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return fmt.Errorf("%s: %q is not a duration such as 168h or 30s", name, value)
		}
		*dst = d
		return nil
	}
}

func integer(dst *int64, check func(int64) error) func(name, value string) error {
	return func(name, value string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not a whole number", name, value)
		}
		if check != nil {
			if err := check(n); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		*dst = n
		return nil
	}
}

func intValue(dst *int, check func(int64) error) func(name, value string) error {
	return func(name, value string) error {
		var n int64
		if err := integer(&n, check)(name, value); err != nil {
			return err
		}
		*dst = int(n)
		return nil
	}
}

// parseBool accepts YAML's spellings of true and false, including the YAML
// 1.1 yes/no/on/off that registry:2 (yaml.v2) accepted.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "y":
		return true, nil
	case "false", "no", "off", "n":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

// Value checks, shared by the leaf parsers and Validate.

func checkEnum(value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", value, strings.Join(allowed, ", "))
}

func checkVersion(v string) error {
	if v != "0.1" {
		return fmt.Errorf("%q is not supported; use 0.1", v)
	}
	return nil
}

func checkAddr(a string) error {
	if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
		return fmt.Errorf("%q is not host:port, such as :5000 or 127.0.0.1:5000", a)
	}
	return nil
}

func checkNet(n string) error {
	if n != "tcp" {
		return fmt.Errorf("%q is not supported; use tcp", n)
	}
	return nil
}

func checkHost(h string) error {
	u, err := url.Parse(h)
	if h == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL such as https://registry.example.com", h)
	}
	return nil
}

func checkMinTLS(v string) error {
	switch v {
	case "", "tls1.2", "tls1.3":
		return nil
	case "tls1.0", "tls1.1":
		return fmt.Errorf("%q is not supported; use tls1.2 or tls1.3", v)
	}
	return fmt.Errorf("%q is not one of tls1.2, tls1.3", v)
}

// checkEndpoint accepts an S3 endpoint: a URL or a bare host[:port] (the
// scheme then follows storage.s3.secure).
func checkEndpoint(e string) error {
	if e == "" {
		return nil
	}
	full := e
	if !strings.Contains(e, "://") {
		full = "https://" + e
	}
	u, err := url.Parse(full)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an endpoint URL such as https://s3.example.com or http://127.0.0.1:9000", e)
	}
	return nil
}

// checkChunkSize accepts the part sizes S3 allows.
func checkChunkSize(n int64) error {
	switch {
	case n == 0:
		return nil
	case n < MinS3ChunkSize:
		return fmt.Errorf("%d is less than 5 MiB (%d), the smallest part S3 accepts", n, MinS3ChunkSize)
	case n > MaxS3ChunkSize:
		return fmt.Errorf("%d is more than 5 GiB (%d), the largest part S3 accepts", n, int64(MaxS3ChunkSize))
	}
	return nil
}

func checkPartConcurrency(n int64) error {
	if n < 0 || n > 64 {
		return fmt.Errorf("%d is not between 1 and 64", n)
	}
	return nil
}

// checkStorageClass accepts the storage classes registry:2 accepts, and
// NONE (the bucket's default).
func checkStorageClass(c string) error {
	if c == "" {
		return nil
	}
	return checkEnum(c, s3StorageClasses...)
}

var s3StorageClasses = []string{"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
	"INTELLIGENT_TIERING", "GLACIER_IR", "OUTPOSTS", "NONE"}

func checkNotEmpty(v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	return nil
}

// checkHeaderName accepts an HTTP field name (an RFC 9110 token).
func checkHeaderName(k string) error {
	if k == "" {
		return errors.New("empty header name")
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return fmt.Errorf("%q is not a valid header name", k)
		}
	}
	return nil
}

// checkHeaderValue rejects control characters other than tab, which would
// split or corrupt the response.
func checkHeaderValue(v string) error {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return fmt.Errorf("%s contains a control character", strconv.Quote(v))
		}
	}
	return nil
}

func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// headers decodes "http.headers": header name -> list of values.
func headers(dst *http.Header) func(name string, n *yaml.Node) error {
	return func(name string, n *yaml.Node) error {
		h := make(http.Header)
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], deref(n.Content[i+1])
			key := join(name, k.Value)
			if err := checkHeaderName(k.Value); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w (line %d)", key, err, k.Line))
				continue
			}
			if v.Kind != yaml.SequenceNode {
				errs = append(errs, fmt.Errorf("%s: must be a list of values, such as [nosniff] (line %d)", key, v.Line))
				continue
			}
			canon := http.CanonicalHeaderKey(k.Value)
			for _, item := range v.Content {
				item = deref(item)
				if item.Kind != yaml.ScalarNode {
					errs = append(errs, fmt.Errorf("%s: values must be strings (line %d)", key, item.Line))
					continue
				}
				if err := checkHeaderValue(item.Value); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w (line %d)", key, err, item.Line))
					continue
				}
				h[canon] = append(h[canon], item.Value)
			}
		}
		*dst = h
		return errors.Join(errs...)
	}
}

// fields decodes "log.fields": attribute name -> single value.
func fields(dst *map[string]string) func(name string, n *yaml.Node) error {
	return func(name string, n *yaml.Node) error {
		m := make(map[string]string)
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], deref(n.Content[i+1])
			key := join(name, k.Value)
			switch {
			case k.Value == "":
				errs = append(errs, fmt.Errorf("%s: empty field name (line %d)", name, k.Line))
			case v.Kind != yaml.ScalarNode:
				errs = append(errs, fmt.Errorf("%s: must be a single value (line %d)", key, v.Line))
			default:
				m[k.Value] = v.Value
			}
		}
		*dst = m
		return errors.Join(errs...)
	}
}
