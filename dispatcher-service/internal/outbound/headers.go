package outbound

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryAfter reads a Retry-After response header (delay-seconds or HTTP-date)
// and returns how long after now the receiver asked to be retried. It returns
// false when the header is absent or unparseable; a negative delay or a date
// in the past yields 0. Clamping to a sensible range is the scheduler's
// business, not this function's.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0, true
		}
		if secs > math.MaxInt64/int64(time.Second) {
			// Would overflow a Duration; the largest one is as good as forever.
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(secs) * time.Second, true
	}
	if when, err := http.ParseTime(v); err == nil {
		return max(when.Sub(now), 0), true
	}
	return 0, false
}
