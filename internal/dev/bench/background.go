package bench

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// bgSample counts what the server did on its own: checkpoints and
// autovacuum's passes over the bench database's tables. A figure that
// had a checkpoint (and the full-page writes after it) or a vacuum of a
// million-row table running beside it is not comparable with one that had
// none: the lines say which.
type bgSample struct {
	checkpoints, vacuums, analyzes int64
	ok                             bool
}

func background(ctx context.Context, db *pgxpool.Pool) bgSample {
	var s bgSample
	err := db.QueryRow(ctx, `SELECT (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter),
			(SELECT coalesce(sum(autovacuum_count), 0)::bigint FROM pg_stat_all_tables),
			(SELECT coalesce(sum(autoanalyze_count), 0)::bigint FROM pg_stat_all_tables)`).Scan(&s.checkpoints, &s.vacuums, &s.analyzes)
	s.ok = err == nil
	return s
}

// backgroundOf says what the server did on its own since b0. The counts
// are those the statistics have seen; a pass still running is not in them.
func backgroundOf(ctx context.Context, db *pgxpool.Pool, b0 bgSample) string {
	b := background(ctx, db)
	if !b.ok || !b0.ok {
		return ""
	}
	return fmt.Sprintf("; meanwhile %d checkpoints, %d autovacuums, %d autoanalyzes",
		b.checkpoints-b0.checkpoints, b.vacuums-b0.vacuums, b.analyzes-b0.analyzes)
}
