package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

func newSaveCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Long: "Save images to a tar archive that is an OCI image layout and carries docker's manifest.json,\n" +
			"so that docker load and OCI tools read it. The file appears only once it is complete.",
		Args: args(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.save(cmd.Context(), output, args)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to a file, instead of STDOUT")
	return cmd
}

// save writes the archive of refs to output, or to stdout when output is
// empty (refusing a terminal, as docker does). A file is written beside
// its final name and renamed into place when complete, so a failed save
// leaves no partial archive.
func (a *app) save(ctx context.Context, output string, refs []string) error {
	svc, err := a.images()
	if err != nil {
		return err
	}
	if output == "" || output == "-" {
		if isTerminal(a.out) {
			return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
		}
		bw := bufio.NewWriterSize(a.out, 1<<20)
		if err := svc.Save(ctx, bw, refs...); err != nil {
			return err
		}
		return bw.Flush()
	}
	tmp, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".*.tmp")
	if err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing to remove
	bw := bufio.NewWriterSize(tmp, 1<<20)
	err = svc.Save(ctx, bw, refs...)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), output)
}

// loadOptions are the flags of ctl load.
type loadOptions struct {
	input string
	quiet bool
}

func newLoadCmd(a *app) *cobra.Command {
	var o loadOptions
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load images from a tar archive or STDIN",
		Long:  "Load images from a tar archive (plain or gzip; an OCI image layout or docker save's format).",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.load(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.input, "input", "i", "", "read from tar archive file, instead of STDIN")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "suppress the load output")
	return cmd
}

// load reads an archive into the store and prints docker's "Loaded
// image: NAME" (or "Loaded image ID: ID" for an unnamed image) lines.
func (a *app) load(ctx context.Context, o loadOptions) error {
	var r io.Reader = a.in
	if o.input != "" && o.input != "-" {
		f, err := os.Open(o.input)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	} else if isTerminal(a.in) {
		return errors.New("requested load from stdin, but stdin is empty")
	}
	svc, err := a.images()
	if err != nil {
		return err
	}
	loaded, err := svc.Load(ctx, bufio.NewReaderSize(r, 1<<20))
	if err != nil {
		return err
	}
	if o.quiet {
		return nil
	}
	for _, l := range loaded {
		if l.Name != "" {
			fmt.Fprintf(a.out, "Loaded image: %s\n", familiar(l.Name))
		} else {
			fmt.Fprintf(a.out, "Loaded image ID: %s\n", l.Descriptor.Digest)
		}
	}
	return nil
}
