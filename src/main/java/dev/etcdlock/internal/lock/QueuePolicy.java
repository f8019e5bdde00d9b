package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import java.util.Objects;
import java.util.function.Function;

/**
 * What a recipe asks of the queue under a name.
 *
 * @param queue        prefix of every key in the queue (ends with '/'): read, watched and sorted by create revision
 * @param keyPrefix    this waiter's key is {@code keyPrefix + lease id in hex}; starts with {@code queue}. A session
 *                     takes one place per queue at a time, so its threads asking for the same key take turns, and
 *                     asking for another key of the same queue while it holds or waits fails fast
 * @param rule         which earlier keys block the waiter and how many may be left while it holds
 * @param value        the waiter key's value, or null for a random nonce per attempt (then cleanup deletes the key
 *                     only while it carries that nonce: see {@link LockQueue})
 * @param disagreement null, or: every key of the queue must carry {@code value}; the enqueue Txn checks it, and a
 *                     queue whose keys carry another value fails the attempt, nothing written, with the exception
 *                     this function makes of the value found
 */
public record QueuePolicy(ByteString queue, ByteString keyPrefix, QueueRule rule, ByteString value,
        Function<ByteString, RuntimeException> disagreement) {

    public QueuePolicy {
        Objects.requireNonNull(queue, "queue");
        Objects.requireNonNull(keyPrefix, "keyPrefix");
        Objects.requireNonNull(rule, "rule");
        if (!keyPrefix.startsWith(queue)) {
            throw new IllegalArgumentException("waiter keys must be in the queue " + queue.toStringUtf8());
        }
        if (disagreement != null && value == null) {
            throw new IllegalArgumentException("keys can only agree on a value the recipe chooses");
        }
    }

    /** Go's Mutex: {@code <name>/<lease hex>}, every earlier key blocks, a nonce as value. */
    public static QueuePolicy mutex(ByteString prefix) {
        return new QueuePolicy(prefix, prefix, QueueRule.exclusive(), null, null);
    }

    /** True when the value is a nonce of each attempt rather than the recipe's. */
    boolean nonceValue() {
        return value == null;
    }
}
