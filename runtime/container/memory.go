package container

import (
	"fmt"
	"strconv"
	"strings"
)

// MinMemory is the smallest --memory docker accepts (6 MB).
const MinMemory = 6 << 20

// ParseMemory parses a memory size as docker run --memory takes it: a
// number of bytes with an optional unit b, k, m, g, t or p (binary
// multiples, case-insensitive, "b" after the unit allowed: 64m, 64MB,
// 1g, 512k, 1048576). It refuses sizes below MinMemory.
func ParseMemory(s string) (int64, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	num := strings.TrimRight(v, "kmgtpb")
	unit := strings.TrimSuffix(v[len(num):], "b")
	shift, ok := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30, "t": 40, "p": 50}[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("invalid memory size %q: want a number of bytes with an optional unit (b, k, m, g), as 64m", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid memory size %q: want a number of bytes with an optional unit (b, k, m, g), as 64m", s)
	}
	n := int64(f * float64(uint64(1)<<shift))
	if n < MinMemory {
		return 0, fmt.Errorf("minimum memory limit allowed is 6MB (got %q)", s)
	}
	return n, nil
}
