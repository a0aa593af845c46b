package azurefake

import (
	"regexp"
	"strconv"
	"time"
)

var (
	guidPattern          = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	storageNamePattern   = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	containerNamePattern = regexp.MustCompile(`^[a-z0-9](-?[a-z0-9])*$`)
	namespaceNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$`)
	entityNamePattern    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$`)
	subNamePattern       = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)
	cosmosNamePattern    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{1,42})[a-z0-9]$`)
	siteNamePattern      = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,58}[A-Za-z0-9])$`)
	planNamePattern      = regexp.MustCompile(`^[A-Za-z0-9-]{1,60}$`)
	identityNamePattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$`)
	isoDurationPattern   = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)
	appSettingPattern    = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)
)

// parseISODuration parses the ISO 8601 durations ARM takes (P[nD][T[nH][nM][nS]]).
func parseISODuration(s string) (time.Duration, bool) {
	m := isoDurationPattern.FindStringSubmatch(s)
	if m == nil || s == "P" || s == "PT" {
		return 0, false
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute} {
		if m[i+1] != "" {
			n, err := strconv.ParseInt(m[i+1], 10, 64)
			if err != nil || n > 1e7 {
				return 0, false
			}
			d += time.Duration(n) * unit
		}
	}
	if m[4] != "" {
		f, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			return 0, false
		}
		d += time.Duration(f * float64(time.Second))
	}
	return d, true
}
