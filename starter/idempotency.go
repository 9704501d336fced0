package starter

import (
	"net/http"
	"sync"
	"time"
)

// Bounds of the Idempotency-Key bindings a starter remembers.
const (
	// keyWindow is how long a key stays bound to its request. Clients
	// retry within minutes; a day covers a retry after an outage.
	keyWindow = 24 * time.Hour
	// maxKeys bounds the memory of the bindings (about 200 bytes each);
	// beyond it the oldest are forgotten first.
	maxKeys = 100_000
)

// keyBinder binds each tenant's Idempotency-Keys to a digest of the request
// that first used them, so the same key with another request answers 409
// even when the two would start different workflow ids (another type,
// another supplier, another client id), which Temporal cannot see. Temporal
// stays the durable record for the one id a key names (see plan): after a
// restart, only that check remains until the key is used again.
type keyBinder struct {
	now func() time.Time

	mu    sync.Mutex
	bound map[string]*keyEntry
	// order holds the bindings in the order they were made, for expiry
	// and eviction; an undone binding stays here until its turn.
	order []orderedKey
}

type orderedKey struct {
	name  string
	entry *keyEntry
}

type keyEntry struct {
	fingerprint string
	// workflowID and runID name the run the key started; "" while its
	// first start is in flight.
	workflowID, runID string
	at                time.Time
}

func newKeyBinder(now func() time.Time) *keyBinder {
	return &keyBinder{now: now, bound: make(map[string]*keyEntry)}
}

// keyBinding is one request's hold on its key.
type keyBinding struct {
	b     *keyBinder
	name  string
	entry *keyEntry
	fresh bool // this request bound the key
}

// reserve binds key of tenant to fingerprint, or returns the 409 to answer
// when it is bound to another request. An empty key binds nothing.
func (b *keyBinder) reserve(tenant, key, fingerprint string) (*keyBinding, error) {
	if key == "" {
		return &keyBinding{}, nil
	}
	name := tenant + "\x00" + key
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expire(now)
	if e, ok := b.bound[name]; ok {
		if e.fingerprint != fingerprint {
			details := map[string]string{}
			if e.workflowID != "" {
				details["workflow_id"], details["run_id"] = e.workflowID, e.runID
			}
			return nil, newError(http.StatusConflict, codeIdempotencyConflict, "this Idempotency-Key was already used for a different request").with(details)
		}
		return &keyBinding{b: b, name: name, entry: e}, nil
	}
	e := &keyEntry{fingerprint: fingerprint, at: now}
	b.bound[name] = e
	b.order = append(b.order, orderedKey{name, e})
	for len(b.bound) > maxKeys || len(b.order) > 2*maxKeys {
		b.forgetOldest()
	}
	return &keyBinding{b: b, name: name, entry: e, fresh: true}, nil
}

// done records the run the key started.
func (k *keyBinding) done(workflowID, runID string) {
	if k.b == nil {
		return
	}
	k.b.mu.Lock()
	k.entry.workflowID, k.entry.runID = workflowID, runID
	k.b.mu.Unlock()
}

// undo frees a key this request bound but started nothing with.
func (k *keyBinding) undo() {
	if k.b == nil || !k.fresh {
		return
	}
	k.b.mu.Lock()
	if k.b.bound[k.name] == k.entry {
		delete(k.b.bound, k.name)
	}
	k.b.mu.Unlock()
}

// expire forgets bindings older than keyWindow. b.mu must be held.
func (b *keyBinder) expire(now time.Time) {
	for len(b.order) > 0 && now.Sub(b.order[0].entry.at) > keyWindow {
		b.forgetOldest()
	}
}

// forgetOldest drops the first key in order. b.mu must be held.
func (b *keyBinder) forgetOldest() {
	first := b.order[0]
	b.order[0] = orderedKey{}
	b.order = b.order[1:]
	if b.bound[first.name] == first.entry {
		delete(b.bound, first.name)
	}
	if cap(b.order) > 2*maxKeys && len(b.order) < cap(b.order)/4 {
		b.order = append([]orderedKey(nil), b.order...) // let the old array go
	}
}
