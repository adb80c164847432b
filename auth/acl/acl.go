// Package acl decides what an account may do to which repositories, from
// rules that match accounts and repository name patterns. *ACL is the
// policy of the registry's own token service (auth/token's Policy).
//
// # Rules
//
// A Rule grants Actions on the repositories matching Name to the callers
// its Account selects:
//
//	alice          the account named alice
//	group:admins   every account in the group "admins" (see New's groups)
//	*              every authenticated account
//	${account}     every authenticated account (as *; reads well with a
//	               Name holding ${account})
//	anonymous      every caller, authenticated or not: what anonymous
//	               callers may do, any account may do too
//
// Name is a glob over repository names, which are '/'-separated paths.
// A "*" matches any run of characters within one path segment: team/*
// matches team/app but not team/a/b, and app-* matches app-web. A "**"
// segment matches one or more whole segments: library/** matches library/x
// and library/x/y but not library itself, and ** alone matches every name.
// "${account}" is the caller's account, compared as text.
//
// Every other character matches itself. The repository name and the account
// are never read as patterns, so a '*' in either cannot widen a match; an
// account holding '/' matches no ${account} rule.
//
// Actions are pull, push and delete; * stands for all three.
//
// # Decisions
//
// Allowed grants the union of the actions of every rule that matches the
// caller and the repository. With no matching rule nothing is granted.
// registry:catalog:* (listing every repository name, whatever the caller
// may pull) is granted to every authenticated account unless WithCatalog
// says otherwise; no rule grants it.
package acl

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/berthhq/berth/auth"
)

// Special accounts of a Rule.
const (
	AccountAnyone    = "*"
	AccountSelf      = accountVar
	AccountAnonymous = "anonymous"
	// GroupPrefix starts an Account naming a group: "group:admins".
	GroupPrefix = "group:"
)

// actions are the repository actions a rule may grant, in the order
// Allowed returns them.
var actions = []string{auth.ActionPull, auth.ActionPush, auth.ActionDelete}

// Rule grants Actions on the repositories matching Name to the callers
// Account selects. See the package comment for the syntax.
type Rule struct {
	Account string
	Name    string
	Actions []string
}

// Catalog says who may list the repositories (registry:catalog:*).
type Catalog string

// Catalog policies.
const (
	CatalogAuthenticated Catalog = "authenticated" // every authenticated account (the default)
	CatalogAnyone        Catalog = "anyone"        // anonymous callers too
	CatalogNone          Catalog = "none"          // nobody
)

// ACL is a validated set of rules. It is immutable and safe for concurrent
// use.
type ACL struct {
	rules   []rule
	groups  map[string][]string
	catalog Catalog
}

// rule is a Rule compiled.
type rule struct {
	account string // a name, AccountAnyone (also for ${account}), AccountAnonymous or GroupPrefix+group
	name    *pattern
	grant   []string // a subset of actions
}

// Option configures an ACL.
type Option func(*ACL)

// WithCatalog sets who may list the repositories; CatalogAuthenticated
// when not given or "".
func WithCatalog(c Catalog) Option {
	return func(a *ACL) { a.catalog = c }
}

// New validates and compiles rules. groups maps a group name to the
// accounts in it; a rule's Account "group:NAME" must name one of them.
// The error joins one error per problem, each on its own line, naming the
// rule by its index ("acl: rule[2].name: ..."), the group, or the catalog
// policy.
func New(rules []Rule, groups map[string][]string, opts ...Option) (*ACL, error) {
	a := &ACL{groups: make(map[string][]string, len(groups)), catalog: CatalogAuthenticated}
	for _, o := range opts {
		o(a)
	}
	var errs []error
	switch a.catalog {
	case "":
		a.catalog = CatalogAuthenticated
	case CatalogAuthenticated, CatalogAnyone, CatalogNone:
	default:
		errs = append(errs, fmt.Errorf("catalog: %q is not one of %s, %s, %s", a.catalog, CatalogAuthenticated, CatalogAnyone, CatalogNone))
	}
	for _, g := range sortedKeys(groups) {
		if err := checkName(g); err != nil {
			errs = append(errs, fmt.Errorf("groups: group %w", err))
		}
		for _, m := range groups[g] {
			if err := checkName(m); err != nil {
				errs = append(errs, fmt.Errorf("groups.%s: member %w", g, err))
			}
		}
		a.groups[g] = slices.Clone(groups[g])
	}
	for i, r := range rules {
		cr, rerrs := a.compile(r)
		for _, err := range rerrs {
			errs = append(errs, fmt.Errorf("rule[%d].%w", i, err))
		}
		if len(rerrs) == 0 {
			a.rules = append(a.rules, cr)
		}
	}
	for i, err := range errs {
		errs[i] = fmt.Errorf("acl: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return a, nil
}

// compile checks one rule. Errors start with the field: "name: ...".
func (a *ACL) compile(r Rule) (rule, []error) {
	var errs []error
	cr := rule{account: r.Account}
	switch {
	case r.Account == "":
		errs = append(errs, errors.New("account: empty; use a name, *, anonymous, ${account} or group:NAME"))
	case r.Account == AccountAnyone, r.Account == AccountAnonymous:
	case r.Account == AccountSelf:
		cr.account = AccountAnyone
	case strings.HasPrefix(r.Account, GroupPrefix):
		g := strings.TrimPrefix(r.Account, GroupPrefix)
		if _, ok := a.groups[g]; !ok {
			errs = append(errs, fmt.Errorf("account: group %q is not defined in groups", g))
		}
	default:
		if err := checkName(r.Account); err != nil {
			errs = append(errs, fmt.Errorf("account: %w; use a name, *, anonymous, ${account} or group:NAME", err))
		}
	}
	p, err := compile(r.Name)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("name: %w", err))
	case p.usesAccount && r.Account == AccountAnonymous:
		errs = append(errs, fmt.Errorf("name: %q holds %s, which anonymous callers do not have", r.Name, accountVar))
	}
	cr.name = p
	if len(r.Actions) == 0 {
		errs = append(errs, errors.New("actions: empty; use pull, push, delete or *"))
	}
	for _, act := range r.Actions {
		switch {
		case act == auth.ActionAll:
			cr.grant = actions
		case slices.Contains(actions, act):
			if !slices.Contains(cr.grant, act) {
				cr.grant = append(cr.grant, act)
			}
		default:
			errs = append(errs, fmt.Errorf("actions: %q is not one of pull, push, delete, *", act))
		}
	}
	return cr, errs
}

// Allowed returns the actions of a that account may perform: a subset of
// a.Actions, empty when none. account "" is an anonymous caller. For a
// repository, a requested "*" stands for pull, push and delete, and the
// result lists those it grants (never "*"). For registry:catalog:* the
// result is ["*"] when the catalog may be listed. Any other resource type,
// and unknown actions, are never granted.
func (a *ACL) Allowed(account string, acc auth.Access) []string {
	switch acc.Type {
	case auth.TypeRegistry:
		if acc.Name == auth.CatalogName && slices.Contains(acc.Actions, auth.ActionAll) && a.catalogAllowed(account) {
			return []string{auth.ActionAll}
		}
		return nil
	case auth.TypeRepository:
	default:
		return nil
	}
	var granted []string
	for _, r := range a.rules {
		if len(granted) == len(actions) {
			break
		}
		if !a.selects(r, account) || r.name.usesAccount && account == "" || !r.name.match(acc.Name, account) {
			continue
		}
		for _, act := range r.grant {
			if !slices.Contains(granted, act) {
				granted = append(granted, act)
			}
		}
	}
	var out []string
	for _, act := range actions {
		if slices.Contains(granted, act) && (slices.Contains(acc.Actions, act) || slices.Contains(acc.Actions, auth.ActionAll)) {
			out = append(out, act)
		}
	}
	return out
}

// selects reports whether r's account covers the caller.
func (a *ACL) selects(r rule, account string) bool {
	switch {
	case r.account == AccountAnonymous:
		return true
	case account == "":
		return false
	case r.account == AccountAnyone:
		return true
	case strings.HasPrefix(r.account, GroupPrefix):
		return slices.Contains(a.groups[strings.TrimPrefix(r.account, GroupPrefix)], account)
	}
	return r.account == account
}

func (a *ACL) catalogAllowed(account string) bool {
	switch a.catalog {
	case CatalogAnyone:
		return true
	case CatalogAuthenticated:
		return account != ""
	}
	return false
}

// checkName checks an account or group name: not empty, and free of
// whitespace, control characters and the characters rules use as syntax
// (':', '*', '$', '{', '}') or that would reach into repository paths ('/');
// not "anonymous". These are the names auth/htpasswd accepts.
func checkName(name string) error {
	if name == "" {
		return errors.New("name is empty")
	}
	if strings.EqualFold(name, AccountAnonymous) {
		return fmt.Errorf("%q is reserved", name)
	}
	for _, c := range name {
		if unicode.IsSpace(c) || unicode.IsControl(c) || strings.ContainsRune(":/*${}", c) {
			return fmt.Errorf("%q holds %q", name, c)
		}
	}
	return nil
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
