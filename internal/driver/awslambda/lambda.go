package awslambda

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/threefactor/terraform-provider-threefactor/internal/driver"
	"github.com/threefactor/terraform-provider-threefactor/internal/driver/plumbing"
	"github.com/threefactor/terraform-provider-threefactor/internal/spec"
)

type fnSeen struct {
	cfg  *lambdatypes.FunctionConfiguration
	tags map[string]string
}

func (f *fnSeen) arch() string {
	if len(f.cfg.Architectures) == 0 {
		return string(lambdatypes.ArchitectureX8664)
	}
	return string(f.cfg.Architectures[0])
}

// codeHash turns Lambda's base64 CodeSha256 into the hex form of spec's SourceHash.
func (f *fnSeen) codeHash() string {
	b, err := base64.StdEncoding.DecodeString(aws.ToString(f.cfg.CodeSha256))
	if err != nil {
		return ""
	}
	return hex.EncodeToString(b)
}

func (f *fnSeen) env() map[string]string {
	if f.cfg.Environment == nil || f.cfg.Environment.Variables == nil {
		return map[string]string{}
	}
	return f.cfg.Environment.Variables
}

// fnConfig is a function's configuration as the handler wants it.
type fnConfig struct {
	name, role, handler, arch string
	runtime                   lambdatypes.Runtime
	memory, timeout           int32
	env                       map[string]string
}

// Env is a function's environment on AWS for handler h in region: the user's variables, the secret
// ones and those the driver injects (THREEFACTOR_*: the dedup store and each granted table). Local
// runners rebuild it from the state.
func Env(h *spec.Handler, region string) map[string]string {
	env := map[string]string{}
	maps.Copy(env, h.Function.Environment)
	maps.Copy(env, h.Function.SecretEnvironment)
	tables := map[string]string{}
	for name, g := range h.Function.Tables {
		a, _ := parseARN(g.TableID)
		tables[name] = StoreURL(lastPart(g.TableID), a.Region)
	}
	maps.Copy(env, h.Env(StoreURL(namesOf(h.Name, region).DedupTable, region), tables))
	return env
}

func (d *Driver) fnConfig(h *spec.Handler, roleARN string) fnConfig {
	return fnConfig{
		name: d.names(h.Name).Function, role: roleARN, handler: h.Function.EntryPoint, arch: h.Function.Architecture,
		runtime: lambdatypes.Runtime(rules.Runtimes[h.Function.Runtime].Name),
		memory:  int32(h.Function.MemoryMB), timeout: int32(h.Function.TimeoutS), env: Env(h, d.region),
	}
}

// neutralRuntime maps Lambda's runtime back to spec's name; one spec does not know stays as Lambda's.
func neutralRuntime(r lambdatypes.Runtime) string {
	for _, n := range spec.RuntimeNames {
		if rules.Runtimes[n].Name == string(r) {
			return n
		}
	}
	return string(r)
}

// createFunction creates the function, retrying while its new role cannot be assumed yet. Callers
// record the ARN, then wait with settle on the configuration returned.
func (d *Driver) createFunction(ctx context.Context, w fnConfig, zip []byte, tags map[string]string) (string, *lambdatypes.FunctionConfiguration, error) {
	ctx, acted := trackActed(ctx)
	var out *lambda.CreateFunctionOutput
	err := plumbing.RetryWhile(ctx, propagationTimeout, isPropagating, func() (err error) {
		out, err = d.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName:  &w.name,
			Role:          &w.role,
			Runtime:       w.runtime,
			Handler:       &w.handler,
			MemorySize:    &w.memory,
			Timeout:       &w.timeout,
			Architectures: []lambdatypes.Architecture{lambdatypes.Architecture(w.arch)},
			Environment:   &lambdatypes.Environment{Variables: w.env},
			Code:          &lambdatypes.FunctionCode{ZipFile: zip},
			PackageType:   lambdatypes.PackageTypeZip,
			LoggingConfig: &lambdatypes.LoggingConfig{LogGroup: aws.String(logGroupName(w.name))},
			Tags:          tags,
		})
		return err
	})
	if ownRetry(err, acted) {
		if f, rerr := d.readFunction(ctx, w.name); rerr == nil && f != nil && f.tags[HandlerTag] == tags[HandlerTag] {
			return aws.ToString(f.cfg.FunctionArn), f.cfg, nil
		}
	}
	if err != nil {
		return "", nil, createFailed(driver.Function, w.name, err)
	}
	return aws.ToString(out.FunctionArn), &lambdatypes.FunctionConfiguration{
		FunctionArn: out.FunctionArn, State: out.State, StateReason: out.StateReason, LastUpdateStatus: out.LastUpdateStatus,
		LastUpdateStatusReason: out.LastUpdateStatusReason, Architectures: out.Architectures, CodeSha256: out.CodeSha256,
	}, nil
}

// settle waits until the function is Active with no update in progress (Lambda refuses updates, and
// fails invocations, before that), starting from cfg, the state a call just returned. It polls only
// when cfg is not settled yet.
func (d *Driver) settle(ctx context.Context, name string, cfg *lambdatypes.FunctionConfiguration) (*lambdatypes.FunctionConfiguration, error) {
	if ok, err := settled(cfg); ok || err != nil {
		return cfg, fail(driver.Function, "waiting for", name, err)
	}
	err := plumbing.PollNew(ctx, newResourceGrace, isNotFound, func() (bool, error) {
		out, err := d.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &name})
		if err != nil {
			return false, err
		}
		cfg = &lambdatypes.FunctionConfiguration{
			FunctionArn: out.FunctionArn, State: out.State, StateReason: out.StateReason, LastUpdateStatus: out.LastUpdateStatus,
			LastUpdateStatusReason: out.LastUpdateStatusReason, Architectures: out.Architectures, CodeSha256: out.CodeSha256,
		}
		return settled(cfg)
	})
	if err != nil {
		return nil, fail(driver.Function, "waiting for", name, err)
	}
	return cfg, nil
}

// settled reports whether a function is ready for the next call, or failed.
func settled(cfg *lambdatypes.FunctionConfiguration) (bool, error) {
	switch {
	case cfg.State == lambdatypes.StateFailed:
		return false, fmt.Errorf("function failed: %s", aws.ToString(cfg.StateReason))
	case cfg.LastUpdateStatus == lambdatypes.LastUpdateStatusFailed:
		return false, fmt.Errorf("function update failed: %s", aws.ToString(cfg.LastUpdateStatusReason))
	}
	return cfg.State == lambdatypes.StateActive && cfg.LastUpdateStatus != lambdatypes.LastUpdateStatusInProgress, nil
}

// updateFunction brings an existing function to w and code (when given), then its tags. Lambda takes
// a new architecture only with code, in UpdateFunctionCode. It returns errReplace when the cloud kept
// the old architecture anyway (moto ignores it there), which only replacing the function fixes.
func (d *Driver) updateFunction(ctx context.Context, cur *fnSeen, w fnConfig, wantHash string, code *driver.Code, tags map[string]string) error {
	arn := aws.ToString(cur.cfg.FunctionArn)
	c := cur.cfg
	if _, err := d.settle(ctx, w.name, c); err != nil {
		return err
	}
	if aws.ToString(c.Role) != w.role || c.Runtime != w.runtime || aws.ToString(c.Handler) != w.handler ||
		aws.ToInt32(c.MemorySize) != w.memory || aws.ToInt32(c.Timeout) != w.timeout || !maps.Equal(cur.env(), w.env) {
		var out *lambda.UpdateFunctionConfigurationOutput
		err := plumbing.RetryWhile(ctx, propagationTimeout, isPropagating, func() (err error) {
			out, err = d.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
				FunctionName: &w.name, Role: &w.role, Runtime: w.runtime, Handler: &w.handler,
				MemorySize: &w.memory, Timeout: &w.timeout, Environment: &lambdatypes.Environment{Variables: w.env},
			})
			return err
		})
		if err != nil {
			return fail(driver.Function, "updating", arn, err)
		}
		if _, err := d.settle(ctx, w.name, &lambdatypes.FunctionConfiguration{State: out.State, LastUpdateStatus: out.LastUpdateStatus,
			StateReason: out.StateReason, LastUpdateStatusReason: out.LastUpdateStatusReason}); err != nil {
			return err
		}
	}
	if cur.codeHash() != wantHash || cur.arch() != w.arch {
		if code == nil {
			return driver.Errorf(driver.Function, "updating", arn, driver.InvalidArgument,
				fmt.Errorf("the function has code %s for %s, the handler wants %s for %s, and no code package was given: Lambda changes code and architecture together",
					cur.codeHash(), cur.arch(), wantHash, w.arch))
		}
		out, err := d.lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
			FunctionName: &w.name, ZipFile: code.Zip, Architectures: []lambdatypes.Architecture{lambdatypes.Architecture(w.arch)},
		})
		if err != nil {
			return fail(driver.Function, "updating the code of", arn, err)
		}
		cfg, err := d.settle(ctx, w.name, &lambdatypes.FunctionConfiguration{State: out.State, LastUpdateStatus: out.LastUpdateStatus,
			StateReason: out.StateReason, LastUpdateStatusReason: out.LastUpdateStatusReason, Architectures: out.Architectures})
		if err != nil {
			return err
		}
		if (&fnSeen{cfg: cfg}).arch() != w.arch {
			return errReplace
		}
	}
	return fail(driver.Function, "updating", arn, d.retagLambda(ctx, arn, tags, cur.tags))
}

// retagLambda turns the tags of the function or mapping arn from have into want.
func (d *Driver) retagLambda(ctx context.Context, arn string, want, have map[string]string) error {
	return plumbing.Retag(want, have,
		func(keys []string) error {
			_, err := d.lambda.UntagResource(ctx, &lambda.UntagResourceInput{Resource: &arn, TagKeys: keys})
			return err
		},
		func(set map[string]string) error {
			_, err := d.lambda.TagResource(ctx, &lambda.TagResourceInput{Resource: &arn, Tags: set})
			return err
		})
}

// errReplace says the function must be deleted and created again under its name.
var errReplace = errors.New("the function kept its previous architecture")

// readFunction returns nil when the function is gone. GetFunction carries the tags.
func (d *Driver) readFunction(ctx context.Context, arn string) (*fnSeen, error) {
	out, err := d.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &arn})
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.Function, "reading", arn, err)
	}
	f := &fnSeen{cfg: out.Configuration, tags: out.Tags}
	if f.tags == nil {
		f.tags = map[string]string{}
	}
	return f, nil
}

func (d *Driver) deleteFunction(ctx context.Context, arn string) error {
	_, err := d.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: &arn})
	return fail(driver.Function, "deleting", arn, codes.IgnoreNotFound(err))
}

type mappingSeen struct {
	out  *lambda.GetEventSourceMappingOutput
	arn  string
	tags map[string]string
}

// mappingSettings are what the driver sets on the event source mapping. Partial batch responses are
// always on: without them one failed message retries the whole batch.
type mappingSettings struct {
	batchSize, window, maxConcurrency int32
	enabled                           bool
}

func mappingOf(h *spec.Handler) mappingSettings {
	return mappingSettings{int32(h.Trigger.BatchSize), int32(h.Trigger.BatchWindowS), int32(h.Function.MaxConcurrency), !h.Trigger.Paused}
}

// mappingPaused reports a mapping disabled or being disabled.
func mappingPaused(state string) bool { return state == "Disabled" || state == "Disabling" }

func scaling(maxConcurrency int32) *lambdatypes.ScalingConfig {
	if maxConcurrency == 0 {
		return &lambdatypes.ScalingConfig{} // removes a previous maximum
	}
	return &lambdatypes.ScalingConfig{MaximumConcurrency: &maxConcurrency}
}

var reportFailures = []lambdatypes.FunctionResponseType{lambdatypes.FunctionResponseTypeReportBatchItemFailures}

// createMapping creates the mapping, retrying while the role cannot read the queue yet. Callers
// record the UUID, then wait with waitMapping unless the state returned is final already.
func (d *Driver) createMapping(ctx context.Context, fnARN, queueARN string, m mappingSettings, tags map[string]string) (uuid, state string, _ error) {
	ctx, acted := trackActed(ctx)
	in := &lambda.CreateEventSourceMappingInput{
		FunctionName: &fnARN, EventSourceArn: &queueARN, Enabled: aws.Bool(m.enabled),
		BatchSize: &m.batchSize, MaximumBatchingWindowInSeconds: &m.window,
		FunctionResponseTypes: reportFailures, Tags: tags,
	}
	if m.maxConcurrency != 0 {
		in.ScalingConfig = scaling(m.maxConcurrency)
	}
	var out *lambda.CreateEventSourceMappingOutput
	err := plumbing.RetryWhile(ctx, propagationTimeout, isPropagating, func() (err error) {
		out, err = d.lambda.CreateEventSourceMapping(ctx, in)
		return err
	})
	if acted.Load() && (err == nil || isConflict(err)) {
		var uuid, state string
		if err == nil {
			uuid, state = aws.ToString(out.UUID), aws.ToString(out.State)
		}
		return d.keepOneMapping(ctx, fnARN, queueARN, uuid, state)
	}
	if err != nil {
		return "", "", createFailed(driver.Mapping, queueARN, err)
	}
	return aws.ToString(out.UUID), aws.ToString(out.State), nil
}

// keepOneMapping settles a create that was retried after an attempt that may have taken effect.
// AWS refuses a second mapping of the same queue to the same function (the retry then reads as a
// conflict), an emulator may make one: either way the mapping the call returned (uuid, when it
// returned one; else the first listed) stays, any other is deleted, since two would deliver every
// event twice. A mapping from this handler's function to its queue is this handler's.
func (d *Driver) keepOneMapping(ctx context.Context, fnARN, queueARN, uuid, state string) (string, string, error) {
	list, err := d.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: &fnARN, EventSourceArn: &queueARN})
	if err != nil {
		return uuid, state, fail(driver.Mapping, "creating", queueARN, err)
	}
	for _, m := range list.EventSourceMappings {
		switch id := aws.ToString(m.UUID); {
		case id == uuid:
		case uuid == "":
			uuid, state = id, aws.ToString(m.State)
		default:
			if err := d.deleteMapping(ctx, id); err != nil {
				return uuid, state, err
			}
		}
	}
	if uuid == "" {
		return "", "", driver.Errorf(driver.Mapping, "creating", queueARN, driver.NotFound, errors.New("the mapping a retried create reported does not exist"))
	}
	return uuid, state, nil
}

// mappingReady: Enabled or Disabled, not Creating, Enabling, Updating or Disabling.
func mappingReady(state string) bool { return state == "Enabled" || state == "Disabled" }

// waitMapping waits out the Creating, Enabling and Updating states.
func (d *Driver) waitMapping(ctx context.Context, uuid string) error {
	return fail(driver.Mapping, "waiting for", uuid, plumbing.PollNew(ctx, newResourceGrace, isNotFound, func() (bool, error) {
		out, err := d.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: &uuid})
		if err != nil {
			return false, err
		}
		return mappingReady(aws.ToString(out.State)), nil
	}))
}

func (d *Driver) updateMapping(ctx context.Context, cur *mappingSeen, fnARN string, m mappingSettings, tags map[string]string) error {
	o := cur.out
	uuid := aws.ToString(o.UUID)
	var have int32
	if o.ScalingConfig != nil {
		have = aws.ToInt32(o.ScalingConfig.MaximumConcurrency)
	}
	if aws.ToString(o.FunctionArn) != fnARN || aws.ToInt32(o.BatchSize) != m.batchSize || aws.ToInt32(o.MaximumBatchingWindowInSeconds) != m.window ||
		have != m.maxConcurrency || !hasReportFailures(o.FunctionResponseTypes) || mappingPaused(aws.ToString(o.State)) == m.enabled {
		var out *lambda.UpdateEventSourceMappingOutput
		err := plumbing.RetryWhile(ctx, propagationTimeout, isPropagating, func() (err error) {
			out, err = d.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{
				UUID: &uuid, FunctionName: &fnARN, Enabled: aws.Bool(m.enabled), BatchSize: &m.batchSize,
				MaximumBatchingWindowInSeconds: &m.window, ScalingConfig: scaling(m.maxConcurrency), FunctionResponseTypes: reportFailures,
			})
			return err
		})
		if err != nil {
			return fail(driver.Mapping, "updating", uuid, err)
		}
		if !mappingReady(aws.ToString(out.State)) {
			if err := d.waitMapping(ctx, uuid); err != nil {
				return err
			}
		}
	}
	return fail(driver.Mapping, "updating", uuid, d.retagLambda(ctx, cur.arn, tags, cur.tags))
}

func hasReportFailures(ts []lambdatypes.FunctionResponseType) bool {
	return len(ts) == 1 && ts[0] == lambdatypes.FunctionResponseTypeReportBatchItemFailures
}

// readMapping returns nil when the mapping is gone. GetEventSourceMapping lacks tags.
func (d *Driver) readMapping(ctx context.Context, uuid string) (*mappingSeen, error) {
	out, err := d.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: &uuid})
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.Mapping, "reading", uuid, err)
	}
	m := &mappingSeen{out: out, arn: aws.ToString(out.EventSourceMappingArn)}
	if m.arn == "" {
		m.arn = "arn:" + d.partition + ":lambda:" + d.region + ":" + accountOf(aws.ToString(out.FunctionArn)) + ":event-source-mapping:" + uuid
	}
	tags, err := d.lambda.ListTags(ctx, &lambda.ListTagsInput{Resource: &m.arn})
	if ok, err := codes.Exists(err); !ok {
		return nil, fail(driver.Mapping, "reading the tags of", uuid, err)
	}
	m.tags = tags.Tags
	if m.tags == nil {
		m.tags = map[string]string{}
	}
	return m, nil
}

// deleteMapping deletes the mapping; Lambda finishes it asynchronously, which nothing here waits for.
func (d *Driver) deleteMapping(ctx context.Context, uuid string) error {
	_, err := d.lambda.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: &uuid})
	return fail(driver.Mapping, "deleting", uuid, codes.IgnoreNotFound(err))
}
