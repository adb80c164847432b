package main

import (
	"io"
	"log/slog"
	"maps"
	"slices"

	"github.com/berthhq/berth/registry/config"
)

// newLogger returns the logger cfg describes, writing to w: text or JSON
// records at cfg.Level and above, each carrying cfg.Fields.
func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	switch cfg.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch cfg.Formatter {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		h = slog.NewTextHandler(w, opts)
	}
	log := slog.New(h)
	for _, k := range slices.Sorted(maps.Keys(cfg.Fields)) {
		log = log.With(k, cfg.Fields[k])
	}
	return log
}
