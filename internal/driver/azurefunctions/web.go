package azurefunctions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v4"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

// Settings the driver writes beside the handler's environment.
const (
	settingCodeHash   = "THREEFACTOR_CODE_SHA256"
	settingConnection = "THREEFACTOR_SERVICEBUS"
	settingQueue      = "THREEFACTOR_QUEUE"
	settingTopic      = "THREEFACTOR_TOPIC"
	settingSub        = "THREEFACTOR_SUBSCRIPTION"
	// tagEntryPoint and tagMaxUnset keep what the cloud has no field for.
	tagEntryPoint = TagPrefix + "entry-point"
	tagMaxUnset   = TagPrefix + "max-instances-unset"
	// defaultMaxInstances is Flex Consumption's maximum instance count when none is set.
	defaultMaxInstances = 100
)

// wiring is what the function's settings point at.
type wiring struct {
	clientID, identityID, storage, namespace, cosmos, database string
	queue, topic, subscription                                 string
}

// appSettings are the function's app settings less the code hash: identity-based connections to
// Storage and Service Bus, the trigger's entity names, the handler's environment and host settings
// that let a message's lock outlive the function.
func appSettings(h *spec.Handler, w wiring) map[string]string {
	m := map[string]string{}
	maps.Copy(m, h.Function.Environment)
	maps.Copy(m, h.Function.SecretEnvironment)
	maps.Copy(m, injected(h, w))
	return m
}

func injected(h *spec.Handler, w wiring) map[string]string {
	m := h.Env(dedupStoreURL(lastPart(w.cosmos), w.database, dedupContainer))
	timeout := hms(h.Function.TimeoutS)
	for k, v := range map[string]string{
		"AzureWebJobsStorage__accountName":                                          w.storage,
		"AzureWebJobsStorage__credential":                                           "managedidentity",
		"AzureWebJobsStorage__clientId":                                             w.clientID,
		settingConnection + "__fullyQualifiedNamespace":                             sbHost(w.namespace),
		settingConnection + "__credential":                                          "managedidentity",
		settingConnection + "__clientId":                                            w.clientID,
		"AZURE_CLIENT_ID":                                                           w.clientID,
		"AzureFunctionsJobHost__functionTimeout":                                    timeout,
		"AzureFunctionsJobHost__extensions__serviceBus__maxAutoLockRenewalDuration": timeout,
	} {
		m[k] = v
	}
	if h.Trigger.Kind == spec.Topic {
		m[settingTopic], m[settingSub] = w.topic, w.subscription
	} else {
		m[settingQueue] = w.queue
	}
	return m
}

// isInjected reports a setting the driver writes, which Read strips from the environment.
func isInjected(k string) bool {
	switch k {
	case spec.EnvHandler, spec.EnvCloud, spec.EnvDedupStore, spec.EnvDedupTTL, spec.EnvTimeout, settingCodeHash,
		settingQueue, settingTopic, settingSub, "AZURE_CLIENT_ID":
		return true
	}
	return strings.HasPrefix(k, "AzureWebJobsStorage") || strings.HasPrefix(k, settingConnection+"__") || strings.HasPrefix(k, "AzureFunctionsJobHost__")
}

func runtimeOf(neutral string) (name, version string) {
	name, version, _ = strings.Cut(rules.Runtimes[neutral].Name, "/")
	return name, version
}

func neutralRuntime(rt *armappservice.FunctionsRuntime) string {
	if rt == nil {
		return ""
	}
	want := string(deref(rt.Name)) + "/" + deref(rt.Version)
	for n, r := range rules.Runtimes {
		if r.Name == want {
			return n
		}
	}
	return want
}

func (d *Driver) createPlan(ctx context.Context, name string, tags map[string]*string) (string, error) {
	p, err := d.plans.BeginCreateOrUpdate(ctx, d.rg, name, armappservice.Plan{
		Location: &d.location, Tags: tags, Kind: to.Ptr("functionapp"),
		SKU:        &armappservice.SKUDescription{Name: to.Ptr("FC1"), Tier: to.Ptr("FlexConsumption")},
		Properties: &armappservice.PlanProperties{Reserved: to.Ptr(true)},
	}, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, d.pollOpts())
	}
	return d.id("Microsoft.Web/serverfarms", name), fail(Plan, "creating", name, err)
}

func (d *Driver) readPlan(ctx context.Context, id string) (*armappservice.Plan, error) {
	resp, err := d.plans.Get(ctx, d.rgOf(id), lastPart(id), nil)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(Plan, "reading", id, err)
	}
	return &resp.Plan, nil
}

func (d *Driver) deletePlan(ctx context.Context, id string) error {
	_, err := d.plans.Delete(ctx, d.rgOf(id), lastPart(id), nil)
	return fail(Plan, "deleting", id, codes.IgnoreNotFound(err))
}

// site is the function app: Linux Flex Consumption, HTTPS only, TLS 1.2, FTP off, running as the
// handler's identity, deploying from its storage account's container with that identity.
func (d *Driver) site(h *spec.Handler, planID string, w wiring, settings map[string]string) armappservice.Site {
	tags := tagsFor(h.Tags, h.Name)
	tags[tagEntryPoint] = to.Ptr(h.Function.EntryPoint)
	scale := &armappservice.FunctionsScaleAndConcurrency{InstanceMemoryMB: to.Ptr(int32(h.Function.MemoryMB))}
	if h.Function.MaxConcurrency > 0 {
		scale.MaximumInstanceCount = to.Ptr(int32(h.Function.MaxConcurrency))
	} else {
		tags[tagMaxUnset] = to.Ptr("true")
	}
	name, version := runtimeOf(h.Function.Runtime)
	var list []*armappservice.NameValuePair
	for k, v := range settings {
		list = append(list, &armappservice.NameValuePair{Name: to.Ptr(k), Value: to.Ptr(v)})
	}
	return armappservice.Site{
		Location: &d.location, Tags: tags, Kind: to.Ptr("functionapp,linux"),
		Identity: &armappservice.ManagedServiceIdentity{
			Type:                   to.Ptr(armappservice.ManagedServiceIdentityTypeUserAssigned),
			UserAssignedIdentities: map[string]*armappservice.UserAssignedIdentity{w.identityID: {}},
		},
		Properties: &armappservice.SiteProperties{
			ServerFarmID: &planID, HTTPSOnly: to.Ptr(true),
			SiteConfig: &armappservice.SiteConfig{
				MinTLSVersion: to.Ptr(armappservice.SupportedTLSVersionsOne2), FtpsState: to.Ptr(armappservice.FtpsStateDisabled),
				AppSettings: list,
			},
			FunctionAppConfig: &armappservice.FunctionAppConfig{
				Deployment: &armappservice.FunctionsDeployment{Storage: &armappservice.FunctionsDeploymentStorage{
					Type:  to.Ptr(armappservice.FunctionsDeploymentStorageTypeBlobContainer),
					Value: to.Ptr("https://" + w.storage + ".blob.core.windows.net/" + deployContainer),
					Authentication: &armappservice.FunctionsDeploymentStorageAuthentication{
						Type: to.Ptr(armappservice.AuthenticationTypeUserAssignedIdentity), UserAssignedIdentityResourceID: &w.identityID,
					},
				}},
				Runtime:             &armappservice.FunctionsRuntime{Name: to.Ptr(armappservice.RuntimeName(name)), Version: &version},
				ScaleAndConcurrency: scale,
			},
		},
	}
}

// siteSeen is the function app, its app settings and its publishing policies.
type siteSeen struct {
	site               *armappservice.Site
	settings           map[string]string
	ftpAllowed, scmAll bool
}

func (d *Driver) putSite(ctx context.Context, name string, site armappservice.Site) error {
	p, err := d.sites.BeginCreateOrUpdate(ctx, d.rg, name, site, nil)
	if err != nil {
		return err
	}
	_, err = p.PollUntilDone(ctx, d.pollOpts())
	return err
}

func (d *Driver) readSite(ctx context.Context, id string) (*siteSeen, error) {
	rg, name := d.rgOf(id), lastPart(id)
	resp, err := d.sites.Get(ctx, rg, name, nil)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.Function, "reading", id, err)
	}
	s := &siteSeen{site: &resp.Site}
	err = plumbing.Concurrently(
		func() error {
			r, err := d.sites.ListApplicationSettings(ctx, rg, name, nil)
			s.settings = map[string]string{}
			for k, v := range r.Properties {
				s.settings[k] = deref(v)
			}
			return err
		},
		func() error {
			r, err := d.sites.GetFtpAllowed(ctx, rg, name, nil)
			s.ftpAllowed = r.Properties == nil || deref(r.Properties.Allow)
			return err
		},
		func() error {
			r, err := d.sites.GetScmAllowed(ctx, rg, name, nil)
			s.scmAll = r.Properties == nil || deref(r.Properties.Allow)
			return err
		},
	)
	if codes.NotFound(err) {
		return nil, nil
	}
	return s, fail(driver.Function, "reading", id, err)
}

func (d *Driver) putSettings(ctx context.Context, name string, settings map[string]string) error {
	props := map[string]*string{}
	for k, v := range settings {
		props[k] = to.Ptr(v)
	}
	_, err := d.sites.UpdateApplicationSettings(ctx, d.rg, name, armappservice.StringDictionary{Properties: props}, nil)
	return fail(driver.Function, "writing the app settings of", name, err)
}

// disableBasicAuth turns FTP and SCM basic publishing credentials off.
func (d *Driver) disableBasicAuth(ctx context.Context, name string) error {
	off := armappservice.CsmPublishingCredentialsPoliciesEntity{Properties: &armappservice.CsmPublishingCredentialsPoliciesEntityProperties{Allow: to.Ptr(false)}}
	if _, err := d.sites.UpdateFtpAllowed(ctx, d.rg, name, off, nil); err != nil {
		return fail(driver.Function, "turning off FTP publishing of", name, err)
	}
	_, err := d.sites.UpdateScmAllowed(ctx, d.rg, name, off, nil)
	return fail(driver.Function, "turning off basic SCM publishing of", name, err)
}

func (d *Driver) deleteSite(ctx context.Context, id string) error {
	_, err := d.sites.Delete(ctx, d.rgOf(id), lastPart(id), nil)
	return fail(driver.Function, "deleting", id, codes.IgnoreNotFound(err))
}

// publishError is a refusal of the SCM publish endpoint.
type publishError struct {
	status int
	body   string
}

func (e *publishError) Error() string {
	return fmt.Sprintf("publishing the package answered %d: %s", e.status, e.body)
}

// publish posts the zip to Flex Consumption's OneDeploy endpoint with a Resource Manager token;
// 403s are retried while the identity's storage role propagates.
func (d *Driver) publish(ctx context.Context, site string, zip []byte) error {
	url := "https://" + strings.ToLower(site) + ".scm." + d.scmSuffix + "/api/publish?RemoteBuild=false"
	err := retryPropagation(ctx, func() error {
		tok, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{strings.TrimSuffix(d.audience, "/") + "/.default"}})
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(zip))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		req.Header.Set("Content-Type", "application/zip")
		resp, err := d.httpClient().Do(req)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode/100 != 2 {
			return &publishError{status: resp.StatusCode, body: strings.TrimSpace(string(body))}
		}
		return nil
	})
	code := driver.Unknown
	if pe := (*publishError)(nil); errors.As(err, &pe) && pe.status/100 == 4 {
		code = driver.InvalidArgument
	}
	if err != nil {
		return driver.Errorf(driver.Function, "publishing the code of", site, code, err)
	}
	return nil
}

func retryPropagation(ctx context.Context, f func() error) error {
	return plumbing.RetryWhile(ctx, propagationTimeout, isPropagating, f)
}

// functionOf reads the function's settings back into h.
func functionOf(h *spec.Handler, s *siteSeen) {
	p := s.site.Properties
	if p != nil && p.FunctionAppConfig != nil {
		cfg := p.FunctionAppConfig
		h.Function.Runtime = neutralRuntime(cfg.Runtime)
		if sc := cfg.ScaleAndConcurrency; sc != nil {
			h.Function.MemoryMB = int64(deref(sc.InstanceMemoryMB))
			h.Function.MaxConcurrency = int64(deref(sc.MaximumInstanceCount))
			if tagValue(s.site.Tags, tagMaxUnset) == "true" && h.Function.MaxConcurrency == defaultMaxInstances {
				h.Function.MaxConcurrency = 0
			}
		}
	}
	h.Function.EntryPoint = tagValue(s.site.Tags, tagEntryPoint)
	h.Function.SourceHash = s.settings[settingCodeHash]
	h.Function.TimeoutS, _ = strconv.ParseInt(s.settings[spec.EnvTimeout], 10, 64)
	h.Dedup.TTLS, _ = strconv.ParseInt(s.settings[spec.EnvDedupTTL], 10, 64)
	for k, v := range s.settings {
		if !isInjected(k) {
			if h.Function.Environment == nil {
				h.Function.Environment = map[string]string{}
			}
			h.Function.Environment[k] = v
		}
	}
	h.Tags = userTags(s.site.Tags)
}
