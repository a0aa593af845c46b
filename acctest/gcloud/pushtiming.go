package gcloud

import "time"

// DeadLetterAfter is how long the Pub/Sub emulator takes from publishing a message that its push
// endpoint always fails to publishing it on the dead-letter topic, for a subscription with a retry
// policy of minimumBackoff and a dead-letter policy of maxDeliveryAttempts. Measured here: attempts
// at +0.1 s and +1.1 s, then one every max(minimumBackoff, 1 s) + 2 s, and the dead letter one gap
// after the last attempt: 13 s for 5 attempts and a backoff up to 1 s, 29 s with 5 s. Load only
// makes it later: wait for about twice this long.
func DeadLetterAfter(maxDeliveryAttempts int, minimumBackoff time.Duration) time.Duration {
	gap := max(minimumBackoff, time.Second) + 2*time.Second
	return 1100*time.Millisecond + time.Duration(maxDeliveryAttempts-1)*gap
}
