package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.proto.KeyValue;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.Predicate;

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
public record QueuePolicy(ByteString queue, ByteString keyPrefix, Rule rule, Value value) {

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
        return new QueuePolicy(prefix, prefix, Rule.exclusive(), Value.nonce());
    }

    /** True when the value is a nonce of each attempt rather than the recipe's. */
    boolean nonceValue() {
        return value instanceof Value.Nonce;
    }

    /** True when one round trip that writes only into an empty queue decides a tryLock (Go's Mutex.TryLock). */
    boolean takesOnlyAnEmptyQueue() {
        return rule.everyKeyBlocks() && rule.holders() == 1;
    }

    /**
     * When a waiter in a queue holds: which keys created before its own block it ({@code blockedBy}, a predicate on the
     * key), and how many of those may still be there while it holds (fewer than {@code holders}). The whole difference
     * between the recipes, as Curator's {@code LockInternalsDriver.getsTheLock} is: a mutex or an election waits for
     * every earlier key to go; a semaphore of N permits holds while fewer than N earlier keys are left; a reader of a
     * read-write lock waits for every earlier key except other readers'. Pure: no I/O, no state.
     *
     * <p>The rules made here keep the queue FIFO by create revision: only earlier keys block, and whatever holds an
     * earlier waiter back holds back every later waiter too (a reader behind a waiting writer waits for that writer).
     */
    public record Rule(Predicate<ByteString> blockedBy, int holders) {
        private static final Predicate<ByteString> EVERY_KEY = key -> true;
        private static final Rule EXCLUSIVE = new Rule(EVERY_KEY, 1);

        public Rule {
            Objects.requireNonNull(blockedBy, "blockedBy");
            if (holders < 1) {
                throw new IllegalArgumentException("holders must be at least 1, was " + holders);
            }
        }

        /** One holder at a time, in create-revision order: Go's Mutex and Election, the write side of a RW lock. */
        public static Rule exclusive() {
            return EXCLUSIVE;
        }

        /** Up to {@code permits} holders at a time, the rest waiting in create-revision order. */
        public static Rule permits(int permits) {
            return permits == 1 ? EXCLUSIVE : new Rule(EVERY_KEY, permits);
        }

        /**
         * One of many sharing holders: blocked by every earlier key except those that start with {@code peers} (the
         * read side of a RW lock: readers wait only for earlier writers, or anything else that is not a reader).
         */
        public static Rule sharedWith(ByteString peers) {
            Objects.requireNonNull(peers, "peers");
            return new Rule(key -> !key.startsWith(peers), 1);
        }

        /** True when every earlier key blocks (then "nobody queued" can be checked by etcd in a Txn compare). */
        public boolean everyKeyBlocks() {
            return blockedBy == EVERY_KEY;
        }

        /** True when a waiter with this many blockers still ahead holds. */
        public boolean holds(int blockersAhead) {
            return blockersAhead < holders;
        }

        /** The keys in {@code queue} created before {@code createRevision} that block a waiter created at it. */
        public Set<ByteString> blockersAhead(List<KeyValue> queue, long createRevision) {
            Set<ByteString> ahead = new HashSet<>();
            for (KeyValue kv : queue) {
                if (kv.getCreateRevision() < createRevision && blockedBy.test(kv.getKey())) {
                    ahead.add(kv.getKey());
                }
            }
            return ahead;
        }
    }

    /**
     * What a waiter key carries. It decides how the key's cleanup recognises the attempt's own version and what the
     * enqueue Txn checks (see {@link LockQueue} on why cleanup never deletes another attempt's key).
     */
    public sealed interface Value {

        /** A random nonce per attempt (mutex, read-write lock): cleanup deletes the key only while it carries it. */
        record Nonce() implements Value {
        }

        /**
         * The recipe's value (an election's candidate value, as Go's Election stores it): two attempts of a session
         * would write the same bytes, so cleanup deletes only the version at the attempt's own create revision.
         */
        record Fixed(ByteString value) implements Value {
            public Fixed {
                Objects.requireNonNull(value, "value");
            }
        }

        /**
         * The recipe's value, which every key of the queue must carry (a semaphore's permit count): the enqueue Txn
         * checks it, and a queue whose keys carry another value fails the attempt, nothing written, with what
         * {@code mismatch} makes of the value found. Cleanup as for {@link Fixed}.
         */
        record Agreed(ByteString value, Function<ByteString, RuntimeException> mismatch) implements Value {
            public Agreed {
                Objects.requireNonNull(value, "value");
                Objects.requireNonNull(mismatch, "mismatch");
            }
        }

        static Value nonce() {
            return new Nonce();
        }

        /** The bytes one attempt writes: a fresh nonce for {@link Nonce}, else the recipe's value. */
        default ByteString forAttempt() {
            if (this instanceof Fixed fixed) {
                return fixed.value();
            }
            if (this instanceof Agreed agreed) {
                return agreed.value();
            }
            return ByteString.copyFromUtf8(Long.toHexString(ThreadLocalRandom.current().nextLong()));
        }
    }
}
