package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestS3File(t *testing.T) {
	c, warnings, err := loadFile(t, "testdata/s3.yml", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := S3{
		Bucket: "registry-bucket", Region: "eu-west-1", RegionEndpoint: "https://s3.example.com",
		AccessKey: "AKIAEXAMPLE", SecretKey: "wJalrXUtnFEMI", ForcePathStyle: true,
		Secure: false, SkipVerify: true, RootDirectory: "/registry/root", ChunkSize: 20 << 20,
		StorageClass: "STANDARD_IA", Encrypt: true, KeyID: "arn:aws:kms:eu-west-1:123456789012:key/abcd",
		Redirect: true, PartConcurrency: 8,
	}
	if c.Storage.Driver != DriverS3 || c.Storage.S3 != want {
		t.Errorf("storage = %q %+v\nwant s3 %+v", c.Storage.Driver, c.Storage.S3, want)
	}
	if !c.Storage.RedirectEnabled() {
		t.Error("RedirectEnabled() = false with storage.s3.redirect: true")
	}
	wantWarnings := []string{
		"storage.s3.v4auth: ignored: requests are always signed with AWS Signature Version 4",
		"storage.s3.multipartcopychunksize: ignored: Berth copies large objects in fixed 512 MiB parts, 8 at a time",
		"storage.s3.multipartcopymaxconcurrency: ignored: Berth copies large objects in fixed 512 MiB parts, 8 at a time",
		"storage.s3.multipartcopythresholdsize: ignored: Berth copies objects up to 5 GiB with one request",
		"storage.s3.objectacl: ignored: objects get the bucket's default ACL",
		"storage.s3.usedualstack: ignored: dual-stack endpoints are not supported; set regionendpoint to one",
		"storage.s3.accelerate: ignored: transfer acceleration is not supported; set regionendpoint to the accelerate endpoint",
		"storage.s3.loglevel: ignored: S3 requests are not logged",
		"storage.s3.useragent: ignored: the user agent is the AWS SDK's",
	}
	if !reflect.DeepEqual(warnings, wantWarnings) {
		t.Errorf("warnings = %q\nwant %q", warnings, wantWarnings)
	}
	for _, w := range warnings {
		if strings.Contains(w, "wJalrXUtnFEMI") {
			t.Errorf("warning %q shows the secret key", w)
		}
	}
}

const s3Minimal = "version: 0.1\nstorage:\n  s3:\n    bucket: b\n    region: us-east-1\n"

func TestS3Keys(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		want     S3
		redirect bool
		warnings []string
	}{
		{name: "defaults", yaml: s3Minimal, want: S3{Bucket: "b", Region: "us-east-1", Secure: true}},
		{name: "S3-compatible server without region",
			yaml: "version: 0.1\nstorage:\n  s3:\n    bucket: b\n    regionendpoint: http://127.0.0.1:9000\n    forcepathstyle: true\n",
			want: S3{Bucket: "b", RegionEndpoint: "http://127.0.0.1:9000", ForcePathStyle: true, Secure: true}},
		{name: "endpoint without scheme", yaml: s3Minimal + "    regionendpoint: minio:9000\n    secure: false\n",
			want: S3{Bucket: "b", Region: "us-east-1", RegionEndpoint: "minio:9000"}},
		{name: "credentials", yaml: s3Minimal + "    accesskey: a\n    secretkey: s\n",
			want: S3{Bucket: "b", Region: "us-east-1", AccessKey: "a", SecretKey: "s", Secure: true}},
		{name: "smallest chunk size", yaml: s3Minimal + "    chunksize: 5242880\n",
			want: S3{Bucket: "b", Region: "us-east-1", Secure: true, ChunkSize: 5 << 20}},
		{name: "chunk size as a quoted number", yaml: s3Minimal + "    chunksize: \"10485760\"\n",
			want: S3{Bucket: "b", Region: "us-east-1", Secure: true, ChunkSize: 10 << 20}},
		{name: "storage class none", yaml: s3Minimal + "    storageclass: NONE\n",
			want: S3{Bucket: "b", Region: "us-east-1", Secure: true, StorageClass: "NONE"}},
		{name: "encrypt with the default key", yaml: s3Minimal + "    encrypt: true\n",
			want: S3{Bucket: "b", Region: "us-east-1", Secure: true, Encrypt: true}},
		{name: "redirect", yaml: s3Minimal + "    redirect: true\n",
			want: S3{Bucket: "b", Region: "us-east-1", Secure: true, Redirect: true}, redirect: true},
		{name: "redirect disabled by registry:2's key", yaml: s3Minimal + "    redirect: true\n  redirect:\n    disable: true\n",
			want: S3{Bucket: "b", Region: "us-east-1", Secure: true, Redirect: true}},
		{name: "registry:2's disable: false does not turn redirect on", yaml: s3Minimal + "  redirect:\n    disable: false\n",
			want:     S3{Bucket: "b", Region: "us-east-1", Secure: true},
			warnings: []string{"storage.redirect.disable: false does not turn redirects on: Berth streams blobs unless storage.s3.redirect is true"}},
		{name: "part concurrency", yaml: s3Minimal + "    partconcurrency: 16\n",
			want: S3{Bucket: "b", Region: "us-east-1", Secure: true, PartConcurrency: 16}},
		{name: "root directory", yaml: s3Minimal + "    rootdirectory: /a/b\n",
			want: S3{Bucket: "b", Region: "us-east-1", Secure: true, RootDirectory: "/a/b"}},
		{name: "skip verify", yaml: s3Minimal + "    skipverify: true\n",
			want: S3{Bucket: "b", Region: "us-east-1", Secure: true, SkipVerify: true}},
		{name: "checksum keys", yaml: s3Minimal + "    checksumdisabled: true\n",
			want:     S3{Bucket: "b", Region: "us-east-1", Secure: true},
			warnings: []string{"storage.s3.checksumdisabled: ignored: checksums are sent only where S3 requires them"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warnings, err := Load(strings.NewReader(tt.yaml), nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Storage.Driver != DriverS3 || c.Storage.S3 != tt.want {
				t.Errorf("storage = %q %+v\nwant s3 %+v", c.Storage.Driver, c.Storage.S3, tt.want)
			}
			if got := c.Storage.RedirectEnabled(); got != tt.redirect {
				t.Errorf("RedirectEnabled() = %v, want %v", got, tt.redirect)
			}
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings = %q\nwant %q", warnings, tt.warnings)
			}
		})
	}
}

func TestS3Errors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"no bucket", "version: 0.1\nstorage:\n  s3:\n    region: r\n", "storage.s3.bucket: required"},
		{"empty bucket", "version: 0.1\nstorage:\n  s3:\n    bucket:\n    region: r\n", "storage.s3.bucket: must not be empty (line 4)"},
		{"no region", "version: 0.1\nstorage:\n  s3:\n    bucket: b\n", "storage.s3.region: required unless regionendpoint"},
		{"access key alone", s3Minimal + "    accesskey: a\n", "storage.s3.secretkey: required when storage.s3.accesskey is set"},
		{"secret key alone", s3Minimal + "    secretkey: s\n", "storage.s3.accesskey: required when storage.s3.secretkey is set"},
		{"small chunks", s3Minimal + "    chunksize: 1048576\n", "storage.s3.chunksize: 1048576 is less than 5 MiB (5242880), the smallest part S3 accepts (line 6)"},
		{"huge chunks", s3Minimal + "    chunksize: 6442450944\n", "storage.s3.chunksize: 6442450944 is more than 5 GiB"},
		{"chunk size with a unit", s3Minimal + "    chunksize: 10MiB\n", `storage.s3.chunksize: "10MiB" is not a whole number`},
		{"storage class", s3Minimal + "    storageclass: COLD\n", `storage.s3.storageclass: "COLD" is not one of STANDARD`},
		{"endpoint", s3Minimal + "    regionendpoint: ftp://x\n", `storage.s3.regionendpoint: "ftp://x" is not an endpoint URL`},
		{"secure", s3Minimal + "    secure: maybe\n", `storage.s3.secure: "maybe" is not true or false`},
		{"redirect", s3Minimal + "    redirect: sometimes\n", `storage.s3.redirect: "sometimes" is not true or false`},
		{"part concurrency", s3Minimal + "    partconcurrency: 1000\n", "storage.s3.partconcurrency: 1000 is not between 1 and 64"},
		{"session token", s3Minimal + "    sessiontoken: t\n", "storage.s3.sessiontoken: temporary credentials are not supported in the configuration"},
		{"unknown key", s3Minimal + "    bucketname: b\n", "storage.s3.bucketname: unknown key (line 6); did you mean bucket?"},
		{"redirect disable", s3Minimal + "  redirect:\n    disable: perhaps\n", `storage.redirect.disable: "perhaps" is not true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load(strings.NewReader(tt.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestS3Env(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want S3
	}{
		{
			name: "every variable over the built-in configuration",
			yaml: DefaultYAML(),
			env: []string{
				"REGISTRY_STORAGE=s3",
				"REGISTRY_STORAGE_S3_BUCKET=bkt", "REGISTRY_STORAGE_S3_REGION=eu-central-1",
				"REGISTRY_STORAGE_S3_REGIONENDPOINT=http://127.0.0.1:7070", "REGISTRY_STORAGE_S3_ACCESSKEY=ak",
				"REGISTRY_STORAGE_S3_SECRETKEY=sk", "REGISTRY_STORAGE_S3_FORCEPATHSTYLE=true",
				"REGISTRY_STORAGE_S3_SECURE=false", "REGISTRY_STORAGE_S3_SKIPVERIFY=true",
				"REGISTRY_STORAGE_S3_ROOTDIRECTORY=/reg", "REGISTRY_STORAGE_S3_CHUNKSIZE=16777216",
				"REGISTRY_STORAGE_S3_STORAGECLASS=REDUCED_REDUNDANCY", "REGISTRY_STORAGE_S3_ENCRYPT=true",
				"REGISTRY_STORAGE_S3_KEYID=k", "REGISTRY_STORAGE_S3_REDIRECT=true",
				"REGISTRY_STORAGE_S3_PARTCONCURRENCY=2",
			},
			want: S3{Bucket: "bkt", Region: "eu-central-1", RegionEndpoint: "http://127.0.0.1:7070",
				AccessKey: "ak", SecretKey: "sk", ForcePathStyle: true, SkipVerify: true, RootDirectory: "/reg",
				ChunkSize: 16 << 20, StorageClass: "REDUCED_REDUNDANCY", Encrypt: true, KeyID: "k",
				Redirect: true, PartConcurrency: 2},
		},
		{
			name: "parameters select s3 when the file names no driver",
			yaml: "version: 0.1\n",
			env:  []string{"REGISTRY_STORAGE_S3_BUCKET=b", "REGISTRY_STORAGE_S3_REGIONENDPOINT=http://s3:9000"},
			want: S3{Bucket: "b", RegionEndpoint: "http://s3:9000", Secure: true},
		},
		{
			name: "override the file",
			yaml: s3Minimal + "    accesskey: file\n    secretkey: file\n",
			env:  []string{"REGISTRY_STORAGE_S3_BUCKET=other", "REGISTRY_STORAGE_S3_ACCESSKEY=env", "REGISTRY_STORAGE_S3_SECRETKEY=env"},
			want: S3{Bucket: "other", Region: "us-east-1", AccessKey: "env", SecretKey: "env", Secure: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warnings, err := Load(strings.NewReader(tt.yaml), tt.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings %q", warnings)
			}
			if c.Storage.Driver != DriverS3 || c.Storage.S3 != tt.want {
				t.Errorf("storage = %q %+v\nwant s3 %+v", c.Storage.Driver, c.Storage.S3, tt.want)
			}
		})
	}
}

func TestS3EnvErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want string
	}{
		{"parameter over filesystem", DefaultYAML(), []string{"REGISTRY_STORAGE_S3_BUCKET=b"},
			"REGISTRY_STORAGE_S3_BUCKET: configures the s3 driver but storage uses filesystem; set REGISTRY_STORAGE=s3 to switch"},
		{"s3 without bucket", DefaultYAML(), []string{"REGISTRY_STORAGE=s3", "REGISTRY_STORAGE_S3_REGION=r"}, "storage.s3.bucket: required"},
		{"chunk size", s3Minimal, []string{"REGISTRY_STORAGE_S3_CHUNKSIZE=4096"}, "REGISTRY_STORAGE_S3_CHUNKSIZE: 4096 is less than 5 MiB"},
		{"bool", s3Minimal, []string{"REGISTRY_STORAGE_S3_FORCEPATHSTYLE=perhaps"}, `REGISTRY_STORAGE_S3_FORCEPATHSTYLE: "perhaps" is not true or false`},
		{"session token", s3Minimal, []string{"REGISTRY_STORAGE_S3_SESSIONTOKEN=t"}, "REGISTRY_STORAGE_S3_SESSIONTOKEN: temporary credentials are not supported"},
		{"secret key alone", s3Minimal, []string{"REGISTRY_STORAGE_S3_SECRETKEY=s"}, "storage.s3.accesskey: required when storage.s3.secretkey is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load(strings.NewReader(tt.yaml), tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestS3Validate(t *testing.T) {
	ok := S3{Bucket: "b", Region: "r", Secure: true}
	tests := []struct {
		name   string
		change func(s *S3)
		want   string
	}{
		{"valid", func(*S3) {}, ""},
		{"endpoint instead of region", func(s *S3) { s.Region, s.RegionEndpoint = "", "http://x:1" }, ""},
		{"bucket", func(s *S3) { s.Bucket = "" }, "storage.s3.bucket: required"},
		{"region", func(s *S3) { s.Region = "" }, "storage.s3.region: required"},
		{"secret key", func(s *S3) { s.AccessKey = "a" }, "storage.s3.secretkey: required"},
		{"chunk size", func(s *S3) { s.ChunkSize = 1 }, "storage.s3.chunksize: 1 is less than 5 MiB"},
		{"part concurrency", func(s *S3) { s.PartConcurrency = -1 }, "storage.s3.partconcurrency"},
		{"storage class", func(s *S3) { s.StorageClass = "x" }, "storage.s3.storageclass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Storage.Driver, c.Storage.S3 = DriverS3, ok
			tt.change(&c.Storage.S3)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
