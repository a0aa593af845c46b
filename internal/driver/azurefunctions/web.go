package azurefunctions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"

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
	// settingSource is the adopted trigger.source, and settingSourcePrior the settings an adopted
	// queue had before (JSON of entity): what import finds in any resource group, and what destroy
	// then restores.
	settingSource      = "THREEFACTOR_SOURCE"
	settingSourcePrior = "THREEFACTOR_SOURCE_PRIOR"
	// settingInsights and settingInsightsAuth send the host's telemetry to the Application
	// Insights component with the identity's token (the component takes no instrumentation key).
	settingInsights     = "APPLICATIONINSIGHTS_CONNECTION_STRING"
	settingInsightsAuth = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
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
	insights                                                   string // connection string
	source, sourcePrior                                        string
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

// Env is the part of a function's app settings that its code reads, for handler h whose dedup
// container has ARM id dedupID: the user's variables, the secret ones and THREEFACTOR_* (the dedup
// store and each granted table). Local runners rebuild it from the state.
func Env(h *spec.Handler, dedupID string) map[string]string {
	account, database := splitDedup(dedupID)
	env := map[string]string{}
	maps.Copy(env, h.Function.Environment)
	maps.Copy(env, h.Function.SecretEnvironment)
	maps.Copy(env, h.Env(dedupStoreURL(lastPart(account), database, dedupContainer), tableURLs(h.Function.Tables)))
	return env
}

func injected(h *spec.Handler, w wiring) map[string]string {
	m := h.Env(dedupStoreURL(lastPart(w.cosmos), w.database, dedupContainer), tableURLs(h.Function.Tables))
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
		settingInsights:                                                             w.insights,
		settingInsightsAuth:                                                         "ClientId=" + w.clientID + ";Authorization=AAD",
	} {
		m[k] = v
	}
	if h.Trigger.Kind == spec.Topic {
		m[settingTopic], m[settingSub] = w.topic, w.subscription
	} else {
		m[settingQueue] = w.queue
	}
	if w.source != "" {
		m[settingSource] = w.source
	}
	if w.sourcePrior != "" {
		m[settingSourcePrior] = w.sourcePrior
	}
	return m
}

// isInjected reports a setting the driver writes, which Read strips from the environment.
func isInjected(k string) bool {
	switch k {
	case spec.EnvHandler, spec.EnvCloud, spec.EnvDedupStore, spec.EnvDedupTTL, spec.EnvTimeout, settingCodeHash,
		settingQueue, settingTopic, settingSub, "AZURE_CLIENT_ID", settingInsights, settingInsightsAuth, settingSource, settingSourcePrior:
		return true
	}
	return strings.HasPrefix(k, "AzureWebJobsStorage") || strings.HasPrefix(k, spec.EnvTablePrefix) || strings.HasPrefix(k, settingConnection+"__") || strings.HasPrefix(k, "AzureFunctionsJobHost__")
}

func runtimeOf(neutral string) (name, version string) {
	name, version, _ = strings.Cut(rules.Runtimes[neutral].Name, "/")
	return name, version
}

func neutralRuntime(rt *functionsRuntime) string {
	if rt == nil {
		return ""
	}
	want := rt.Name + "/" + rt.Version
	for n, r := range rules.Runtimes {
		if r.Name == want {
			return n
		}
	}
	return want
}

func (d *Driver) createPlan(ctx context.Context, name string, tags map[string]*string) (string, error) {
	id := d.id("Microsoft.Web/serverfarms", name)
	err := d.web.put(ctx, id, webPlan{
		Location: d.location, Tags: tags, Kind: "functionapp",
		SKU: &planSKU{Name: "FC1", Tier: "FlexConsumption"}, Properties: &planProperties{Reserved: true},
	})
	return id, fail(Plan, "creating", name, err)
}

func (d *Driver) readPlan(ctx context.Context, id string) (*webPlan, error) {
	var p webPlan
	err := d.web.call(ctx, http.MethodGet, id, nil, &p)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(Plan, "reading", id, err)
	}
	return &p, nil
}

func (d *Driver) deletePlan(ctx context.Context, id string) error {
	err := d.web.call(ctx, http.MethodDelete, id, nil, nil)
	return fail(Plan, "deleting", id, codes.IgnoreNotFound(err))
}

// site is the function app: Linux Flex Consumption, HTTPS only, TLS 1.2, FTP off, running as the
// handler's identity, deploying from its storage account's container with that identity.
func (d *Driver) site(h *spec.Handler, planID string, w wiring, settings map[string]string) site {
	tags := tagsFor(h.Tags, h.Name)
	tags[tagEntryPoint] = to.Ptr(h.Function.EntryPoint)
	sc := &scale{InstanceMemoryMB: to.Ptr(h.Function.MemoryMB)}
	if h.Function.MaxConcurrency > 0 {
		sc.MaximumInstanceCount = to.Ptr(h.Function.MaxConcurrency)
	} else {
		tags[tagMaxUnset] = to.Ptr("true")
	}
	name, version := runtimeOf(h.Function.Runtime)
	var list []nameValue
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		list = append(list, nameValue{Name: k, Value: settings[k]})
	}
	return site{
		Location: d.location, Tags: tags, Kind: "functionapp,linux",
		Identity: &siteIdentity{Type: "UserAssigned", UserAssignedIdentities: map[string]map[string]any{w.identityID: {}}},
		Properties: &siteProperties{
			ServerFarmID: planID, HTTPSOnly: to.Ptr(true),
			SiteConfig: &siteConfig{MinTLSVersion: "1.2", FtpsState: "Disabled", AppSettings: list},
			FunctionAppConfig: &functionAppConfig{
				Deployment: &deployment{Storage: &deploymentStorage{
					Type: "blobContainer", Value: "https://" + w.storage + ".blob.core.windows.net/" + deployContainer,
					Authentication: storageAuthConfig{Type: "UserAssignedIdentity", UserAssignedIdentityResourceID: w.identityID},
				}},
				Runtime:             &functionsRuntime{Name: name, Version: version},
				ScaleAndConcurrency: sc,
			},
		},
	}
}

// siteSeen is the function app, its app settings and its publishing policies.
type siteSeen struct {
	site               *site
	settings           map[string]string
	ftpAllowed, scmAll bool
}

func (d *Driver) putSite(ctx context.Context, name string, s site) error {
	return d.web.put(ctx, d.id("Microsoft.Web/sites", name), s)
}

func (d *Driver) readSite(ctx context.Context, id string) (*siteSeen, error) {
	var st site
	err := d.web.call(ctx, http.MethodGet, id, nil, &st)
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.Function, "reading", id, err)
	}
	s := &siteSeen{site: &st}
	var settings settingsBody
	var ftp, scm publishingPolicy
	err = plumbing.Concurrently(
		func() error { return d.web.call(ctx, http.MethodPost, id+"/config/appsettings/list", nil, &settings) },
		func() error {
			return d.web.call(ctx, http.MethodGet, id+"/basicPublishingCredentialsPolicies/ftp", nil, &ftp)
		},
		func() error {
			return d.web.call(ctx, http.MethodGet, id+"/basicPublishingCredentialsPolicies/scm", nil, &scm)
		},
	)
	if codes.NotFound(err) {
		return nil, nil
	}
	s.settings, s.ftpAllowed, s.scmAll = settings.Properties, ftp.Properties.Allow, scm.Properties.Allow
	if s.settings == nil {
		s.settings = map[string]string{}
	}
	return s, fail(driver.Function, "reading", id, err)
}

func (d *Driver) putSettings(ctx context.Context, name string, settings map[string]string) error {
	err := d.web.call(ctx, http.MethodPut, d.id("Microsoft.Web/sites", name)+"/config/appsettings", settingsBody{Properties: settings}, nil)
	return fail(driver.Function, "writing the app settings of", name, err)
}

// disableBasicAuth turns FTP and SCM basic publishing credentials off.
func (d *Driver) disableBasicAuth(ctx context.Context, name string) error {
	var off publishingPolicy
	for _, p := range []string{"ftp", "scm"} {
		if err := d.web.call(ctx, http.MethodPut, d.id("Microsoft.Web/sites", name)+"/basicPublishingCredentialsPolicies/"+p, off, nil); err != nil {
			return fail(driver.Function, "turning off "+p+" basic publishing credentials of", name, err)
		}
	}
	return nil
}

func (d *Driver) deleteSite(ctx context.Context, id string) error {
	err := d.web.call(ctx, http.MethodDelete, id, nil, nil)
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
func (d *Driver) publish(ctx context.Context, h *spec.Handler, site string, pkg []byte) error {
	zip, err := withHostJSON(h, pkg)
	if err != nil {
		return driver.Errorf(driver.Function, "packaging the code of", site, driver.InvalidArgument, err)
	}
	url := "https://" + strings.ToLower(site) + ".scm." + d.scmSuffix + "/api/publish?RemoteBuild=false"
	err = retryPropagation(ctx, func() error {
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
			h.Function.MemoryMB = deref(sc.InstanceMemoryMB)
			h.Function.MaxConcurrency = deref(sc.MaximumInstanceCount)
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
