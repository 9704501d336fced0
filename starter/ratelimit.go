package starter

import (
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiterIdle is how long a subject's limiter is kept after its last
// request. A limiter that has been idle this long is full again, so
// forgetting it changes nothing for the subject.
const limiterIdle = 10 * time.Minute

// subjectLimiter is a token bucket per authenticated subject.
type subjectLimiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newSubjectLimiter(perSecond float64, burst int, now func() time.Time) *subjectLimiter {
	return &subjectLimiter{limit: rate.Limit(perSecond), burst: burst, now: now, buckets: make(map[string]*bucket)}
}

// allow takes a token for subject, or returns the 429 to answer.
func (l *subjectLimiter) allow(subject string) *apiError {
	now := l.now()
	l.mu.Lock()
	b, ok := l.buckets[subject]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[subject] = b
	}
	b.seen = now
	if now.Sub(l.lastSweep) > limiterIdle {
		l.sweep(now)
	}
	l.mu.Unlock()

	res := b.lim.ReserveN(now, 1)
	if !res.OK() {
		return rateLimited(time.Second)
	}
	if wait := res.DelayFrom(now); wait > 0 {
		res.CancelAt(now) // we answer 429 instead of waiting: give the token back
		return rateLimited(wait)
	}
	return nil
}

// sweep forgets idle subjects, so the map does not grow with every subject
// ever seen. l.mu must be held.
func (l *subjectLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.seen) > limiterIdle {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}

func rateLimited(wait time.Duration) *apiError {
	return newError(http.StatusTooManyRequests, codeRateLimited, "too many requests, retry later").
		withHeader("Retry-After", retryAfter(wait))
}
