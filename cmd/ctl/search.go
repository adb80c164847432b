package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"github.com/berthhq/berth/registry/client"

	"github.com/spf13/cobra"
)

// searchOptions are the flags of ctl search.
type searchOptions struct {
	registry string
	limit    int
	format   string
}

func newSearchCmd(a *app) *cobra.Command {
	var o searchOptions
	cmd := &cobra.Command{
		Use:   "search [OPTIONS] TERM",
		Short: "Search a registry's repositories",
		Long: "List the repositories of a registry whose names contain TERM (case-insensitive), from the\n" +
			"registry's catalog. The registry is --registry, else the host TERM starts with\n" +
			"(\"localhost:5000/team\"). --format takes a Go template over .Name.",
		Args: args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.search(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.registry, "registry", "", "registry to search (host[:port])")
	f.IntVar(&o.limit, "limit", 25, "show at most this many results")
	f.StringVar(&o.format, "format", "", "format output using a Go template, or \"table TEMPLATE\"")
	return cmd
}

// search lists the catalog repositories of a registry matching term.
func (a *app) search(ctx context.Context, term string, o searchOptions) error {
	if o.limit < 1 {
		return fmt.Errorf("--limit must be at least 1, not %d", o.limit)
	}
	host, term, err := searchTarget(o.registry, term)
	if err != nil {
		return err
	}
	tmpl, table, err := searchTemplate(o.format)
	if err != nil {
		return err
	}
	regs, err := a.registries()
	if err != nil {
		return err
	}
	c, err := regs.client(ctx, host)
	if err != nil {
		return err
	}
	repos, err := c.Catalog(ctx, 0)
	if errors.Is(err, client.ErrUnauthorized) || errors.Is(err, client.ErrDenied) {
		return fmt.Errorf("search %s: listing repositories denied, may require 'ctl login %s': %w", host, host, registryError(err))
	}
	if err != nil {
		return fmt.Errorf("search %s: %w", host, err)
	}
	var rows []imageRow
	for _, r := range repos {
		if len(rows) == o.limit {
			break
		}
		if strings.Contains(strings.ToLower(r), strings.ToLower(term)) {
			rows = append(rows, imageRow{"Name": host + "/" + r})
		}
	}
	return writeRows(a.out, tmpl, table, rows)
}

// searchTarget picks the registry to search and the term to look for:
// registry when set, else the host in front of term's first '/' when it
// looks like one (has '.' or ':', or is localhost), else Docker Hub.
func searchTarget(registry, term string) (host, rest string, err error) {
	if registry != "" {
		host, err = canonicalHost(registry)
		return host, term, err
	}
	if i := strings.IndexByte(term, '/'); i > 0 {
		first := term[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" {
			host, err = canonicalHost(first)
			return host, term[i+1:], err
		}
	}
	return "docker.io", term, nil
}

// searchTemplate parses search's --format, as imagesTemplate does.
func searchTemplate(format string) (*template.Template, bool, error) {
	text, table := "{{.Name}}", true
	switch f := strings.TrimSpace(format); {
	case f == "" || f == "table":
	case strings.HasPrefix(f, "table "):
		text = strings.TrimPrefix(f, "table ")
	default:
		text, table = f, false
	}
	text = strings.ReplaceAll(text, `\t`, "\t")
	t, err := template.New("format").Funcs(templateFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, false, fmt.Errorf("invalid --format: %w", err)
	}
	return t, table, nil
}
