package driver_test

import (
	"errors"
	"testing"

	"github.com/berthhq/berth/storage/driver"
)

func TestCheckPath(t *testing.T) {
	tests := []struct {
		path  string
		valid bool
	}{
		{"/", true},
		{"/a", true},
		{"/docker/registry/v2/blobs/sha256/ab/abcd/data", true},
		{"/a/_uploads/x-y.z:1", true},
		{"/.hidden/..x/x..", true},
		{"", false},
		{"a", false},
		{"//", false},
		{"/a/", false},
		{"/a//b", false},
		{"/.", false},
		{"/..", false},
		{"/a/../b", false},
		{"/a/./b", false},
		{"/a/..", false},
		{"/a b", false},
		{"/a\\b", false},
	}
	for _, tc := range tests {
		err := driver.CheckPath("test", tc.path)
		var ie *driver.InvalidPathError
		if tc.valid && err != nil {
			t.Errorf("CheckPath(%q) = %v, want nil", tc.path, err)
		}
		if !tc.valid && (!errors.As(err, &ie) || ie.Path != tc.path || ie.Driver != "test") {
			t.Errorf("CheckPath(%q) = %v, want *InvalidPathError", tc.path, err)
		}
	}
}
