package starter

import (
	"context"
	"fmt"
	"net/http"

	"contextworker/registry"
)

// syncResponse is the answer of POST /v1/schedules/sync.
type syncResponse struct {
	// Status is "synced" once every module's Sync returned.
	Status string `json:"status"`
	// RegisteredCount is the number of modules whose schedules were
	// synced (registry.Syncer reports no per-schedule counts).
	RegisteredCount int `json:"registered_count"`
	// Modules names them, in registry order.
	Modules []string `json:"modules"`
}

// syncTimeouts is how many Temporal timeouts one sync may take: a module
// creates, updates or deletes several schedules in sequence.
const syncTimeouts = 3

// syncSchedules runs Sync of every module of the registry that implements
// registry.Syncer, with its decoded configuration, as `worker schedules
// sync` does. The starter opens no database: a Syncer that needs
// deps.DB must be synced by the worker instead. Schedules are platform
// state, not a tenant's: the route is admin only.
func (s *Server) syncSchedules(w http.ResponseWriter, r *http.Request, c *caller) error {
	if _, err := s.readBody(w, r); err != nil { // no body is expected; bound and drain one
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), syncTimeouts*s.cfg.TemporalTimeout)
	defer cancel()
	out := syncResponse{Status: "synced", Modules: []string{}}
	for _, m := range s.reg.Modules() {
		syncer, ok := m.(registry.Syncer)
		if !ok {
			continue
		}
		deps := registry.Deps{
			Logger:    s.log.With("module", m.Name(), "sub", c.Subject, "tenant", c.Tenant),
			Temporal:  s.tc,
			Config:    s.moduleConfig(m.Name()),
			UIBaseURL: s.uiBase,
			Namespace: s.namespace,
		}
		if err := syncer.Sync(ctx, deps); err != nil {
			return fmt.Errorf("schedules sync %q: %w", m.Name(), err)
		}
		out.RegisteredCount++
		out.Modules = append(out.Modules, m.Name())
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
