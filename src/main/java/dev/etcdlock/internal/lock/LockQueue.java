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
import dev.etcdlock.internal.transport.Transport;
import dev.etcdlock.internal.watch.WatchCompactedException;
import dev.etcdlock.internal.watch.WatchListener;
import dev.etcdlock.internal.watch.WatchMultiplexer;
import dev.etcdlock.internal.watch.WatchSpec;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The queue under a name that every recipe stands on, as Go's Mutex and etcd's v3lock lay it out: each session's
 * waiter key (the mutex's is {@code <name>/<lease id in hex>}) is attached to the session's lease, and keys are ordered
 * by create revision. Which earlier keys a waiter waits for, and how many may be left when it holds, is the recipe's
 * {@link QueueRule}. A waiter's blockers only ever go, so they are read once (in the enqueuing Txn) and then
 * maintained from delete events of the client's shared prefix watch. A waiter never holds while its lease is not
 * certainly valid.
 *
 * <p>Cleanup never deletes the key of another attempt. Waiter keys have one name per session and queue, so the
 * attempt at risk is the session's next one on the same queue, and how it is kept safe depends on the key's value:
 * <ul>
 *   <li>A nonce per attempt (the mutex, the read-write lock): cleanup deletes only a key that still carries the
 *       attempt's own nonce, so it is safe even when the enqueue Txn's outcome is unknown, and may still be on its way
 *       while the next attempt enqueues.</li>
 *   <li>The recipe's value (the semaphore's count; an election's candidate value, as Go's Election stores it): two
 *       attempts would write the same value, so cleanup deletes only the key created at the attempt's own create
 *       revision. When that is unknown (the enqueue Txn's answer was lost), it reads the key and deletes the version
 *       it finds; that is safe because the session's next attempt on the queue is held back at the session's gate
 *       until this cleanup has finished ({@link Acquisition#keyGone()}). For the same reason a key found where the
 *       enqueue Txn meant to create one is this session's own: an earlier try of the same Txn whose answer was lost,
 *       or a key left when an unlock's answer was lost. It is taken over if it carries the same value (it keeps its
 *       place, which the others already wait behind), else deleted and the Txn sent again.</li>
 * </ul>
 */
public final class LockQueue {
    private static final int STALE_KEY_RETRIES = 3;
    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    private final Kv kv;
    private final WatchMultiplexer watches;
    private final SerialContext engine;
    private final Transport transport;
    private final QueueObserver observer;

    public LockQueue(Engine engine) {
        this.observer = new QueueObserver(engine);
        this.kv = engine.kv();
        this.watches = engine.watches();
        this.engine = engine.transport().executor();
        this.transport = engine.transport();
    }

    /**
     * An enqueue's outcome is unknown (no answer), or the transport gave up on a silent member while it was in
     * flight: that member may create the key later, so guard it ({@link ReplayGuard}). Serial context.
     */
    private void guard(KeyJanitor janitor, ByteString key, Lease lease) {
        ReplayGuard.start(kv, watches, engine, janitor, key, lease.id());
    }

    /**
     * A held position: the queue, the waiter key, its create revision (the fencing token) and the revision at which
     * it was seen to hold (the enqueue Txn's, or the delete that freed it; etcdctl's ETCD_LOCK_REV).
     */
    public record Held(ByteString prefix, ByteString key, long createRevision, long acquiredRevision) {
    }

    /** The key a session's lease uses under {@code prefix} (which ends with '/'). */
    public static ByteString keyOf(ByteString prefix, long leaseId) {
        return prefix.concat(ByteString.copyFromUtf8(Long.toHexString(leaseId)));
    }

    /** The janitor of one session's keys: one per session, shared by its attempts and holders. */
    KeyJanitor janitor(Lease lease) {
        return new KeyJanitor(kv, engine, transport, lease);
    }

    /** A new waiter; {@link Acquisition#start()} sends its enqueue Txn. */
    Acquisition acquisition(QueuePolicy policy, Lease lease, KeyJanitor janitor) {
        return new Acquisition(policy, lease, janitor, false);
    }

    /**
     * What a {@link #tryAcquire} came to: the held position, or null; and when a key it wrote is certainly gone
     * (the session's next attempt on the queue waits for that with a recipe value, see the class doc).
     */
    record TryOutcome(Held held, Throwable failure, CompletableFuture<Void> keyGone) {
        static TryOutcome notHeld() {
            return new TryOutcome(null, null, DONE);
        }
    }

    /**
     * Takes a place only if it holds at once; never waits, and completes with null, leaving nothing behind, when it
     * would have to. When every key blocks and one holds (the mutex), that is one round trip that writes only into
     * an empty queue; otherwise the waiter key is enqueued as usual and, if it does not hold at once, deleted again.
     */
    CompletableFuture<TryOutcome> tryAcquire(QueuePolicy policy, Lease lease, KeyJanitor janitor) {
        if (!policy.rule().everyKeyBlocks() || policy.rule().holders() != 1) {
            Acquisition attempt = new Acquisition(policy, lease, janitor, true);
            attempt.start();
            // a failure is the caller's at once; its key's removal goes on behind the session's gate
            return attempt.result().handle((held, failure) -> new TryOutcome(held, failure, attempt.keyGone()));
        }
        ByteString prefix = policy.queue();
        RuntimeException ended = whyEnded(lease, prefix);
        if (ended != null) {
            return CompletableFuture.completedFuture(new TryOutcome(null, ended, DONE));
        }
        ByteString key = keyOf(policy.keyPrefix(), lease.id());
        ByteString value = policy.nonceValue() ? newNonce() : policy.value();
        // Else reads the first key, so that a repeat after an unanswered first try finds its own key holding the
        // lock: that makes the Txn safe to retry.
        TxnRequest txn = TxnRequest.newBuilder()
                .addCompare(Compare.newBuilder().setKey(prefix).setRangeEnd(Kv.prefixEnd(prefix))
                        .setTarget(Compare.CompareTarget.CREATE).setResult(Compare.CompareResult.EQUAL)
                        .setCreateRevision(0))
                .addSuccess(RequestOp.newBuilder().setRequestPut(
                        PutRequest.newBuilder().setKey(key).setValue(value).setLease(lease.id())))
                .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(prefix)
                        .setRangeEnd(Kv.prefixEnd(prefix)).setLimit(1)
                        .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND)))
                .build();
        CompletableFuture<Long> abandonedBefore = new CompletableFuture<>();
        engine.execute(() -> {
            janitor.enqueuing(key);
            abandonedBefore.complete(transport.abandonedAttempts());
        });
        return abandonedBefore.thenCompose(before -> kv.idempotentTxn(txn).handleAsync((r, failure) -> {
            if (failure != null) {
                janitor.owns(key, 0);
                guard(janitor, key, lease);
                if (leaseGone(failure)) {
                    return new TryOutcome(null, leaseLost(lease, prefix), DONE);
                }
                // the Put may have been applied: the janitor deletes it, however long etcd takes to answer
                CompletableFuture<Void> gone = policy.nonceValue() ? janitor.removeIfValue(key, value).done.thenApply(
                        v -> null) : janitor.removeLeftover(key).done;
                return new TryOutcome(null, EtcdErrors.toException(failure, "tryLock", true),
                        policy.nonceValue() ? DONE : gone);
            }
            if (transport.abandonedAttempts() != before) {
                guard(janitor, key, lease);
            }
            long revision = r.getHeader().getRevision();
            if (r.getSucceeded()) {
                janitor.owns(key, revision);
                return new TryOutcome(new Held(prefix, key, revision, revision), null, DONE);
            }
            List<KeyValue> first = r.getResponses(0).getResponseRange().getKvsList();
            boolean ours = !first.isEmpty() && first.get(0).getKey().equals(key)
                    && first.get(0).getValue().equals(value)
                    && first.get(0).getCreateRevision() > janitor.retiredUpTo(key);
            janitor.owns(key, ours ? first.get(0).getCreateRevision() : 0);
            if (ours) { // from the first try
                return new TryOutcome(new Held(prefix, key, first.get(0).getCreateRevision(), revision), null, DONE);
            }
            if (!first.isEmpty() && first.get(0).getKey().equals(key)) {
                // the session's own leftover (an unanswered unlock) heads the queue: the janitor deletes it
                janitor.removeIfCreatedAt(key, first.get(0).getCreateRevision());
            }
            if (policy.disagreement() != null && !first.isEmpty() && !first.get(0).getValue().equals(value)) {
                return new TryOutcome(null, policy.disagreement().apply(first.get(0).getValue()), DONE);
            }
            return TryOutcome.notHeld();
        }, engine));
    }

    /**
     * Deletes the key if it is still the one created at {@code createRevision}: never someone else's. Completes
     * with true when it deleted it, or when it found it gone after an earlier attempt of the same delete got no
     * answer (etcd applied that one: nothing tells it from a loss, and the lock was held until the unlock was sent);
     * with false when it was not there any more (lost, or released before).
     */
    public CompletableFuture<Boolean> release(Held held) {
        return kv.idempotentTxnTellingRetries(deleteIfCreatedAt(held.key(), held.createRevision()))
                .thenApply(a -> a.response().getSucceeded() || a.mayHaveRunBefore());
    }

    /** Whether etcd still has lease {@code id}: true, false, or null when it gave no answer. Never fails. */
    CompletableFuture<Boolean> leaseExists(long id) {
        return transport.call(dev.etcdlock.internal.proto.LeaseGrpc.getLeaseTimeToLiveMethod(),
                dev.etcdlock.internal.proto.LeaseTimeToLiveRequest.newBuilder().setID(id).build(), true)
                .handle((r, t) -> t != null ? (EtcdErrors.kind(t) == EtcdErrors.Kind.LEASE_NOT_FOUND ? false : null)
                        : r.getTTL() > 0);
    }

    /** A watch telling {@code onGone} once when {@code held}'s key is deleted; see {@link QueueObserver#watchHeld}. */
    Runnable watchHeld(Held held, Runnable onGone) {
        return observer.watchHeld(held, onGone);
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

    private static TxnRequest deleteIfCreatedAt(ByteString key, long createRevision) {
        return TxnRequest.newBuilder()
                .addCompare(ownership(key, createRevision))
                .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key)))
                .build();
    }

    /** One waiter, from its Txn to holding or giving up. In the serial context, except where said. */
    public final class Acquisition implements WatchListener {
        private final QueuePolicy policy;
        private final ByteString prefix;
        private final ByteString key;
        private final Lease lease;
        private final KeyJanitor janitor;
        private final ByteString value;
        /** tryAcquire: complete with null, the key deleted, instead of waiting. */
        private final boolean noWait;
        private final CompletableFuture<Held> result = new CompletableFuture<>();
        /** Completes once no enqueue Txn of this attempt is in flight any more. */
        private final CompletableFuture<Void> settled = new CompletableFuture<>();
        private Set<ByteString> ahead = Set.of();
        private long createRevision; // 0 until the enqueue Txn answered
        private boolean sent; // an enqueue Txn that may have put the key was sent
        private long abandonedBefore = -1; // the transport's count when the first enqueue Txn went out
        private int staleRetries;
        private WatchMultiplexer.Subscription subscription;
        private CompletableFuture<Boolean> aborted;
        /** The one removal of this attempt's key, once started. */
        private KeyJanitor.Removal removal;
        /** The recipe's value: set when the attempt failed, completes once its key is surely gone. */
        private volatile CompletableFuture<Void> keyGone;
        /** Set before {@link #abort()} completes with true: its delete could not reach etcd. */
        private volatile boolean keyMayRemain;

        Acquisition(QueuePolicy policy, Lease lease, KeyJanitor janitor, boolean noWait) {
            this.policy = policy;
            this.janitor = janitor;
            this.prefix = policy.queue();
            this.key = keyOf(policy.keyPrefix(), lease.id());
            this.lease = lease;
            this.value = policy.nonceValue() ? newNonce() : policy.value();
            this.noWait = noWait;
        }

        public CompletableFuture<Held> result() {
            return result;
        }

        /**
         * After {@link #result()} failed: completes once the session's next attempt on this queue may enqueue. At
         * once for a nonce value, whose cleanup can never delete the next attempt's key; for the recipe's value,
         * once this attempt's key is surely gone. Any thread.
         */
        public CompletableFuture<Void> keyGone() {
            CompletableFuture<Void> gone = keyGone;
            return gone != null ? gone : DONE;
        }

        /**
         * After {@link #abort()} completed with true: whether the waiter key may still be in etcd, because its
         * delete got no answer (etcd unreachable; the delete may still land later). The session's janitor retries it
         * until etcd answers or the lease ends. Any thread.
         */
        public boolean keyMayRemain() {
            return keyMayRemain;
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
         * Gives up waiting and removes the waiter key. Completes with true once the wait is undone and the key gone
         * (or, when etcd could not be reached for the delete, left to the lease: {@link #keyMayRemain()}), with
         * false when the lock had already been acquired (the caller holds it and must release it). Any thread.
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
                // waits for the delete's first answer only: if it gets none, the janitor goes on in the background,
                // and with the recipe's value the session's next attempt waits for it at the gate (keyGone)
                CompletableFuture<KeyJanitor.Removal> removed = settled.thenApply(v -> removeKey());
                if (!policy.nonceValue()) {
                    keyGone = removed.thenCompose(r -> r.done);
                }
                removed.thenCompose(r -> r.firstAnswer).whenComplete((answered, t) -> {
                    keyMayRemain = !Boolean.TRUE.equals(answered);
                    done.complete(true);
                });
            });
            return done;
        }

        private void post(Runnable task) {
            engine.execute(task); // after the client's close too: the task then finds its calls failing as closed
        }

        private void enqueue() {
            if (result.isDone()) {
                settle();
                return;
            }
            RuntimeException ended = whyEnded(lease, prefix);
            if (ended != null) {
                settle();
                fail(ended);
                return;
            }
            // a repeat of this Txn takes the Else branch and reads back the key the first try put: safe to retry
            RequestOp put = RequestOp.newBuilder().setRequestPut(
                    PutRequest.newBuilder().setKey(key).setValue(value).setLease(lease.id())).build();
            TxnRequest.Builder txn = TxnRequest.newBuilder()
                    .addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
                            .setResult(Compare.CompareResult.EQUAL).setCreateRevision(0))
                    .addSuccess(put)
                    .addSuccess(queueRead(true));
            if (policy.disagreement() != null) {
                // every key must carry our value; a VALUE compare fails on an empty range, so the Else branch puts
                // the first key of an empty queue (no second round trip for the uncontended case)
                txn.addCompare(Compare.newBuilder().setKey(prefix).setRangeEnd(Kv.prefixEnd(prefix))
                                .setTarget(Compare.CompareTarget.VALUE).setResult(Compare.CompareResult.EQUAL)
                                .setValue(value))
                        .addFailure(RequestOp.newBuilder().setRequestTxn(TxnRequest.newBuilder()
                                .addCompare(Compare.newBuilder().setKey(prefix).setRangeEnd(Kv.prefixEnd(prefix))
                                        .setTarget(Compare.CompareTarget.CREATE)
                                        .setResult(Compare.CompareResult.EQUAL).setCreateRevision(0))
                                .addSuccess(put)));
            }
            txn.addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
                    .addFailure(queueRead(policy.disagreement() == null));
            sent = true;
            janitor.enqueuing(key);
            if (abandonedBefore < 0) {
                abandonedBefore = transport.abandonedAttempts();
            }
            kv.idempotentTxn(txn.build()).whenCompleteAsync(this::enqueued, engine);
        }

        /**
         * No enqueue Txn of this attempt is in flight any more: the janitor learns which version it owns (none while
         * the create revision is unknown), on every path, so that the replay guard judges what it held back.
         */
        private void settle() {
            if (sent && !settled.isDone()) {
                janitor.owns(key, createRevision);
            }
            settled.complete(null);
        }

        private RequestOp queueRead(boolean keysOnly) {
            return RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(prefix)
                    .setRangeEnd(Kv.prefixEnd(prefix)).setKeysOnly(keysOnly)
                    .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND))
                    .build();
        }

        private void enqueued(TxnResponse response, Throwable failure) {
            if (failure != null) {
                janitor.owns(key, 0);
                guard(janitor, key, lease); // the Put may be applied later
                settle();
                fail(leaseGone(failure) ? leaseLost(lease, prefix) : EtcdErrors.unwrap(failure));
                return;
            }
            boolean agreeing = policy.disagreement() != null;
            int at = response.getSucceeded() || !agreeing ? 1 : 2; // where the queue read is in the response
            RangeResponse queue = response.getResponses(at).getResponseRange();
            if (response.getSucceeded() || agreeing && response.getResponses(0).getResponseTxn().getSucceeded()) {
                createRevision = response.getHeader().getRevision();
            } else {
                List<KeyValue> mine = response.getResponses(at - 1).getResponseRange().getKvsList();
                if (!mine.isEmpty() && mine.get(0).getValue().equals(value)
                        && mine.get(0).getCreateRevision() > janitor.retiredUpTo(key)) {
                    createRevision = mine.get(0).getCreateRevision(); // ours: see the class doc
                } else if (!mine.isEmpty() || !agreeing) {
                    replaceStaleKey(mine);
                    return;
                }
                if (agreeing) {
                    ByteString theirs = otherValue(queue);
                    if (theirs != null) {
                        sent = createRevision != 0; // else this answer shows no key of ours, and no Txn is in flight
                        settle();
                        fail(policy.disagreement().apply(theirs));
                        return;
                    }
                    if (createRevision == 0) { // the compare failed, yet the read agrees: not seen, but cheap to cover
                        retryEnqueue(null);
                        return;
                    }
                }
            }
            settle();
            janitor.owns(key, createRevision);
            if (transport.abandonedAttempts() != abandonedBefore) {
                guard(janitor, key, lease);
            }
            if (result.isDone()) { // aborted or failed meanwhile
                removeKey();
                return;
            }
            ahead = policy.rule().blockersAhead(queue.getKvsList(), createRevision);
            if (policy.rule().holds(ahead.size())) {
                acquired(response.getHeader().getRevision());
            } else if (noWait) {
                KeyJanitor.Removal removed = removeKey();
                keyGone = policy.nonceValue() ? DONE : removed.done;
                removed.firstAnswer.whenComplete((v, t) -> result.complete(null));
            } else {
                watchFrom(response.getHeader().getRevision());
            }
        }

        /** The first value in {@code queue} other than ours, or null. */
        private ByteString otherValue(RangeResponse queue) {
            for (KeyValue kv : queue.getKvsList()) {
                if (!kv.getValue().equals(value)) {
                    return kv.getValue();
                }
            }
            return null;
        }

        /**
         * The session's key exists from an attempt that is over (its removal still on the way, or an unlock whose
         * answer was lost) and carries another value: not ours to reuse, since with a nonce its owner's cleanup may
         * still be on the way. Delete that version and enqueue again.
         */
        private void replaceStaleKey(List<KeyValue> found) {
            TxnRequest.Builder txn = TxnRequest.newBuilder();
            if (!found.isEmpty()) {
                txn.addCompare(ownership(key, found.get(0).getCreateRevision()));
            }
            txn.addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key)));
            retryEnqueue(txn.build());
        }

        /** Enqueues again, after {@code first} if not null; gives up after a few rounds. */
        private void retryEnqueue(TxnRequest first) {
            if (++staleRetries > STALE_KEY_RETRIES) {
                settle();
                fail(new IllegalStateException("the waiter key " + key.toStringUtf8() + " keeps reappearing; is "
                        + "the same lease used by another client?"));
                return;
            }
            if (first == null) {
                enqueue();
                return;
            }
            kv.idempotentTxn(first).whenCompleteAsync((r, t) -> enqueue(), engine);
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
                    fail(keyWent());
                    return;
                }
                ahead.remove(e.getKv().getKey());
            }
            if (policy.rule().holds(ahead.size())) {
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
                    fail(keyWent());
                    return;
                }
                ahead = policy.rule().blockersAhead(response.getResponses(1).getResponseRange().getKvsList(),
                        createRevision);
                if (policy.rule().holds(ahead.size())) {
                    acquired(response.getHeader().getRevision());
                } else {
                    watchFrom(response.getHeader().getRevision());
                }
            }, engine);
        }

        /**
         * Our key went without our doing: the lease was revoked or expired. A session closing revokes its lease after
         * ending it here, but the delete's event may overtake the end's callback (CompletableFuture lets another
         * thread run it), so the lease's state, not the event, tells a close from a loss.
         */
        private RuntimeException keyWent() {
            RuntimeException why = whyEnded(lease, prefix);
            return why != null ? why : leaseLost(lease, prefix);
        }

        private void acquired(long atRevision) {
            stopWatching();
            RuntimeException ended = whyEnded(lease, prefix);
            if (ended != null) { // the key may still be there while etcd decides; never hold on an unsure lease
                fail(ended);
                return;
            }
            if (!result.complete(new Held(prefix, key, createRevision, atRevision))) {
                removeKey();
            }
        }

        /** Ends the wait with {@code error} at once; the waiter key, if any, is removed in the background. */
        private void fail(Throwable error) {
            stopWatching();
            if (result.isDone()) {
                return;
            }
            CompletableFuture<Void> removed = settled.thenCompose(v -> removeKey().done);
            if (!policy.nonceValue()) {
                keyGone = removed;
            }
            result.completeExceptionally(error);
        }

        private void stopWatching() {
            if (subscription != null) {
                subscription.cancel();
                subscription = null;
            }
        }

        /**
         * Removes this attempt's key if it may be there, once, through the session's janitor, which retries until
         * etcd answers or the lease ends. A nonce-valued key is deleted only while it carries the nonce; a
         * recipe-valued one only at its create revision, or, when that is unknown, the version found (see the class
         * doc). The version this attempt owned is retired: the session never takes it over again.
         */
        private KeyJanitor.Removal removeKey() {
            if (removal != null) {
                return removal;
            }
            if (!sent) {
                removal = new KeyJanitor.Removal();
                removal.firstAnswer.complete(true);
                removal.done.complete(null);
            } else if (policy.nonceValue()) {
                removal = janitor.removeIfValue(key, value);
            } else {
                removal = createRevision != 0 ? janitor.removeIfCreatedAt(key, createRevision)
                        : janitor.removeLeftover(key);
            }
            janitor.retire(key, createRevision);
            return removal;
        }
    }
}
