package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import java.util.Objects;

/**
 * What a recipe asks of the queue under a name.
 *
 * @param queue     prefix of every key in the queue (ends with '/'): read, watched and sorted by create revision
 * @param keyPrefix this waiter's key is {@code keyPrefix + lease id in hex}; starts with {@code queue}. A session takes
 *                  one place per queue at a time, so its threads asking for the same key take turns, and asking for
 *                  another key of the same queue while it holds or waits fails fast
 * @param rule      which earlier keys block the waiter and how many may be left while it holds
 * @param value     what the waiter key carries
 */
public record QueuePolicy(ByteString queue, ByteString keyPrefix, QueueRule rule, WaiterValue value) {

    public QueuePolicy {
        Objects.requireNonNull(queue, "queue");
        Objects.requireNonNull(keyPrefix, "keyPrefix");
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(value, "value");
        if (!keyPrefix.startsWith(queue)) {
            throw new IllegalArgumentException("waiter keys must be in the queue " + queue.toStringUtf8());
        }
    }

    /** Go's Mutex: {@code <name>/<lease hex>}, every earlier key blocks, a nonce as value. */
    public static QueuePolicy mutex(ByteString prefix) {
        return new QueuePolicy(prefix, prefix, QueueRule.exclusive(), WaiterValue.nonce());
    }

    /** True when the value is a nonce of each attempt rather than the recipe's. */
    boolean nonceValue() {
        return value instanceof WaiterValue.Nonce;
    }

    /** True when one round trip that writes only into an empty queue decides a tryLock (Go's Mutex.TryLock). */
    boolean takesOnlyAnEmptyQueue() {
        return rule.everyKeyBlocks() && rule.holders() == 1;
    }
}
