package quality

// StaleSQL is the stale-stock pass's candidates, for the test of its plan.
const StaleSQL = staleSQL
