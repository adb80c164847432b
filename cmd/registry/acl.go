package main

import (
	"errors"
	"fmt"

	"github.com/berthhq/berth/auth/acl"
	"github.com/berthhq/berth/registry/config"
)

// newACL compiles the access rules of a self-issuing auth.token section:
// registry/config checks their syntax only. Each error line starts with
// "auth.token: acl: " and names the rule by its index in auth.token.acl.
func newACL(t *config.Token) (*acl.ACL, error) {
	rules := make([]acl.Rule, len(t.ACL))
	for i, r := range t.ACL {
		rules[i] = acl.Rule{Account: r.Account, Name: r.Name, Actions: r.Actions}
	}
	a, err := acl.New(rules, t.Groups, acl.WithCatalog(acl.Catalog(t.Catalog)))
	if err != nil {
		var errs []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				errs = append(errs, fmt.Errorf("auth.token: %w", e))
			}
		} else {
			errs = append(errs, fmt.Errorf("auth.token: %w", err))
		}
		return nil, errors.Join(errs...)
	}
	return a, nil
}

// checkAuth checks what registry/config leaves to the packages that use
// the configuration: today the access rules.
func checkAuth(cfg *config.Config) error {
	if t := cfg.Auth.Token; t != nil && t.SelfIssued() {
		_, err := newACL(t)
		return err
	}
	return nil
}
