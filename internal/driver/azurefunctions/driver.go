package azurefunctions

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cosmos/armcosmos/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/servicebus/armservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
)

var _ driver.Driver = (*Driver)(nil)

// DefaultMaxRetries is the retry budget per call on transient errors.
const DefaultMaxRetries = 10

// DefaultSCMSuffix is the public cloud's DNS suffix of function apps.
const DefaultSCMSuffix = "azurewebsites.net"

// Config locates the subscription, resource group and location the driver works in.
type Config struct {
	Subscription, ResourceGroup, Location string
	// Endpoint is the Resource Manager endpoint; empty means the public cloud's.
	Endpoint string
	// TenantID, ClientID and ClientSecret select a service principal; unset, DefaultAzureCredential.
	TenantID, ClientID, ClientSecret string
	SCMSuffix                        string
	// SharedNamespace and SharedCosmos are ARM ids of existing accounts every handler uses.
	SharedNamespace, SharedCosmos string
	MaxRetries                    int
	// Credential and Transport replace the credential and the HTTP client (tests).
	Credential azcore.TokenCredential
	Transport  policy.Transporter
	// PollFrequency is how often long-running operations are polled (tests); 0 means 2 s.
	PollFrequency time.Duration
}

// Driver is the Azure driver. It is safe for concurrent use.
type Driver struct {
	sub, rg, location, scmSuffix  string
	sharedNamespace, sharedCosmos string
	cred                          azcore.TokenCredential
	transport                     policy.Transporter
	audience                      string
	poll                          time.Duration

	identities  *armmsi.UserAssignedIdentitiesClient
	accounts    *armstorage.AccountsClient
	containers  *armstorage.BlobContainersClient
	namespaces  *armservicebus.NamespacesClient
	queues      *armservicebus.QueuesClient
	topics      *armservicebus.TopicsClient
	subs        *armservicebus.SubscriptionsClient
	rules       *armservicebus.RulesClient
	cosmos      *armcosmos.DatabaseAccountsClient
	sql         *armcosmos.SQLResourcesClient
	collections *armcosmos.CollectionClient
	assignments *armauthorization.RoleAssignmentsClient
	web         *restClient
	insights    *restClient
	workspaces  *restClient
}

// New builds the clients. No call is made until the driver is used.
func New(_ context.Context, cfg Config) (*Driver, error) {
	env := func(v *string, name string) {
		if *v == "" {
			*v = os.Getenv(name)
		}
	}
	env(&cfg.Subscription, "AZURE_SUBSCRIPTION_ID")
	env(&cfg.ResourceGroup, "AZURE_RESOURCE_GROUP")
	env(&cfg.Location, "AZURE_LOCATION")
	env(&cfg.TenantID, "AZURE_TENANT_ID")
	switch {
	case cfg.Subscription == "":
		return nil, errors.New("no Azure subscription: set subscription_id in the provider's azure block, or AZURE_SUBSCRIPTION_ID")
	case cfg.ResourceGroup == "":
		return nil, errors.New("no Azure resource group: set resource_group in the provider's azure block, or AZURE_RESOURCE_GROUP")
	case cfg.Location == "":
		return nil, errors.New("no Azure location: set location in the provider's azure block, or AZURE_LOCATION")
	}
	for _, id := range []string{cfg.SharedNamespace, cfg.SharedCosmos} {
		if id != "" {
			if _, err := arm.ParseResourceID(id); err != nil {
				return nil, errors.New("service_bus_namespace and cosmos_account take ARM ids: " + err.Error())
			}
		}
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.SCMSuffix == "" {
		cfg.SCMSuffix = DefaultSCMSuffix
	}
	cc := cloud.AzurePublic
	if cfg.Endpoint != "" {
		cc = cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: strings.TrimSuffix(cfg.Endpoint, "/"), Audience: "https://management.core.windows.net/"},
		}}
		if host := os.Getenv("AZURE_AUTHORITY_HOST"); host != "" {
			cc.ActiveDirectoryAuthorityHost = strings.TrimSuffix(host, "/") + "/"
		}
	}
	d := &Driver{sub: cfg.Subscription, rg: cfg.ResourceGroup, location: cfg.Location, scmSuffix: cfg.SCMSuffix,
		sharedNamespace: cfg.SharedNamespace, sharedCosmos: cfg.SharedCosmos, cred: cfg.Credential, transport: cfg.Transport,
		audience: cc.Services[cloud.ResourceManager].Audience, poll: cfg.PollFrequency}
	if d.poll == 0 {
		d.poll = 2 * time.Second
	}
	if cfg.Transport == nil {
		c, err := newTransport()
		if err != nil {
			return nil, err
		}
		cfg.Transport, d.transport = c, c
	}
	copts := policy.ClientOptions{Cloud: cc, Transport: cfg.Transport}
	if d.cred == nil {
		var err error
		// Instance discovery asks login.microsoftonline.com about the authority: off for other endpoints.
		noDiscovery := cfg.Endpoint != ""
		if cfg.ClientID != "" && cfg.ClientSecret != "" {
			d.cred, err = azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: noDiscovery})
		} else {
			d.cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
				ClientOptions: copts, TenantID: cfg.TenantID, DisableInstanceDiscovery: noDiscovery})
		}
		if err != nil {
			return nil, err
		}
	}
	opts := &arm.ClientOptions{ClientOptions: copts}
	opts.Retry.MaxRetries = int32(cfg.MaxRetries)
	var errs []error
	must := func(err error) { errs = append(errs, err) }
	var err error
	d.identities, err = armmsi.NewUserAssignedIdentitiesClient(d.sub, d.cred, opts)
	must(err)
	d.accounts, err = armstorage.NewAccountsClient(d.sub, d.cred, opts)
	must(err)
	d.containers, err = armstorage.NewBlobContainersClient(d.sub, d.cred, opts)
	must(err)
	d.namespaces, err = armservicebus.NewNamespacesClient(d.sub, d.cred, opts)
	must(err)
	d.queues, err = armservicebus.NewQueuesClient(d.sub, d.cred, opts)
	must(err)
	d.topics, err = armservicebus.NewTopicsClient(d.sub, d.cred, opts)
	must(err)
	d.subs, err = armservicebus.NewSubscriptionsClient(d.sub, d.cred, opts)
	must(err)
	d.rules, err = armservicebus.NewRulesClient(d.sub, d.cred, opts)
	must(err)
	d.cosmos, err = armcosmos.NewDatabaseAccountsClient(d.sub, d.cred, opts)
	must(err)
	d.collections, err = armcosmos.NewCollectionClient(d.sub, d.cred, opts)
	must(err)
	d.sql, err = armcosmos.NewSQLResourcesClient(d.sub, d.cred, opts)
	must(err)
	d.assignments, err = armauthorization.NewRoleAssignmentsClient(d.sub, d.cred, opts)
	must(err)
	armc, err := arm.NewClient("threefactor/azurefunctions", "v1.0.0", d.cred, opts)
	must(err)
	if armc != nil {
		d.web = newRESTClient(armc, webAPIVersion, d.pollOpts)
		d.insights = newRESTClient(armc, insightsAPIVersion, d.pollOpts)
		d.workspaces = newRESTClient(armc, workspaceAPIVersion, d.pollOpts)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return d, nil
}

// ImportID implements driver.Driver.
func (d *Driver) ImportID(name string) string { return "azure/" + d.sub + "/" + d.rg + "/" + name }

// Subscription and ResourceGroup are where the driver works.
func (d *Driver) Subscription() string  { return d.sub }
func (d *Driver) ResourceGroup() string { return d.rg }

func (d *Driver) httpClient() policy.Transporter {
	if d.transport != nil {
		return d.transport
	}
	return http.DefaultClient
}

// tagsFor is what every tagged resource carries: the handler's tags and its name.
func tagsFor(tags map[string]string, name string) map[string]*string {
	out := make(map[string]*string, len(tags)+1)
	for k, v := range tags {
		out[k] = &v
	}
	out[HandlerTag] = &name
	return out
}

// userTags are the tags less the provider's own.
func userTags(tags map[string]*string) map[string]string {
	var out map[string]string
	for k, v := range tags {
		if strings.HasPrefix(k, TagPrefix) || v == nil {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = *v
	}
	return out
}

func tagValue(tags map[string]*string, k string) string {
	if v := tags[k]; v != nil {
		return *v
	}
	return ""
}
