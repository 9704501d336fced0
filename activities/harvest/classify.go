package harvest

import (
	"context"
	"errors"
	"fmt"
	"io"

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
)

func nonRetryable(kind, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), kind, nil)
}

// classifyFeedErr turns a broken feed into a non-retryable failure and
// leaves transient trouble (network, database) retryable.
func classifyFeedErr(ctx context.Context, err error, got, want int64) error {
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &appErr):
		return err
	case errors.Is(err, feed.ErrHTML):
		return nonRetryable(ErrTypeFeedBroken, "feed is an HTML page, not a feed: %v", err)
	case errors.Is(err, feed.ErrMalformed):
		return nonRetryable(ErrTypeFeedBroken, "feed is broken: %v", err)
	case errors.Is(err, io.ErrUnexpectedEOF) && want > 0 && got < want:
		// The body ended before its Content-Length: a dropped connection
		// (retry) or a server that truncates (fail after a few tries).
		if activity.GetInfo(ctx).Attempt >= 3 {
			return nonRetryable(ErrTypeFeedBroken, "feed is truncated: got %d of %d bytes in %d attempts", got, want, activity.GetInfo(ctx).Attempt)
		}
		return fmt.Errorf("feed download ended early (%d of %d bytes): %w", got, want, err)
	}
	return err
}
