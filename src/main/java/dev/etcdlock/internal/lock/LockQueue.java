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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;

/**
 * The queue under a lock name, as Go's Mutex and etcd's v3lock lay it out: each session's waiter key is
 * {@code <name>/<lease id in hex>}, attached to the session's lease, and the key with the lowest create revision
 * holds the lock. A waiter holds it once every key created before its own is gone; that set only shrinks, so it is
 * read once (in the enqueuing Txn) and then maintained from delete events of the client's shared prefix watch.
 */
public final class LockQueue {
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

    /**
     * Starts waiting for {@code prefix}; the result completes once held, or fails. While it waits, the acquisition
     * is in {@code waiting}, which the session uses to end it when its lease ends.
     */
    public Acquisition acquire(ByteString prefix, Lease lease, Set<Acquisition> waiting) {
        Acquisition a = new Acquisition(prefix, lease);
        waiting.add(a);
        a.result.whenComplete((held, failure) -> waiting.remove(a));
        return a;
    }

    /**
     * One round trip: takes the lock if no key at all is under the prefix, else leaves nothing behind. Completes
     * with null when the lock is taken by someone else.
     */
    public CompletableFuture<Held> tryAcquire(ByteString prefix, Lease lease) {
        if (!lease.isValid()) {
            return CompletableFuture.failedFuture(leaseLost(lease, prefix));
        }
        ByteString key = keyOf(prefix, lease.id());
        // Else reads the first key, so that a repeat after an unanswered first try finds its own key holding the
        // lock: that makes the Txn safe to retry.
        TxnRequest txn = TxnRequest.newBuilder()
                .addCompare(Compare.newBuilder().setKey(prefix).setRangeEnd(Kv.prefixEnd(prefix))
                        .setTarget(Compare.CompareTarget.CREATE).setResult(Compare.CompareResult.EQUAL)
                        .setCreateRevision(0))
                .addSuccess(RequestOp.newBuilder().setRequestPut(
                        PutRequest.newBuilder().setKey(key).setLease(lease.id())))
                .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(prefix)
                        .setRangeEnd(Kv.prefixEnd(prefix)).setLimit(1)
                        .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND)))
                .build();
        return kv.idempotentTxn(txn).handle((r, failure) -> {
            if (failure != null) {
                throw leaseGone(failure) ? leaseLost(lease, prefix) : EtcdErrors.toException(failure, "tryLock", true);
            }
            long revision = r.getHeader().getRevision();
            if (r.getSucceeded()) {
                return new Held(prefix, key, revision, revision);
            }
            List<KeyValue> first = r.getResponses(0).getResponseRange().getKvsList();
            if (!first.isEmpty() && first.get(0).getKey().equals(key)) {
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

    private static boolean leaseGone(Throwable failure) {
        return EtcdErrors.kind(failure) == EtcdErrors.Kind.LEASE_NOT_FOUND;
    }

    private static LeaseLostException leaseLost(Lease lease, ByteString prefix) {
        return new LeaseLostException(lease.id(), "the session's lease " + Long.toHexString(lease.id())
                + " is gone, so its place in the queue of " + prefix.toStringUtf8() + " is gone too; "
                + "open a new session and try again");
    }

    /** The comparison that holds while {@code key} is the one created at {@code createRevision}. */
    public static Compare ownership(ByteString key, long createRevision) {
        return Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
                .setResult(Compare.CompareResult.EQUAL).setCreateRevision(createRevision).build();
    }

    /** One waiter, from its Txn to holding or giving up. In the serial context, except {@link #abort()}. */
    public final class Acquisition implements WatchListener {
        private final ByteString prefix;
        private final ByteString key;
        private final Lease lease;
        private final CompletableFuture<Held> result = new CompletableFuture<>();
        private final Set<ByteString> ahead = new HashSet<>();
        private long createRevision; // 0 until the enqueue Txn answered
        private boolean outcomeUnknown;
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

        /** Sends the enqueue Txn. */
        public void start() {
            try {
                engine.execute(this::enqueue);
            } catch (RejectedExecutionException closed) {
                result.completeExceptionally(new ClientClosedException("the etcd-lock client is closed"));
            }
        }

        /**
         * Gives up waiting and removes the waiter key. Completes with true when the wait was aborted (the key is
         * then gone), with false when the lock had already been acquired (the caller holds it and must release).
         */
        public CompletableFuture<Boolean> abort() {
            CompletableFuture<Boolean> done = new CompletableFuture<>();
            Runnable abort = () -> {
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
                result.completeExceptionally(new java.util.concurrent.CancellationException("lock wait aborted"));
                removeKey().whenComplete((v, t) -> done.complete(true));
            };
            try {
                engine.execute(abort);
            } catch (RejectedExecutionException closed) {
                // the client closed: its leases were revoked, which removed the waiter key
                done.complete(!result.isDone() || result.isCompletedExceptionally());
                result.completeExceptionally(new ClientClosedException("the etcd-lock client is closed"));
            }
            return done;
        }

        void enqueue() {
            if (!lease.isValid()) {
                fail(lostException());
                return;
            }
            if (lease.done().isDone()) { // else the session tells us through leaseEnded
                leaseEnded(lease.done().handle((v, t) -> t).join());
                return;
            }
            TxnRequest txn = TxnRequest.newBuilder()
                    .addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
                            .setResult(Compare.CompareResult.EQUAL).setCreateRevision(0))
                    .addSuccess(RequestOp.newBuilder().setRequestPut(
                            PutRequest.newBuilder().setKey(key).setLease(lease.id())))
                    .addSuccess(queueRead())
                    .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
                    .addFailure(queueRead())
                    .build();
            // a repeat takes the Else branch and reads back the key the first try put: safe to retry
            kv.idempotentTxn(txn).whenCompleteAsync(this::enqueued, engine);
        }

        private RequestOp queueRead() {
            return RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(prefix)
                    .setRangeEnd(Kv.prefixEnd(prefix)).setKeysOnly(true)
                    .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND))
                    .build();
        }

        /** The session's lease ended ({@code failure} null: closed by its owner) while this was waiting. */
        public void leaseEnded(Throwable failure) {
            Throwable why = failure != null ? EtcdErrors.unwrap(failure) : new ClientClosedException(
                    "the session was closed while waiting for lock " + prefix.toStringUtf8());
            try {
                engine.execute(() -> fail(why));
            } catch (RejectedExecutionException closed) {
                result.completeExceptionally(why);
            }
        }

        private void enqueued(TxnResponse response, Throwable failure) {
            if (failure != null && leaseGone(failure)) {
                fail(lostException()); // etcd refused the Put: the lease is gone, and so nothing was written
                return;
            }
            if (failure != null) {
                outcomeUnknown = EtcdErrors.kind(failure) == EtcdErrors.Kind.UNAVAILABLE;
                fail(EtcdErrors.unwrap(failure));
                if (outcomeUnknown) {
                    removeKey(); // the Put may have been applied: leave nothing behind
                }
                return;
            }
            if (response.getSucceeded()) {
                createRevision = response.getHeader().getRevision();
            } else {
                List<KeyValue> mine = response.getResponses(0).getResponseRange().getKvsList();
                if (mine.isEmpty()) {
                    fail(new IllegalStateException("waiter key " + key.toStringUtf8() + " vanished"));
                    return;
                }
                createRevision = mine.get(0).getCreateRevision(); // our key from an earlier, unfinished wait
            }
            if (aborted != null || result.isDone()) {
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
                    fail(lostException());
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
                if (response.getResponses(0).getResponseRange().getCount() == 0) {
                    fail(lostException());
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

        private void fail(Throwable error) {
            stopWatching();
            result.completeExceptionally(error);
        }

        private void stopWatching() {
            if (subscription != null) {
                subscription.cancel();
                subscription = null;
            }
        }

        private CompletableFuture<Void> removeKey() {
            if (createRevision == 0 && !outcomeUnknown) {
                return CompletableFuture.completedFuture(null);
            }
            TxnRequest.Builder txn = TxnRequest.newBuilder();
            if (createRevision != 0) {
                txn.addCompare(ownership(key, createRevision));
            } else {
                // the enqueue Put's outcome is unknown: our key, if it exists, carries our lease
                txn.addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.LEASE)
                        .setResult(Compare.CompareResult.EQUAL).setLease(lease.id()));
            }
            txn.addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key)));
            return kv.idempotentTxn(txn.build()).handle((r, t) -> null); // guarded delete
        }

        private LeaseLostException lostException() {
            return leaseLost(lease, prefix);
        }
    }
}
