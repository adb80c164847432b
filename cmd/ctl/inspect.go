package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"text/template"
	"time"

	"github.com/berthhq/berth/runtime/image"
	"github.com/distribution/reference"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

// inspectOptions are the flags of ctl inspect.
type inspectOptions struct {
	remote bool
	format string
}

func newInspectCmd(a *app) *cobra.Command {
	var o inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Show details of images as JSON",
		Long: "Show details of local images (by name or ID) as a JSON array, as docker image inspect does.\n" +
			"With --remote, print the manifest (or index) the registry holds for each reference instead.",
		Args: args(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.remote {
				return a.inspectRemote(cmd.Context(), args)
			}
			return a.inspect(cmd.Context(), args, o.format)
		},
	}
	cmd.Flags().BoolVar(&o.remote, "remote", false, "inspect the registry's manifest instead of the local image")
	cmd.Flags().StringVarP(&o.format, "format", "f", "", "format each image with a Go template")
	return cmd
}

// imageInspect is one image in ctl inspect's output: docker's fields,
// then the OCI ones.
type imageInspect struct {
	ID           string              `json:"Id"`
	RepoTags     []string            `json:"RepoTags"`
	RepoDigests  []string            `json:"RepoDigests"`
	Created      string              `json:"Created,omitempty"`
	Author       string              `json:"Author,omitempty"`
	Architecture string              `json:"Architecture"`
	Variant      string              `json:"Variant,omitempty"`
	Os           string              `json:"Os"`
	Size         int64               `json:"Size"`
	Config       ocispec.ImageConfig `json:"Config"`
	RootFS       ocispec.RootFS      `json:"RootFS"`
	History      []ocispec.History   `json:"History,omitempty"`
	Descriptor   ocispec.Descriptor  `json:"Descriptor"`
	Manifest     ocispec.Manifest    `json:"Manifest"`
	Index        *ocispec.Index      `json:"Index,omitempty"`
}

// inspect prints the local images refs as a JSON array (or each through
// format). Unknown images are reported after the others, and fail the
// command.
func (a *app) inspect(ctx context.Context, refs []string, format string) error {
	var tmpl *template.Template
	if format != "" {
		t, err := template.New("format").Funcs(templateFuncs).Parse(format)
		if err != nil {
			return fmt.Errorf("invalid --format: %w", err)
		}
		tmpl = t
	}
	svc, err := a.images()
	if err != nil {
		return err
	}
	out := []imageInspect{}
	var errs []error
	for _, ref := range refs {
		d, err := svc.Inspect(ctx, ref)
		switch {
		case errors.Is(err, image.ErrNotFound):
			errs = append(errs, fmt.Errorf("no such image: %s", ref))
		case err != nil:
			return err
		default:
			out = append(out, newImageInspect(d))
		}
	}
	if tmpl != nil {
		for _, v := range out {
			if err := executeInspect(a.out, tmpl, v); err != nil {
				return err
			}
		}
	} else if err := writeJSON(a.out, out); err != nil {
		return err
	}
	return reportErrors(a, errs)
}

// executeInspect prints v through tmpl and a newline. Like docker, it
// tries the typed value first ({{.ID}}), then the value's JSON form, so
// that templates written with JSON names ({{.Id}}, {{.Config.Env}}) work
// too.
func executeInspect(w io.Writer, tmpl *template.Template, v imageInspect) error {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, v); err != nil {
		b, merr := json.Marshal(v)
		if merr != nil {
			return merr
		}
		var raw map[string]any
		if merr := json.Unmarshal(b, &raw); merr != nil {
			return merr
		}
		buf.Reset()
		if rerr := tmpl.Option("missingkey=error").Execute(&buf, raw); rerr != nil {
			return fmt.Errorf("invalid --format: %w", err)
		}
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(w)
	return err
}

// newImageInspect turns Details into docker's shape.
func newImageInspect(d image.Details) imageInspect {
	v := imageInspect{
		ID:           d.ID.String(),
		RepoTags:     []string{},
		RepoDigests:  []string{},
		Author:       d.Config.Author,
		Architecture: d.Config.Architecture,
		Variant:      d.Config.Variant,
		Os:           d.Config.OS,
		Size:         d.Size,
		Config:       d.Config.Config,
		RootFS:       d.Config.RootFS,
		History:      d.Config.History,
		Descriptor:   d.Descriptor,
		Manifest:     d.Manifest,
		Index:        d.Index,
	}
	if d.Config.Created != nil {
		v.Created = d.Config.Created.UTC().Format(time.RFC3339Nano)
	}
	for _, n := range d.Names {
		named, err := reference.ParseNormalizedNamed(n)
		if err != nil {
			continue
		}
		if _, ok := named.(reference.Tagged); ok {
			v.RepoTags = append(v.RepoTags, reference.FamiliarString(named))
		}
		if dg, err := reference.WithDigest(reference.TrimNamed(named), d.Descriptor.Digest); err == nil {
			s := reference.FamiliarString(dg)
			if !slices.Contains(v.RepoDigests, s) {
				v.RepoDigests = append(v.RepoDigests, s)
			}
		}
	}
	return v
}

// inspectRemote prints the manifest the registry holds for each ref,
// indented, as docker manifest inspect does; several are printed as a
// JSON array.
func (a *app) inspectRemote(ctx context.Context, refs []string) error {
	regs, err := a.registries()
	if err != nil {
		return err
	}
	var bodies []json.RawMessage
	for _, ref := range refs {
		named, err := image.ParseReference(ref)
		if err != nil {
			return err
		}
		sources, err := regs.pullSources(ctx, reference.Domain(named))
		if err != nil {
			return err
		}
		var body []byte
		for i, src := range sources {
			_, _, body, err = src.GetManifest(ctx, reference.Path(named), tagOrDigest(named))
			if err == nil || ctx.Err() != nil || i == len(sources)-1 {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("inspect %s: %w", reference.FamiliarString(named), err)
		}
		if !json.Valid(body) {
			return fmt.Errorf("inspect %s: the registry's manifest is not JSON", reference.FamiliarString(named))
		}
		bodies = append(bodies, body)
	}
	if len(bodies) == 1 {
		return writeJSON(a.out, bodies[0])
	}
	return writeJSON(a.out, bodies)
}

// writeJSON prints v indented, as docker inspect does.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "    "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = buf.WriteTo(w)
	return err
}

// reportErrors prints one "Error: ..." line per error and fails when there
// were any.
func reportErrors(a *app, errs []error) error {
	for _, err := range errs {
		fmt.Fprintf(a.errOut, "Error: %s\n", oneLine(err.Error()))
	}
	if len(errs) > 0 {
		return statusError{code: exitError}
	}
	return nil
}
