package harvest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"contextworker/modules/harvest/feed"
)

// Error types of non-retryable harvest failures, for callers and tests.
const (
	ErrTypeFeedBroken   = "FeedBroken"
	ErrTypeFeedRefused  = "FeedRefused"
	ErrTypeFeedTooLarge = "FeedTooLarge"
	ErrTypeBadConfig    = "BadConfig"
	// ErrTypeFeedUnavailable: the feed's server kept failing (HTTP 5xx or
	// 429, a host that does not resolve, a refused connection) for the
	// whole fetch budget.
	ErrTypeFeedUnavailable = "FeedUnavailable"
	// ErrTypeFeedTruncated: the download kept ending before the feed did
	// (a body cut short, a missing closing element or bracket).
	ErrTypeFeedTruncated = "FeedTruncated"
	// ErrTypeFeedTooSlow: the feed kept arriving slower than min_feed_rate.
	ErrTypeFeedTooSlow = "FeedTooSlow"
)

func nonRetryable(kind, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), kind, nil)
}

// classifyFeedErr turns a broken feed into a non-retryable failure, lets
// feed trouble a retry may fix (a server error, a dropped or dripping
// download) retry within the fetch budget, and leaves the database's
// transient trouble retryable.
func (a *Activities) classifyFeedErr(ctx context.Context, err error, src *body) error {
	var appErr *temporal.ApplicationError
	var trouble *feedTrouble
	switch {
	case err == nil:
		return nil
	case errors.As(err, &appErr):
		return err
	case errors.As(err, &trouble):
		return a.giveUp(ctx, trouble.kind, err)
	case errors.Is(err, feed.ErrHTML):
		return nonRetryable(ErrTypeFeedBroken, "feed is an HTML page, not a feed: %v", err)
	case errors.Is(err, feed.ErrTruncated) && src.complete():
		// Every declared byte arrived: the feed itself is cut short.
		return nonRetryable(ErrTypeFeedTruncated, "feed is truncated at its source (all %d declared bytes arrived): %v", src.declared, err)
	case errors.Is(err, feed.ErrTruncated):
		// The syntax says the feed stops before its end (no closing root,
		// no "]"): a download cut short, or a server that truncates.
		return a.giveUp(ctx, ErrTypeFeedTruncated, fmt.Errorf("feed is truncated: %w", err))
	case errors.Is(err, feed.ErrMalformed):
		return nonRetryable(ErrTypeFeedBroken, "feed is broken: %v", err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		// gzip or a Content-Length says more was coming.
		return a.giveUp(ctx, ErrTypeFeedTruncated, fmt.Errorf("feed ends early: %w", err))
	}
	return err
}

// giveUp lets feed trouble of kind retry while the fetch budget lasts
// (fetch_attempts Stage attempts, fetch_budget since the first), then
// fails the run with that type and the reason. Without it a feed that
// fails the same way forever would be retried until stage_timeout.
func (a *Activities) giveUp(ctx context.Context, kind string, err error) error {
	info := activity.GetInfo(ctx)
	elapsed := time.Since(info.ScheduledTime).Round(time.Second)
	if int(info.Attempt) < a.Config.FetchAttempts && elapsed < a.Config.FetchBudget {
		return fmt.Errorf("%s (attempt %d of fetch_attempts %d, will retry): %w", kind, info.Attempt, a.Config.FetchAttempts, err)
	}
	return nonRetryable(kind, "%v; gave up after %d attempts in %s (fetch_attempts %d, fetch_budget %s)",
		err, info.Attempt, elapsed, a.Config.FetchAttempts, a.Config.FetchBudget)
}
