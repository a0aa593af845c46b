package awslambda

import (
	"context"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

var _ driver.Driver = (*Driver)(nil)

// DefaultMaxRetries is the SDK retry budget per call, as hashicorp/aws sets it.
const DefaultMaxRetries = 25

// Config locates the account and region the driver works in.
type Config struct {
	Region  string
	Profile string
	// Endpoint is one URL for every service (moto, LocalStack); AWS_ENDPOINT_URL is honoured too.
	Endpoint string
	// Endpoints overrides the URL per service, keyed iam, lambda, sqs, sns, dynamodb, logs, kms.
	Endpoints map[string]string
	// MaxRetries is the SDK's retry budget per call (throttling, 5xx); 0 means DefaultMaxRetries.
	MaxRetries int
	// Credentials, when set, replace the SDK's default credential chain (tests pass static ones).
	Credentials aws.CredentialsProvider
	// HTTPClient, when set, carries every call (tests count them).
	HTTPClient aws.HTTPClient
}

// Driver is the AWS driver. It is safe for concurrent use.
type Driver struct {
	region    string
	partition string
	iam       *iam.Client
	logs      *cloudwatchlogs.Client
	lambda    *lambda.Client
	sqs       *sqs.Client
	sns       *sns.Client
	dynamodb  *dynamodb.Client
	kms       *kms.Client
}

// New loads the SDK configuration (shared config, environment, then cfg) and builds the clients.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	maxRetries := cfg.MaxRetries
	if maxRetries <= 0 {
		maxRetries = DefaultMaxRetries
	}
	opts := []func(*config.LoadOptions) error{
		// The standard retryer's token bucket (500 tokens per client) runs dry when an apply of many
		// handlers meets throttling; the attempt budget alone bounds the retries.
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxRetries + 1
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(cfg.HTTPClient))
	}
	ac, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, err
	}
	if ac.Region == "" {
		return nil, errors.New("no AWS region: set region in the provider's aws block, or AWS_REGION")
	}
	ac.APIOptions = append(ac.APIOptions, recordActed)
	// Explicit endpoints win over AWS_ENDPOINT_URL*, which the clients resolve themselves otherwise.
	endpoint := func(service string) *string {
		if u := cfg.Endpoints[service]; u != "" {
			return aws.String(u)
		}
		if cfg.Endpoint != "" {
			return aws.String(cfg.Endpoint)
		}
		return nil
	}
	set := func(service string, base **string) {
		if e := endpoint(service); e != nil {
			*base = e
		}
	}
	return &Driver{
		region:    ac.Region,
		partition: partitionOf(ac.Region),
		iam:       iam.NewFromConfig(ac, func(o *iam.Options) { set("iam", &o.BaseEndpoint) }),
		logs:      cloudwatchlogs.NewFromConfig(ac, func(o *cloudwatchlogs.Options) { set("logs", &o.BaseEndpoint) }),
		lambda:    lambda.NewFromConfig(ac, func(o *lambda.Options) { set("lambda", &o.BaseEndpoint) }),
		sqs:       sqs.NewFromConfig(ac, func(o *sqs.Options) { set("sqs", &o.BaseEndpoint) }),
		sns:       sns.NewFromConfig(ac, func(o *sns.Options) { set("sns", &o.BaseEndpoint) }),
		dynamodb:  dynamodb.NewFromConfig(ac, func(o *dynamodb.Options) { set("dynamodb", &o.BaseEndpoint) }),
		kms:       kms.NewFromConfig(ac, func(o *kms.Options) { set("kms", &o.BaseEndpoint) }),
	}, nil
}

// Region is the region the driver creates components in.
func (d *Driver) Region() string { return d.region }

// ImportID implements driver.Driver.
func (d *Driver) ImportID(name string) string { return "aws/" + d.region + "/" + name }

func (d *Driver) names(name string) componentNames { return namesOf(name, d.region) }

func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// queueARN derives a queue's ARN from its URL (https://sqs.<region>.amazonaws.com/<account>/<name>),
// which names the account; every queue the driver touches lies in its region.
func (d *Driver) queueARN(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return ""
	}
	account, name, ok := strings.Cut(strings.Trim(u.Path, "/"), "/")
	if !ok {
		return ""
	}
	return "arn:" + d.partition + ":sqs:" + d.region + ":" + account + ":" + name
}

// lastPart is the name at the end of an ARN ("role/x" gives x, "table/x" gives x).
func lastPart(arn string) string {
	return arn[strings.LastIndexAny(arn, ":/")+1:]
}

// accountOf returns the account of an ARN.
func accountOf(arn string) string {
	a, _ := parseARN(arn)
	return a.Account
}

// tagsFor is what every taggable component carries: the handler's tags and the handler's name.
func tagsFor(h *spec.Handler) map[string]string {
	t := make(map[string]string, len(h.Tags)+1)
	for k, v := range h.Tags {
		t[k] = v
	}
	t[HandlerTag] = h.Name
	return t
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
