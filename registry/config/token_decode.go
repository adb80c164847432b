package config

import (
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// groups decodes "auth.token.groups": group name -> list of accounts.
func groups(dst *map[string][]string) func(name string, n *yaml.Node) error {
	return func(name string, n *yaml.Node) error {
		m := make(map[string][]string)
		var errs []error
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], deref(n.Content[i+1])
			key := join(name, k.Value)
			if err := checkAccount(k.Value); err != nil {
				errs = append(errs, fmt.Errorf("%s: group name %w (line %d)", name, err, k.Line))
				continue
			}
			if _, dup := m[k.Value]; dup {
				errs = append(errs, fmt.Errorf("%s: repeated group (line %d)", key, k.Line))
				continue
			}
			members, err := scalars(key, v, "accounts, such as [alice, bob]")
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, a := range members {
				if err := checkAccount(a); err != nil {
					errs = append(errs, fmt.Errorf("%s: account %w (line %d)", key, err, v.Line))
				}
			}
			m[k.Value] = members
		}
		*dst = m
		return errors.Join(errs...)
	}
}

// scalars decodes a list of single values; what describes the list in the
// error.
func scalars(key string, n *yaml.Node, what string) ([]string, error) {
	if isNull(n) {
		return []string{}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: must be a list of %s (line %d)", key, what, n.Line)
	}
	out := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		item = deref(item)
		if item.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: must be a list of %s (line %d)", key, what, item.Line)
		}
		out = append(out, item.Value)
	}
	return out, nil
}

// aclRules decodes "auth.token.acl": a list of mappings with the keys
// account, name and actions.
func aclRules(dst *[]ACLRule) func(name string, n *yaml.Node) error {
	return func(name string, n *yaml.Node) error {
		rules := make([]ACLRule, 0, len(n.Content))
		var errs []error
		for i, item := range n.Content {
			r, rerrs := aclRule(fmt.Sprintf("%s[%d]", name, i), deref(item))
			errs = append(errs, rerrs...)
			rules = append(rules, r)
		}
		*dst = rules
		return errors.Join(errs...)
	}
}

// ruleKeys are the keys of an ACL rule, for suggestions.
var ruleKeys = map[string]*node{"account": nil, "name": nil, "actions": nil}

// aclRule decodes one ACL rule at key path key.
func aclRule(key string, n *yaml.Node) (ACLRule, []error) {
	var r ACLRule
	if n.Kind != yaml.MappingNode {
		return r, []error{fmt.Errorf("%s: must be a mapping such as {account: alice, name: \"alice/*\", actions: [pull, push]} (line %d)", key, n.Line)}
	}
	var errs []error
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		field := join(key, k.Value)
		if line, dup := seen[k.Value]; dup {
			errs = append(errs, fmt.Errorf("%s: repeated key (line %d; first on line %d)", field, k.Line, line))
			continue
		}
		seen[k.Value] = k.Line
		var err error
		switch k.Value {
		case "account", "name":
			if v.Kind != yaml.ScalarNode || isNull(v) {
				err = fmt.Errorf("%s: must be a single value (line %d)", field, v.Line)
			} else if k.Value == "account" {
				r.Account = v.Value
			} else {
				r.Name = v.Value
			}
		case "actions":
			r.Actions, err = scalars(field, v, "actions, such as [pull, push]")
		default:
			err = fmt.Errorf("%s: unknown key (line %d)%s", field, k.Line, suggest(k.Value, ruleKeys))
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		for _, err := range checkRule(r) {
			errs = append(errs, fmt.Errorf("%s.%w (line %d)", key, err, n.Line))
		}
	}
	return r, errs
}
