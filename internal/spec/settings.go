package spec

// CopySetting copies the setting at an attribute path ("function.memory_mb", "tags"; "source_hash"
// for the code's hash) from src to dst. function.environment carries secret_environment with it.
func CopySetting(dst, src *Handler, path string) {
	df, sf, dt, st := &dst.Function, &src.Function, &dst.Trigger, &src.Trigger
	switch path {
	case "function.runtime":
		df.Runtime = sf.Runtime
	case "function.entry_point":
		df.EntryPoint = sf.EntryPoint
	case "source_hash":
		df.SourceHash = sf.SourceHash
	case "function.memory_mb":
		df.MemoryMB = sf.MemoryMB
	case "function.timeout_s":
		df.TimeoutS = sf.TimeoutS
	case "function.architecture":
		df.Architecture = sf.Architecture
	case "function.environment":
		df.Environment, df.SecretEnvironment = sf.Environment, sf.SecretEnvironment
	case "function.max_concurrency":
		df.MaxConcurrency = sf.MaxConcurrency
	case "function.log_retention_days":
		df.LogRetentionDays = sf.LogRetentionDays
	case "trigger.kind":
		dt.Kind = st.Kind
	case "trigger.source":
		dt.Source = st.Source
	case "trigger.batch_size":
		dt.BatchSize = st.BatchSize
	case "trigger.batch_window_s":
		dt.BatchWindowS = st.BatchWindowS
	case "function.tables":
		df.Tables = sf.Tables
	case "trigger.filter":
		dt.Filter = st.Filter
	case "trigger.enabled":
		dt.Paused = st.Paused
	case "trigger.visibility_timeout_s":
		dt.VisibilityTimeoutS = st.VisibilityTimeoutS
	case "retry.max_attempts":
		dst.Retry.MaxAttempts = src.Retry.MaxAttempts
	case "retry.min_backoff_s":
		dst.Retry.MinBackoffS = src.Retry.MinBackoffS
	case "dead_letter.retention_days":
		dst.DeadLetter.RetentionDays = src.DeadLetter.RetentionDays
	case "dedup.ttl_s":
		dst.Dedup.TTLS = src.Dedup.TTLS
	case "tags":
		dst.Tags = src.Tags
	default:
		panic("spec: no setting at " + path)
	}
}
