package gcpfake

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultRuntimes are the Cloud Functions v2 runtime ids the fake accepts: the supported (not
// decommissioned) ones of Google's runtime support schedule.
var DefaultRuntimes = []string{
	"nodejs18", "nodejs20", "nodejs22", "nodejs24",
	"python39", "python310", "python311", "python312", "python313",
	"go121", "go122", "go123", "go124", "go125",
	"java17", "java21",
	"ruby32", "ruby33", "ruby34",
	"php82", "php83", "php84",
	"dotnet8",
}

// memoryTiers are Cloud Functions v2's memory sizes in MiB with the vCPUs each gets by default.
var memoryTiers = []struct {
	mib  int
	cpus float64
}{{128, 0.083}, {256, 0.167}, {512, 0.333}, {1024, 0.583}, {2048, 1}, {4096, 2}, {8192, 2}, {16384, 4}, {32768, 8}}

var (
	projectIDPattern  = regexp.MustCompile(`^[a-z][-a-z0-9]{4,28}[a-z0-9]$`)
	functionIDPattern = regexp.MustCompile(`^[a-z]([-a-z0-9]{2,61}[a-z0-9])$`)
	accountIDPattern  = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])$`)
	databaseIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{2,61}[a-z0-9]$`)
	uuidLike          = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	regionPattern     = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]{1,2}$`)
	labelKeyPattern   = regexp.MustCompile(`^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$`)
	labelValuePattern = regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$`)
	envNamePattern    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	entryPointPattern = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$.]*$`)
	memoryPattern     = regexp.MustCompile(`^([0-9]+)(M|Mi|G|Gi)$`)
)

// reservedEnv are environment variables Cloud Run sets itself.
var reservedEnv = []string{"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"}

func invalid(format string, a ...any) error {
	return status.Errorf(codes.InvalidArgument, format, a...)
}

// memoryMiB parses available_memory: one of the tiers, in M/Mi or G/Gi ("" is the default 256Mi).
func memoryMiB(v string) (int, float64, error) {
	if v == "" {
		return 256, 0.167, nil
	}
	m := memoryPattern.FindStringSubmatch(v)
	if m == nil {
		return 0, 0, invalid("Invalid value %q for available_memory: want one of 128Mi, 256Mi, 512Mi, 1Gi, 2Gi, 4Gi, 8Gi, 16Gi, 32Gi.", v)
	}
	n, _ := strconv.Atoi(m[1])
	if strings.HasPrefix(m[2], "G") {
		n *= 1024
	}
	for _, t := range memoryTiers {
		if t.mib == n {
			return n, t.cpus, nil
		}
	}
	return 0, 0, invalid("Invalid value %q for available_memory: want one of 128Mi, 256Mi, 512Mi, 1Gi, 2Gi, 4Gi, 8Gi, 16Gi, 32Gi.", v)
}

// checkFunction enforces the rules of a function about to be deployed (after an update's mask is
// applied).
func (s *Server) checkFunction(fn *functionspb.Function) error {
	if fn.GetEnvironment() == functionspb.Environment_GEN_1 {
		return invalid("environment GEN_1 is not served by this fake: use GEN_2.")
	}
	bc := fn.GetBuildConfig()
	if bc == nil {
		return invalid("build_config is required.")
	}
	if bc.GetRuntime() == "" {
		return invalid("build_config.runtime is required.")
	}
	if !slices.Contains(s.opts.Runtimes, bc.GetRuntime()) {
		return invalid("Invalid runtime %q: supported runtimes are %s.", bc.GetRuntime(), strings.Join(s.opts.Runtimes, ", "))
	}
	if ep := bc.GetEntryPoint(); ep != "" && !entryPointPattern.MatchString(ep) {
		return invalid("Invalid entry_point %q.", ep)
	}
	src := bc.GetSource().GetStorageSource()
	if src == nil {
		return invalid("build_config.source.storage_source is required: upload the source to a URL from GenerateUploadUrl.")
	}
	if _, ok := s.st.sources[src.GetBucket()+"/"+src.GetObject()]; !ok {
		return invalid("Source gs://%s/%s does not exist: upload the zip to the URL GenerateUploadUrl returned, then name its storage_source.", src.GetBucket(), src.GetObject())
	}
	sc := fn.GetServiceConfig()
	_, cpus, err := memoryMiB(sc.GetAvailableMemory())
	if err != nil {
		return err
	}
	if c := sc.GetAvailableCpu(); c != "" {
		v, err := strconv.ParseFloat(c, 64)
		if err != nil || v <= 0 || v > 8 {
			return invalid("Invalid available_cpu %q: want a number of vCPUs up to 8.", c)
		}
		cpus = v
	}
	maxTimeout := int32(3600)
	if fn.GetEventTrigger() != nil {
		maxTimeout = 540
	}
	if t := sc.GetTimeoutSeconds(); t < 0 || t > maxTimeout {
		return invalid("Invalid timeout_seconds %d: want 1-%d (0 for the default 60).", t, maxTimeout)
	}
	if n := sc.GetMaxInstanceCount(); n < 0 || n > 1000 {
		return invalid("Invalid max_instance_count %d: want 0-1000.", n)
	}
	if n := sc.GetMinInstanceCount(); n < 0 || (sc.GetMaxInstanceCount() > 0 && n > sc.GetMaxInstanceCount()) {
		return invalid("Invalid min_instance_count %d: want 0 up to max_instance_count.", n)
	}
	if c := sc.GetMaxInstanceRequestConcurrency(); c < 0 || c > 1000 {
		return invalid("Invalid max_instance_request_concurrency %d: want 1-1000.", c)
	} else if c > 1 && cpus < 1 {
		return invalid("max_instance_request_concurrency %d needs at least 1 vCPU (memory 2Gi or more, or available_cpu).", c)
	}
	for k := range sc.GetEnvironmentVariables() {
		if !envNamePattern.MatchString(k) {
			return invalid("Invalid environment variable name %q.", k)
		}
		if slices.Contains(reservedEnv, k) || strings.HasPrefix(k, "X_GOOGLE_") {
			return invalid("Environment variable %s is reserved.", k)
		}
	}
	if sa := sc.GetServiceAccountEmail(); strings.HasSuffix(sa, "@"+s.opts.Project+".iam.gserviceaccount.com") {
		if _, ok := s.st.accounts[sa]; !ok {
			return invalid("Service account %s does not exist.", sa)
		}
	}
	return checkLabels(fn.GetLabels())
}

// checkLabels enforces Google's label rules: at most 64; keys 1-63 lowercase letters, digits,
// underscores or hyphens starting with a letter; values 0-63 of the same.
func checkLabels(labels map[string]string) error {
	if len(labels) > 64 {
		return invalid("Too many labels: %d, at most 64.", len(labels))
	}
	for k, v := range labels {
		if !labelKeyPattern.MatchString(k) {
			return invalid("Invalid label key %q: 1-63 lowercase letters, digits, underscores or hyphens, starting with a letter.", k)
		}
		if !labelValuePattern.MatchString(v) {
			return invalid("Invalid value %q of label %s: 0-63 lowercase letters, digits, underscores or hyphens.", v, k)
		}
	}
	return nil
}

// checkAccountID enforces the service-account id rule.
func checkAccountID(id string) error {
	if len(id) < 6 || len(id) > 30 || !accountIDPattern.MatchString(id) {
		return invalid("Invalid account_id %q: 6-30 characters matching ^[a-z]([-a-z0-9]*[a-z0-9])$.", id)
	}
	return nil
}

// checkDatabaseID enforces the Firestore database id rule.
func checkDatabaseID(id string) error {
	if id == "(default)" {
		return nil
	}
	if !databaseIDPattern.MatchString(id) || uuidLike.MatchString(id) {
		return invalid("Invalid database_id %q: 4-63 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen, not UUID-like; or (default).", id)
	}
	return nil
}

// splitName matches name against a pattern of literal and "*" segments and returns the wildcards.
func splitName(name, pattern string) ([]string, bool) {
	ns, ps := strings.Split(name, "/"), strings.Split(pattern, "/")
	if len(ns) != len(ps) {
		return nil, false
	}
	var out []string
	for i, p := range ps {
		switch {
		case p == "*" && ns[i] != "":
			out = append(out, ns[i])
		case p != ns[i]:
			return nil, false
		}
	}
	return out, true
}

func badName(kind, name, pattern string) error {
	return invalid("Invalid %s name %q: want %s.", kind, name, pattern)
}

// checkProject accepts the fake's project by id or number; any other is PERMISSION_DENIED.
func (s *Server) checkProject(p string) error {
	if p == s.opts.Project || p == fmt.Sprint(s.opts.ProjectNumber) {
		return nil
	}
	return status.Errorf(codes.PermissionDenied, "Permission denied on resource project %s (or it may not exist).", p)
}
