package s3

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// cachedResolver remembers the SDK's endpoint for each distinct set of
// parameters but the object's key, which only S3 Express buckets and
// access point ARNs resolve by. Resolving runs S3's endpoint rule set,
// regular expressions and all, on every request; it was a fifth of the
// registry's CPU in a manifest HEAD storm, for an answer that, with one
// bucket and one endpoint, never changes.
type cachedResolver struct {
	next s3.EndpointResolverV2
	mu   sync.Mutex
	m    map[string]smithyendpoints.Endpoint
}

func newCachedResolver() *cachedResolver {
	return &cachedResolver{next: s3.NewDefaultEndpointResolverV2(), m: map[string]smithyendpoints.Endpoint{}}
}

func (r *cachedResolver) ResolveEndpoint(ctx context.Context, p s3.EndpointParameters) (smithyendpoints.Endpoint, error) {
	if b := aws.ToString(p.Bucket); strings.Contains(b, ":") || strings.HasSuffix(b, "--x-s3") {
		// An access point ARN or an S3 Express bucket: the rules may look
		// at the key.
		return r.next.ResolveEndpoint(ctx, p)
	}
	k := fmt.Sprintf("%q|%q|%q|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v|%v", aws.ToString(p.Bucket), aws.ToString(p.Region), aws.ToString(p.Endpoint),
		aws.ToBool(p.UseFIPS), aws.ToBool(p.UseDualStack), aws.ToBool(p.ForcePathStyle), aws.ToBool(p.Accelerate),
		aws.ToBool(p.UseGlobalEndpoint), aws.ToBool(p.UseObjectLambdaEndpoint), aws.ToBool(p.DisableAccessPoints),
		aws.ToBool(p.DisableMultiRegionAccessPoints), aws.ToBool(p.UseArnRegion), aws.ToBool(p.UseS3ExpressControlEndpoint),
		aws.ToBool(p.DisableS3ExpressSessionAuth))
	r.mu.Lock()
	e, ok := r.m[k]
	r.mu.Unlock()
	if ok {
		return copyEndpoint(e), nil
	}
	e, err := r.next.ResolveEndpoint(ctx, p)
	if err != nil {
		return e, err
	}
	r.mu.Lock()
	r.m[k] = copyEndpoint(e)
	r.mu.Unlock()
	return e, nil
}

// copyEndpoint copies what the SDK writes into as a request goes on (the
// properties, the headers), so that the cached endpoint is only ever read.
func copyEndpoint(e smithyendpoints.Endpoint) smithyendpoints.Endpoint {
	var props smithy.Properties
	props.SetAll(&e.Properties)
	e.Properties = props
	e.Headers = e.Headers.Clone()
	return e
}
