package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.proto.KeyValue;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

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
public record QueueRule(Predicate<ByteString> blockedBy, int holders) {
    private static final Predicate<ByteString> EVERY_KEY = key -> true;
    private static final QueueRule EXCLUSIVE = new QueueRule(EVERY_KEY, 1);

    public QueueRule {
        Objects.requireNonNull(blockedBy, "blockedBy");
        if (holders < 1) {
            throw new IllegalArgumentException("holders must be at least 1, was " + holders);
        }
    }

    /** One holder at a time, in create-revision order: Go's Mutex and Election, the write side of a RW lock. */
    public static QueueRule exclusive() {
        return EXCLUSIVE;
    }

    /** Up to {@code permits} holders at a time, the rest waiting in create-revision order. */
    public static QueueRule permits(int permits) {
        return permits == 1 ? EXCLUSIVE : new QueueRule(EVERY_KEY, permits);
    }

    /**
     * One of many sharing holders: blocked by every earlier key except those that start with {@code peers} (the
     * read side of a RW lock: readers wait only for earlier writers, or anything else that is not a reader).
     */
    public static QueueRule sharedWith(ByteString peers) {
        Objects.requireNonNull(peers, "peers");
        return new QueueRule(key -> !key.startsWith(peers), 1);
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
