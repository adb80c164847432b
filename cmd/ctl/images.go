package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/berthhq/berth/runtime/image"
	"github.com/distribution/reference"
	"github.com/spf13/cobra"
)

// imagesOptions are the flags of ctl images.
type imagesOptions struct {
	all     bool
	quiet   bool
	digests bool
	noTrunc bool
	format  string
	filter  string // REPOSITORY[:TAG]
}

func newImagesCmd(a *app) *cobra.Command {
	var o imagesOptions
	cmd := &cobra.Command{
		Use:   "images [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "List images",
		Long: "List the images of the local store.\n\n" +
			"--format takes a Go template over .Repository .Tag .Digest .ID .CreatedSince .CreatedAt .Size,\n" +
			"\"table TEMPLATE\" to print headers too, or \"json\" for one JSON object per line.",
		Args: args(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.filter = args[0]
			}
			return a.listImages(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "show all images (every image is listed anyway)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "only show image IDs")
	f.BoolVar(&o.digests, "digests", false, "show digests")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "don't truncate output")
	f.StringVar(&o.format, "format", "", "format output using a Go template, \"table\", \"table TEMPLATE\" or \"json\"")
	return cmd
}

// imageRow is one image as --format templates see it (docker's names).
type imageRow map[string]string

// imageHeaders are the column titles of the fields of imageRow.
var imageHeaders = imageRow{
	"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
	"CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Name": "NAME",
}

// listImages prints the store's images like docker images: newest first.
func (a *app) listImages(ctx context.Context, o imagesOptions) error {
	tmpl, table, err := imagesTemplate(o)
	if err != nil {
		return err
	}
	match, err := imageFilter(o.filter)
	if err != nil {
		return err
	}
	svc, err := a.images()
	if err != nil {
		return err
	}
	list, err := svc.List(ctx)
	if err != nil {
		return err
	}
	slices.SortStableFunc(list, func(x, y image.Summary) int { return y.Created.Compare(x.Created) })
	now := time.Now()
	var rows []imageRow
	for _, s := range list {
		if match(s) {
			rows = append(rows, newImageRow(s, now, o.noTrunc))
		}
	}
	return writeRows(a.out, tmpl, table, rows)
}

// imagesTemplate returns the template for o and whether it is a table
// (headers, aligned columns).
func imagesTemplate(o imagesOptions) (*template.Template, bool, error) {
	var text string
	table := false
	switch f := strings.TrimSpace(o.format); {
	case o.quiet:
		text = "{{.ID}}"
	case f == "" || f == "table":
		table = true
		text = "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
		if o.digests {
			text = "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
		}
	case f == "json":
		text = "{{json .}}"
	case strings.HasPrefix(f, "table "):
		table = true
		text = strings.TrimPrefix(f, "table ")
	default:
		text = f
	}
	text = strings.ReplaceAll(text, `\t`, "\t")
	t, err := template.New("format").Funcs(templateFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, false, fmt.Errorf("invalid --format: %w", err)
	}
	return t, table, nil
}

// templateFuncs are the functions --format templates may call, as docker's.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"join":  strings.Join,
	"split": strings.Split,
	"truncate": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
}

// writeRows executes tmpl for each row, under a header line and in
// aligned columns (docker's tabwriter settings) when table is set.
func writeRows(out io.Writer, tmpl *template.Template, table bool, rows []imageRow) error {
	w := out
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
		w = tw
		if err := tmpl.Execute(w, imageHeaders); err != nil {
			return fmt.Errorf("invalid --format: %w", err)
		}
		fmt.Fprintln(w)
	}
	for _, r := range rows {
		if err := tmpl.Execute(w, r); err != nil {
			return fmt.Errorf("invalid --format: %w", err)
		}
		fmt.Fprintln(w)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// newImageRow describes s as docker images shows it.
func newImageRow(s image.Summary, now time.Time, noTrunc bool) imageRow {
	repo, tag := "<none>", "<none>"
	if named, err := reference.ParseNormalizedNamed(s.Name); err == nil {
		repo = reference.FamiliarName(named)
	}
	if s.Tag != "" {
		tag = s.Tag
	}
	id := s.ID.String()
	if !noTrunc {
		id = image.ShortID(s.ID)
	}
	digest := "<none>"
	if s.Digest != "" {
		digest = s.Digest.String()
	}
	createdAt := ""
	if !s.Created.IsZero() {
		createdAt = s.Created.Local().Format("2006-01-02 15:04:05 -0700 MST")
	}
	return imageRow{
		"Repository": repo, "Tag": tag, "Digest": digest, "ID": id,
		"CreatedSince": createdSince(s.Created, now), "CreatedAt": createdAt, "Size": imageSize(s.Size),
	}
}

// imageFilter returns a match for the REPOSITORY[:TAG] argument of ctl
// images (everything when empty).
func imageFilter(arg string) (func(image.Summary) bool, error) {
	if arg == "" {
		return func(image.Summary) bool { return true }, nil
	}
	named, err := reference.ParseNormalizedNamed(arg)
	if err != nil {
		return nil, err
	}
	tag := ""
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	return func(s image.Summary) bool {
		return s.Repository == named.Name() && (tag == "" || s.Tag == tag)
	}, nil
}
