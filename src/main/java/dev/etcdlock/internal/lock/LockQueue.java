package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.ClientClosedException;
import dev.etcdlock.LeaseLostException;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.SerialContext;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.proto.Compare;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.PutRequest;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.proto.RangeResponse;
import dev.etcdlock.internal.proto.RequestOp;
import dev.etcdlock.internal.proto.TxnRequest;
import dev.etcdlock.internal.proto.TxnResponse;
import dev.etcdlock.internal.transport.EtcdErrors;
import dev.etcdlock.internal.watch.WatchCompactedException;
import dev.etcdlock.internal.watch.WatchListener;
import dev.etcdlock.internal.watch.WatchMultiplexer;
import dev.etcdlock.internal.watch.WatchSpec;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The queue under a lock name, as Go's Mutex and etcd's v3lock lay it out: each session's waiter key is
 * {@code <name>/<lease id in hex>}, attached to the session's lease, and the key with the lowest create revision
 * holds the lock. A waiter holds it once every key created before its own is gone; that set only shrinks, so it is
 * read once (in the enqueuing Txn) and then maintained from delete events of the client's shared prefix watch.
 *
 * <p>Each attempt writes a nonce as the key's value. Cleanup deletes only a key that still carries the attempt's own
 * nonce, so an attempt given up while its Txn was in flight can never delete the key of the attempt after it.
 */
public final class LockQueue {
    private static final int STALE_KEY_RETRIES = 3;

    private final Kv kv;
    private final WatchMultiplexer watches;
    private final SerialContext engine;

    public LockQueue(Engine engine) {
        this.kv = engine.kv();
        this.watches = engine.watches();
        this.engine = engine.transport().executor();
    }

    /**
     * A held position: the waiter key, its create revision (the fencing token) and the revision at which it was
     * seen to hold (the enqueue Txn's, or the delete that freed it; etcdctl's ETCD_LOCK_REV).
     */
    public record Held(ByteString prefix, ByteString key, long createRevision, long acquiredRevision) {
    }

    /** The key a session's lease uses under {@code prefix} (which ends with '/'). */
    public static ByteString keyOf(ByteString prefix, long leaseId) {
        return prefix.concat(ByteString.copyFromUtf8(Long.toHexString(leaseId)));
    }

    /** A new waiter for {@code prefix}; {@link Acquisition#start()} sends its enqueue Txn. */
    public Acquisition acquisition(ByteString prefix, Lease lease) {
        return new Acquisition(prefix, lease);
    }

    /**
     * One round trip: takes the lock if no key at all is under the prefix, else leaves nothing behind. Completes
     * with null when the lock is taken by someone else.
     */
    public CompletableFuture<Held> tryAcquire(ByteString prefix, Lease lease) {
        RuntimeException ended = whyEnded(lease, prefix);
        if (ended != null) {
            return CompletableFuture.failedFuture(ended);
        }
        ByteString key = keyOf(prefix, lease.id());
        ByteString nonce = newNonce();
        // Else reads the first key, so that a repeat after an unanswered first try finds its own key holding the
        // lock: that makes the Txn safe to retry.
        TxnRequest txn = TxnRequest.newBuilder()
                .addCompare(Compare.newBuilder().setKey(prefix).setRangeEnd(Kv.prefixEnd(prefix))
                        .setTarget(Compare.CompareTarget.CREATE).setResult(Compare.CompareResult.EQUAL)
                        .setCreateRevision(0))
                .addSuccess(RequestOp.newBuilder().setRequestPut(
                        PutRequest.newBuilder().setKey(key).setValue(nonce).setLease(lease.id())))
                .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(prefix)
                        .setRangeEnd(Kv.prefixEnd(prefix)).setLimit(1)
                        .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND)))
                .build();
        return kv.idempotentTxn(txn).handle((r, failure) -> {
            if (failure != null) {
                if (leaseGone(failure)) {
                    throw leaseLost(lease, prefix);
                }
                removeIfOurs(key, nonce); // the Put may have been applied
                throw EtcdErrors.toException(failure, "tryLock", true);
            }
            long revision = r.getHeader().getRevision();
            if (r.getSucceeded()) {
                return new Held(prefix, key, revision, revision);
            }
            List<KeyValue> first = r.getResponses(0).getResponseRange().getKvsList();
            if (!first.isEmpty() && first.get(0).getKey().equals(key) && first.get(0).getValue().equals(nonce)) {
                return new Held(prefix, key, first.get(0).getCreateRevision(), revision); // ours, from the first try
            }
            return null;
        });
    }

    /**
     * Deletes the key if it is still the one created at {@code createRevision}: never someone else's. Completes
     * with false when it was not (lost, or already released).
     */
    public CompletableFuture<Boolean> release(Held held) {
        TxnRequest txn = TxnRequest.newBuilder()
                .addCompare(ownership(held.key(), held.createRevision()))
                .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(
                        DeleteRangeRequest.newBuilder().setKey(held.key())))
                .build();
        return kv.idempotentTxn(txn).thenApply(TxnResponse::getSucceeded); // guarded: a repeat deletes nothing
    }

    /** The comparison that holds while {@code key} is the one created at {@code createRevision}. */
    public static Compare ownership(ByteString key, long createRevision) {
        return Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
                .setResult(Compare.CompareResult.EQUAL).setCreateRevision(createRevision).build();
    }

    /** Why a lock call cannot start on this lease, or null: closed by its owner, or lost. */
    static RuntimeException whyEnded(Lease lease, ByteString prefix) {
        if (lease.done().isDone()) {
            return lease.done().isCompletedExceptionally() ? leaseLost(lease, prefix) : sessionClosed(prefix);
        }
        return lease.isValid() ? null : leaseLost(lease, prefix);
    }

    static RuntimeException sessionClosed(ByteString prefix) {
        return new ClientClosedException("the session was closed while locking " + prefix.toStringUtf8()
                + "; open a new one");
    }

    private static LeaseLostException leaseLost(Lease lease, ByteString prefix) {
        return new LeaseLostException(lease.id(), "the session's lease " + Long.toHexString(lease.id())
                + " is gone, so its place in the queue of " + prefix.toStringUtf8() + " is gone too; "
                + "open a new session and try again");
    }

    private static boolean leaseGone(Throwable failure) {
        return EtcdErrors.kind(failure) == EtcdErrors.Kind.LEASE_NOT_FOUND;
    }

    private static ByteString newNonce() {
        return ByteString.copyFromUtf8(Long.toHexString(ThreadLocalRandom.current().nextLong()));
    }

    /** Deletes {@code key} only while it carries {@code nonce}. Never fails; a repeat is harmless. */
    private CompletableFuture<Void> removeIfOurs(ByteString key, ByteString nonce) {
        TxnRequest txn = TxnRequest.newBuilder()
                .addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.VALUE)
                        .setResult(Compare.CompareResult.EQUAL).setValue(nonce))
                .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key)))
                .build();
        return kv.idempotentTxn(txn).handle((r, t) -> null);
    }

    /** One waiter, from its Txn to holding or giving up. In the serial context, except where said. */
    public final class Acquisition implements WatchListener {
        private final ByteString prefix;
        private final ByteString key;
        private final Lease lease;
        private final ByteString nonce = newNonce();
        private final CompletableFuture<Held> result = new CompletableFuture<>();
        /** Completes once no enqueue Txn of this attempt is in flight any more. */
        private final CompletableFuture<Void> settled = new CompletableFuture<>();
        private final Set<ByteString> ahead = new HashSet<>();
        private long createRevision; // 0 until the enqueue Txn answered
        private boolean sent;
        private int staleRetries;
        private WatchMultiplexer.Subscription subscription;
        private CompletableFuture<Boolean> aborted;

        Acquisition(ByteString prefix, Lease lease) {
            this.prefix = prefix;
            this.key = keyOf(prefix, lease.id());
            this.lease = lease;
        }

        public CompletableFuture<Held> result() {
            return result;
        }

        /** Sends the enqueue Txn. Any thread. */
        public void start() {
            post(this::enqueue);
        }

        /** The session's lease ended ({@code failure} null: closed by its owner). Any thread. */
        public void leaseEnded(Throwable failure) {
            RuntimeException why = failure != null ? EtcdErrors.toException(failure, "lock", false)
                    : sessionClosed(prefix);
            post(() -> fail(why));
        }

        /**
         * Gives up waiting and removes the waiter key. Completes with true once the wait is undone and the key gone,
         * with false when the lock had already been acquired (the caller holds it and must release it). Any thread.
         */
        public CompletableFuture<Boolean> abort() {
            CompletableFuture<Boolean> done = new CompletableFuture<>();
            post(() -> {
                if (aborted != null) {
                    aborted.whenComplete((v, t) -> done.complete(v));
                    return;
                }
                aborted = done;
                if (result.isDone() && !result.isCompletedExceptionally()) {
                    done.complete(false);
                    return;
                }
                stopWatching();
                result.completeExceptionally(new CancellationException("lock wait aborted"));
                // wait for a Txn in flight first: a Put landing after the delete would stay behind
                settled.thenCompose(v -> removeKey()).whenComplete((v, t) -> done.complete(true));
            }, () -> done.complete(true)); // closed: the client revoked its leases, which removed the key
            return done;
        }

        private void post(Runnable task) {
            post(task, () -> { });
        }

        private void post(Runnable task, Runnable ifClosed) {
            try {
                engine.execute(task);
            } catch (RejectedExecutionException closed) {
                result.completeExceptionally(new ClientClosedException("the etcd-lock client is closed"));
                settled.complete(null);
                ifClosed.run();
            }
        }

        private void enqueue() {
            if (result.isDone()) {
                settled.complete(null);
                return;
            }
            RuntimeException ended = whyEnded(lease, prefix);
            if (ended != null) {
                settled.complete(null);
                fail(ended);
                return;
            }
            // a repeat of this Txn takes the Else branch and reads back the key the first try put: safe to retry
            TxnRequest txn = TxnRequest.newBuilder()
                    .addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
                            .setResult(Compare.CompareResult.EQUAL).setCreateRevision(0))
                    .addSuccess(RequestOp.newBuilder().setRequestPut(
                            PutRequest.newBuilder().setKey(key).setValue(nonce).setLease(lease.id())))
                    .addSuccess(queueRead())
                    .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
                    .addFailure(queueRead())
                    .build();
            sent = true;
            kv.idempotentTxn(txn).whenCompleteAsync(this::enqueued, engine);
        }

        private RequestOp queueRead() {
            return RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(prefix)
                    .setRangeEnd(Kv.prefixEnd(prefix)).setKeysOnly(true)
                    .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND))
                    .build();
        }

        private void enqueued(TxnResponse response, Throwable failure) {
            if (failure != null) {
                settled.complete(null);
                fail(leaseGone(failure) ? leaseLost(lease, prefix) : EtcdErrors.unwrap(failure));
                return;
            }
            if (response.getSucceeded()) {
                createRevision = response.getHeader().getRevision();
            } else {
                List<KeyValue> mine = response.getResponses(0).getResponseRange().getKvsList();
                if (mine.isEmpty() || !mine.get(0).getValue().equals(nonce)) {
                    replaceStaleKey(mine);
                    return;
                }
                createRevision = mine.get(0).getCreateRevision(); // ours: an earlier try of this Txn was applied
            }
            settled.complete(null);
            if (result.isDone()) { // aborted or failed meanwhile
                removeKey();
                return;
            }
            RangeResponse queue = response.getResponses(1).getResponseRange();
            for (KeyValue kv : queue.getKvsList()) {
                if (kv.getCreateRevision() < createRevision) {
                    ahead.add(kv.getKey());
                }
            }
            if (ahead.isEmpty()) {
                acquired(response.getHeader().getRevision());
            } else {
                watchFrom(response.getHeader().getRevision());
            }
        }

        /**
         * The session's key exists from an attempt that is over (its removal still on the way, or an unlock whose
         * answer was lost): not ours to reuse, since its owner may still think it holds it. Delete that version
         * and enqueue again.
         */
        private void replaceStaleKey(List<KeyValue> found) {
            if (++staleRetries > STALE_KEY_RETRIES) {
                settled.complete(null);
                fail(new IllegalStateException("the waiter key " + key.toStringUtf8() + " keeps reappearing; is "
                        + "the same lease used by another client?"));
                return;
            }
            TxnRequest.Builder txn = TxnRequest.newBuilder();
            if (!found.isEmpty()) {
                txn.addCompare(ownership(key, found.get(0).getCreateRevision()));
            }
            txn.addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key)));
            kv.idempotentTxn(txn.build()).whenCompleteAsync((r, t) -> enqueue(), engine);
        }

        private void watchFrom(long revision) {
            subscription = watches.subscribe(WatchSpec.prefix(prefix).deletesOnly(), revision, this);
        }

        @Override
        public void onEvents(List<Event> events) {
            if (result.isDone()) {
                return;
            }
            for (Event e : events) {
                if (e.getType() != Event.EventType.DELETE) {
                    continue;
                }
                if (e.getKv().getKey().equals(key)) {
                    fail(leaseLost(lease, prefix)); // our key went: lease revoked or expired
                    return;
                }
                ahead.remove(e.getKv().getKey());
            }
            if (ahead.isEmpty()) {
                acquired(events.get(events.size() - 1).getKv().getModRevision());
            }
        }

        @Override
        public void onError(Throwable error) {
            if (result.isDone()) {
                return;
            }
            subscription = null;
            if (error instanceof WatchCompactedException) {
                reread();
            } else {
                fail(error);
            }
        }

        /** After compaction: the queue ahead of us as it is now, then watch again from there. */
        private void reread() {
            TxnRequest txn = TxnRequest.newBuilder()
                    .addSuccess(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
                    .addSuccess(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(prefix)
                            .setRangeEnd(Kv.prefixEnd(prefix)).setKeysOnly(true)
                            .setMaxCreateRevision(createRevision - 1)))
                    .build();
            kv.idempotentTxn(txn).whenCompleteAsync((response, failure) -> { // reads only
                if (result.isDone()) {
                    return;
                }
                if (failure != null) {
                    fail(EtcdErrors.unwrap(failure));
                    return;
                }
                List<KeyValue> mine = response.getResponses(0).getResponseRange().getKvsList();
                if (mine.isEmpty() || mine.get(0).getCreateRevision() != createRevision) {
                    fail(leaseLost(lease, prefix));
                    return;
                }
                ahead.clear();
                for (KeyValue kv : response.getResponses(1).getResponseRange().getKvsList()) {
                    ahead.add(kv.getKey());
                }
                if (ahead.isEmpty()) {
                    acquired(response.getHeader().getRevision());
                } else {
                    watchFrom(response.getHeader().getRevision());
                }
            }, engine);
        }

        private void acquired(long atRevision) {
            stopWatching();
            if (!result.complete(new Held(prefix, key, createRevision, atRevision))) {
                removeKey();
            }
        }

        /** Ends the wait with {@code error} at once; the waiter key, if any, is removed in the background. */
        private void fail(Throwable error) {
            stopWatching();
            if (result.completeExceptionally(error)) {
                settled.thenRun(this::removeKey);
            }
        }

        private void stopWatching() {
            if (subscription != null) {
                subscription.cancel();
                subscription = null;
            }
        }

        private CompletableFuture<Void> removeKey() {
            return sent ? removeIfOurs(key, nonce) : CompletableFuture.completedFuture(null);
        }
    }
}
