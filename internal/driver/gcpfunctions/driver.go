package gcpfunctions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	fsadmin "cloud.google.com/go/firestore/apiv1/admin"
	"cloud.google.com/go/firestore/apiv1/firestorepb"
	functions "cloud.google.com/go/functions/apiv2"
	iamadmin "cloud.google.com/go/iam/admin/apiv1"
	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	resourcemanager "cloud.google.com/go/resourcemanager/apiv3"
	"cloud.google.com/go/resourcemanager/apiv3/resourcemanagerpb"
	run "cloud.google.com/go/run/apiv2"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/api/option/internaloption"
	gtransport "google.golang.org/api/transport/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

var _ driver.Driver = (*Driver)(nil)

// DefaultMaxRetries is the retry budget per call on transient errors.
const DefaultMaxRetries = 10

// Config locates the project and region the driver works in.
type Config struct {
	Project, Region string
	// Credentials is a service account key's JSON (only that type is taken, so a key file of another
	// type cannot point the clients elsewhere); empty means Application Default Credentials.
	Credentials string
	// Endpoints overrides an API's endpoint, keyed as services lists: "host:port" (TLS, with
	// credentials) or "http://host:port" (plain text without credentials, for emulators and fakes).
	Endpoints map[string]string
	// MaxRetries bounds the retries of one call; 0 means DefaultMaxRetries.
	MaxRetries int
	// HTTPClient carries the code upload (tests count or break it); nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Driver is the Google Cloud driver. It is safe for concurrent use.
type Driver struct {
	project, region string
	functions       *functions.FunctionClient
	iam             *iamadmin.IamClient
	run             *run.ServicesClient
	topics          *pubsub.TopicAdminClient
	subs            *pubsub.SubscriptionAdminClient
	projects        *resourcemanager.ProjectsClient
	firestore       *fsadmin.FirestoreAdminClient
	// documents is Firestore's data plane, which tells whether a table holds documents; the raw
	// gRPC stub, since nothing else of the data plane is used.
	documents  firestorepb.FirestoreClient
	http       *http.Client
	retry      gax.CallOption
	maxRetries int

	// number is the project's number, which names the Pub/Sub service agent; looked up once.
	mu     sync.Mutex
	number string
}

// New builds the clients. No call is made until the driver is used.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	if cfg.Project == "" {
		cfg.Project = os.Getenv("GOOGLE_CLOUD_PROJECT")
	}
	if cfg.Region == "" {
		cfg.Region = os.Getenv("GOOGLE_CLOUD_REGION")
	}
	switch {
	case cfg.Project == "":
		return nil, errors.New("no Google Cloud project: set project in the provider's gcp block, or GOOGLE_CLOUD_PROJECT")
	case cfg.Region == "":
		return nil, errors.New("no Google Cloud region: set region in the provider's gcp block, or GOOGLE_CLOUD_REGION")
	}
	if msg := checkRegion(cfg.Region); msg != "" {
		return nil, errors.New(msg + ": set region in the provider's gcp block")
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	d := &Driver{project: cfg.Project, region: cfg.Region, http: cfg.HTTPClient, maxRetries: cfg.MaxRetries}
	d.retry, _ = d.tracked()
	if d.http == nil {
		d.http = http.DefaultClient
	}
	opts := func(service string) []option.ClientOption {
		var o []option.ClientOption
		if cfg.Credentials != "" {
			o = append(o, option.WithAuthCredentialsJSON(option.ServiceAccount, []byte(cfg.Credentials)))
		}
		switch e := cfg.Endpoints[service]; {
		case strings.HasPrefix(e, "http://"):
			o = []option.ClientOption{option.WithEndpoint(strings.TrimPrefix(e, "http://")), option.WithoutAuthentication(),
				option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials()))}
		case e != "":
			o = append(o, option.WithEndpoint(e))
		}
		return o
	}
	var err error
	if d.functions, err = functions.NewFunctionClient(ctx, opts("functions")...); err != nil {
		return nil, err
	}
	if d.iam, err = iamadmin.NewIamClient(ctx, opts("iam")...); err != nil {
		return nil, err
	}
	if d.run, err = run.NewServicesClient(ctx, opts("run")...); err != nil {
		return nil, err
	}
	// With no endpoint set, the Pub/Sub clients honour PUBSUB_EMULATOR_HOST themselves.
	if d.topics, err = pubsub.NewTopicAdminClient(ctx, opts("pubsub")...); err != nil {
		return nil, err
	}
	if d.subs, err = pubsub.NewSubscriptionAdminClient(ctx, opts("pubsub")...); err != nil {
		return nil, err
	}
	if d.projects, err = resourcemanager.NewProjectsClient(ctx, opts("resourcemanager")...); err != nil {
		return nil, err
	}
	if d.firestore, err = fsadmin.NewFirestoreAdminClient(ctx, opts("firestore_admin")...); err != nil {
		return nil, err
	}
	docOpts := opts("firestore")
	if host := os.Getenv("FIRESTORE_EMULATOR_HOST"); host != "" && cfg.Endpoints["firestore"] == "" {
		// As the Firestore client library does: the emulator, which takes no credentials.
		docOpts = []option.ClientOption{option.WithEndpoint(host), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials()))}
	}
	conn, err := gtransport.DialPool(ctx, append([]option.ClientOption{internaloption.WithDefaultEndpointTemplate("firestore.UNIVERSE_DOMAIN:443"),
		internaloption.WithDefaultUniverseDomain("googleapis.com"), internaloption.WithDefaultScopes(fsadmin.DefaultAuthScopes()...)},
		docOpts...)...)
	if err != nil {
		return nil, err
	}
	d.documents = firestorepb.NewFirestoreClient(conn)
	return d, nil
}

// tracked is the retry option of one call: every call, creates included, is retried on the codes
// Google documents as transient, with backoff, and the flag returned is set when a failed attempt
// may have taken effect unanswered (see create).
func (d *Driver) tracked() (gax.CallOption, *atomic.Bool) {
	acted := new(atomic.Bool)
	return gax.WithRetry(func() gax.Retryer {
		return &boundedRetryer{left: d.maxRetries, acted: acted, inner: gax.OnCodes([]codes.Code{codes.Unavailable, codes.ResourceExhausted},
			gax.Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2})}
	}), acted
}

type boundedRetryer struct {
	left  int
	acted *atomic.Bool
	inner gax.Retryer
}

func (r *boundedRetryer) Retry(err error) (time.Duration, bool) {
	if mayHaveActed(err) {
		r.acted.Store(true)
	}
	if r.left <= 0 {
		return 0, false
	}
	r.left--
	return r.inner.Retry(err)
}

// create runs a create call with a tracked retry option. IAM, Pub/Sub and Firestore take no
// idempotency token: when an attempt may have acted unanswered and a retry then meets "already
// exists", own reports whether what exists is this handler's (its label or description names it),
// and if so it is taken instead of failing and leaving it behind. What existed before is never taken.
func (d *Driver) create(call func(retry gax.CallOption) error, own func() (bool, error)) error {
	retry, acted := d.tracked()
	err := call(retry)
	if codeOf(err) == driver.AlreadyExists && acted.Load() {
		if ok, oerr := own(); oerr == nil && ok {
			return nil
		}
	}
	return err
}

// Project is the project the driver creates components in.
func (d *Driver) Project() string { return d.project }

// ImportID implements driver.Driver.
func (d *Driver) ImportID(name string) string {
	return "gcp/" + d.project + "/" + d.region + "/" + name
}

func (d *Driver) parent() string { return "projects/" + d.project + "/locations/" + d.region }

// projectNumber returns the project's number, looking it up once.
func (d *Driver) projectNumber(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.number != "" {
		return d.number, nil
	}
	p, err := d.projects.GetProject(ctx, &resourcemanagerpb.GetProjectRequest{Name: "projects/" + d.project}, d.retry)
	if err != nil {
		return "", fmt.Errorf("looking up the number of project %s (it names the Pub/Sub service agent): %w", d.project, err)
	}
	d.number = strings.TrimPrefix(p.GetName(), "projects/")
	return d.number, nil
}

// serviceAgent is the Pub/Sub service agent, which dead-letters and mints push tokens.
func (d *Driver) serviceAgent(ctx context.Context) (string, error) {
	n, err := d.projectNumber(ctx)
	if err != nil {
		return "", err
	}
	return "serviceAccount:service-" + n + "@gcp-sa-pubsub.iam.gserviceaccount.com", nil
}

// labelsFor is what every labelled component carries: the handler's tags and its name.
func labelsFor(h *spec.Handler) map[string]string {
	l := make(map[string]string, len(h.Tags)+1)
	for k, v := range h.Tags {
		l[k] = v
	}
	l[HandlerLabel] = h.Name
	return l
}
