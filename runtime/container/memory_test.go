package container_test

import (
	"testing"

	"github.com/berthhq/berth/runtime/container"
)

func TestParseMemory(t *testing.T) {
	good := map[string]int64{
		"64m": 64 << 20, "64M": 64 << 20, "64mb": 64 << 20, "1g": 1 << 30, "1GB": 1 << 30,
		"8192k": 8 << 20, "10485760": 10 << 20, "10485760b": 10 << 20, "1.5g": 3 << 29,
	}
	for in, want := range good {
		if got, err := container.ParseMemory(in); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "abc", "-1g", "64x", "1mm", "5m", "4096"} {
		if got, err := container.ParseMemory(in); err == nil {
			t.Errorf("ParseMemory(%q) = %d, want an error", in, got)
		}
	}
}
