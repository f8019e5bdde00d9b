package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.SerialContext;
import dev.etcdlock.internal.lease.Lease;
import dev.etcdlock.internal.proto.Event;
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
import java.util.function.BiConsumer;

/**
 * One call to lock, from the session's gate to holding or giving up: the state machine of every recipe. Its methods
 * may be called from any thread; everything runs in the client's serial context, so the fields need no lock.
 *
 * <pre>
 *   AT_GATE ──turn──▶ ENQUEUING ──placed──▶ WAITING ──blockers gone──▶ HELD
 *      │                  │   ▲ stale key      │  ▲
 *      │                  └───┘ deleted        ▼  │ compacted: read again
 *      │                                    REREADING
 *      └──────── abort, lease end, failure, tryLock not free (any state before HELD) ──▶ ENDED
 * </pre>
 *
 * A waiter that ends removes the key it may have written, once no enqueue Txn is in flight any more (a Put landing
 * after the delete would stay behind), through the session's janitor, which retries until etcd answers or the lease
 * ends. It then lets the session's next attempt on the queue through the gate: at once with a nonce value, whose
 * cleanup can never delete the next attempt's key; with the recipe's value once the key is surely gone (see
 * {@link LockQueue}). A waiter never holds while its lease is not certainly valid.
 */
public final class Waiter implements WatchListener {
    enum State { AT_GATE, ENQUEUING, WAITING, REREADING, HELD, ENDED }

    private static final int STALE_KEY_RETRIES = 3;
    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    private final LockQueue queue;
    private final SerialContext context;
    private final QueuePolicy policy;
    private final Lease lease;
    private final KeyJanitor janitor;
    private final SessionLocks.Gate gate;
    /** Gives up this waiter's use of the gate (the session drops a gate nobody uses). */
    private final Runnable gateUnused;
    /** tryLock: complete with null, the key removed, instead of waiting. */
    private final boolean noWait;
    /** Told of the outcome before {@link #result()} completes, so the session knows of a hold before its caller. */
    private final BiConsumer<LockQueue.Held, Throwable> outcome;
    private final ByteString key;
    private final ByteString value;
    private final EnqueueTxn txns;
    private final CompletableFuture<LockQueue.Held> result = new CompletableFuture<>();
    /** Completes once no enqueue Txn of this waiter is in flight any more. */
    private final CompletableFuture<Void> settled = new CompletableFuture<>();

    // serial context only
    private State state = State.AT_GATE;
    private CompletableFuture<Void> turn;
    /** An enqueue Txn that may have put the key was sent. */
    private boolean written;
    private long createRevision; // 0 while unknown
    private Set<ByteString> ahead = Set.of();
    private long abandonedBefore = -1; // the transport's count when the first enqueue Txn went out
    private int staleRetries;
    private WatchMultiplexer.Subscription subscription;
    private CompletableFuture<Boolean> aborted;
    private KeyJanitor.Removal removal;
    /** Set before {@link #abort()} completes with true: its delete could not reach etcd. */
    private volatile boolean keyMayRemain;

    Waiter(LockQueue queue, KeyJanitor janitor, SessionLocks.Gate gate, Runnable gateUnused, QueuePolicy policy,
            Lease lease, boolean noWait, BiConsumer<LockQueue.Held, Throwable> outcome) {
        this.queue = queue;
        this.context = queue.context();
        this.janitor = janitor;
        this.gate = gate;
        this.gateUnused = gateUnused;
        this.policy = policy;
        this.lease = lease;
        this.noWait = noWait;
        this.outcome = outcome;
        this.key = LockQueue.keyOf(policy.keyPrefix(), lease.id());
        this.value = policy.value().forAttempt();
        this.txns = new EnqueueTxn(policy, key, value, lease.id());
    }

    /**
     * Completes with the held place; with null when a tryLock found it taken; exceptionally when the lease was lost
     * or closed, etcd failed, or the wait was aborted.
     */
    public CompletableFuture<LockQueue.Held> result() {
        return result;
    }

    /** Queues for the session's gate, then sends the enqueue Txn. Any thread; call once. */
    void start() {
        context.execute(() -> {
            turn = !noWait ? gate.enter() : gate.tryEnter() ? DONE : null;
            if (turn == null) { // a thread of this session holds or waits for it: taken, for a tryLock
                state = State.ENDED;
                settled.complete(null);
                gateUnused.run();
                result.complete(null);
                return;
            }
            turn.thenRun(() -> context.execute(this::admitted));
        });
    }

    /**
     * Gives up waiting and removes the waiter key. Completes with true once the wait is undone and the key gone (or,
     * when etcd could not be reached for the delete, left to the janitor: {@link #keyMayRemain()}), with false when
     * the lock was acquired first (the caller holds it and must release it). Any thread.
     */
    public CompletableFuture<Boolean> abort() {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        context.execute(() -> {
            if (aborted != null) {
                aborted.whenComplete((v, t) -> done.complete(v));
                return;
            }
            aborted = done;
            if (state == State.HELD) {
                done.complete(false);
                return;
            }
            end(new CancellationException("lock wait aborted")); // a failure that came first stays the result
            // waits for the delete's first answer only: without one, the janitor goes on in the background
            settled.thenApply(v -> removeKey()).thenCompose(r -> r.firstAnswer).whenComplete((answered, t) -> {
                keyMayRemain = !Boolean.TRUE.equals(answered);
                done.complete(true);
            });
        });
        return done;
    }

    /**
     * After {@link #abort()} completed with true: whether the waiter key may still be in etcd, because its delete got
     * no answer (the delete may still land later). Any thread.
     */
    public boolean keyMayRemain() {
        return keyMayRemain;
    }

    /** The session's lease ended ({@code failure} null: closed by its owner). Any thread. */
    void leaseEnded(Throwable failure) {
        RuntimeException why = failure != null ? EtcdErrors.toException(failure, "lock", false)
                : LockQueue.sessionClosed(policy.queue());
        context.execute(() -> end(why));
    }

    private void admitted() {
        if (state != State.AT_GATE) { // ended while the turn was on its way: pass it on
            gate.leave();
            return;
        }
        state = State.ENQUEUING;
        enqueue();
    }

    private void enqueue() {
        if (state == State.ENDED) { // while a stale key's delete was in flight
            settle();
            return;
        }
        RuntimeException ended = LockQueue.whyEnded(lease, policy.queue());
        if (ended != null) {
            settle();
            end(ended);
            return;
        }
        written = true;
        janitor.enqueuing(key);
        if (abandonedBefore < 0) {
            abandonedBefore = queue.transport().abandonedAttempts();
        }
        boolean takeIfFree = noWait && policy.takesOnlyAnEmptyQueue();
        queue.kv().idempotentTxn(takeIfFree ? txns.takeIfFree() : txns.enqueue()).whenCompleteAsync(
                (response, failure) -> answered(response, failure, takeIfFree), context);
    }

    private void answered(TxnResponse response, Throwable failure, boolean takeIfFree) {
        if (failure != null) {
            janitor.owns(key, 0);
            queue.guard(janitor, key, lease); // the Put may be applied later
            settle();
            end(LockQueue.leaseGone(failure) ? LockQueue.leaseLost(lease, policy.queue()) : EtcdErrors.unwrap(failure));
            return;
        }
        long retired = janitor.retiredUpTo(key);
        EnqueueTxn.Answer answer = takeIfFree ? txns.parseTakeIfFree(response, retired)
                : txns.parseEnqueue(response, retired);
        if (answer instanceof EnqueueTxn.StaleKey stale) {
            retryEnqueue(txns.deleteStale(stale.found()));
        } else if (answer instanceof EnqueueTxn.Changed) {
            retryEnqueue(null);
        } else if (answer instanceof EnqueueTxn.Mismatch mismatch) {
            createRevision = mismatch.createRevision();
            settleAndGuard();
            written = createRevision != 0; // else nothing of ours is there to remove
            end(((QueuePolicy.Value.Agreed) policy.value()).mismatch().apply(mismatch.theirs()));
        } else if (answer instanceof EnqueueTxn.Taken taken) {
            settleAndGuard();
            written = false; // nothing of ours was put
            if (taken.leftover() != 0) { // the session's own leftover (an unanswered unlock) heads the queue
                janitor.removeIfCreatedAt(key, taken.leftover());
            }
            end(null);
        } else {
            placed((EnqueueTxn.Placed) answer);
        }
    }

    private void placed(EnqueueTxn.Placed placed) {
        createRevision = placed.createRevision();
        settleAndGuard();
        if (state == State.ENDED) { // aborted or failed while the Txn was in flight
            removeKey();
            return;
        }
        lineUp(placed);
    }

    /** Holds when the keys ahead allow it; else waits for them to go (a tryLock ends instead). */
    private void lineUp(EnqueueTxn.Placed placed) {
        ahead = new HashSet<>(placed.ahead());
        if (policy.rule().holds(ahead.size())) {
            acquired(placed.revision());
        } else if (noWait) {
            end(null);
        } else {
            watchFrom(placed.revision());
        }
    }

    /**
     * No enqueue Txn of this waiter is in flight any more: the janitor learns which version it owns (none while the
     * create revision is unknown), on every path, so that the replay guard judges what it held back.
     */
    private void settle() {
        if (written && !settled.isDone()) {
            janitor.owns(key, createRevision);
        }
        settled.complete(null);
    }

    /** Settles; and guards the key when the transport gave up on a silent member meanwhile, which may create it. */
    private void settleAndGuard() {
        settle();
        if (queue.transport().abandonedAttempts() != abandonedBefore) {
            queue.guard(janitor, key, lease);
        }
    }

    /** Enqueues again, after {@code first} if not null; gives up after a few rounds. */
    private void retryEnqueue(TxnRequest first) {
        if (++staleRetries > STALE_KEY_RETRIES) {
            settle();
            end(new IllegalStateException("the waiter key " + key.toStringUtf8() + " keeps reappearing; is the same "
                    + "lease used by another client?"));
        } else if (first == null) {
            enqueue();
        } else {
            queue.kv().idempotentTxn(first).whenCompleteAsync((r, t) -> enqueue(), context);
        }
    }

    private void watchFrom(long revision) {
        state = State.WAITING;
        subscription = queue.watches().subscribe(WatchSpec.prefix(policy.queue()).deletesOnly(), revision, this);
    }

    @Override
    public void onEvents(List<Event> events) {
        if (state != State.WAITING) {
            return;
        }
        for (Event e : events) {
            if (e.getType() != Event.EventType.DELETE) {
                continue;
            }
            if (e.getKv().getKey().equals(key)) {
                end(keyWent());
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
        if (state != State.WAITING) {
            return;
        }
        subscription = null;
        if (error instanceof WatchCompactedException) {
            reread();
        } else {
            end(error);
        }
    }

    /** After compaction: the queue ahead of us as it is now, then watch again from there. */
    private void reread() {
        state = State.REREADING;
        queue.kv().idempotentTxn(txns.reread(createRevision)).whenCompleteAsync((response, failure) -> {
            if (state != State.REREADING) {
                return;
            }
            if (failure != null) {
                end(EtcdErrors.unwrap(failure));
                return;
            }
            if (!(txns.parseReread(response, createRevision) instanceof EnqueueTxn.Placed placed)) {
                end(keyWent());
                return;
            }
            lineUp(placed);
        }, context);
    }

    /**
     * Our key went without our doing: the lease was revoked or expired. A session closing revokes its lease after
     * ending it here, but the delete's event may overtake the end's callback (CompletableFuture lets another thread
     * run it), so the lease's state, not the event, tells a close from a loss.
     */
    private RuntimeException keyWent() {
        RuntimeException why = LockQueue.whyEnded(lease, policy.queue());
        return why != null ? why : LockQueue.leaseLost(lease, policy.queue());
    }

    private void acquired(long atRevision) {
        stopWatching();
        RuntimeException ended = LockQueue.whyEnded(lease, policy.queue());
        if (ended != null) { // the key may still be there while etcd decides; never hold on an unsure lease
            end(ended);
            return;
        }
        state = State.HELD;
        LockQueue.Held held = new LockQueue.Held(policy.queue(), key, createRevision, atRevision);
        outcome.accept(held, null);
        result.complete(held);
    }

    /**
     * Ends the wait at once, with {@code error} (null: a tryLock found the place taken), unless it ended or held
     * already; removes the key, if any, in the background; lets the next attempt through the gate when it may go.
     */
    private void end(Throwable error) {
        if (state == State.HELD || state == State.ENDED) {
            return;
        }
        State was = state;
        state = State.ENDED;
        stopWatching();
        if (was == State.AT_GATE) {
            settled.complete(null); // nothing sent
            if (turn != null) {
                turn.cancel(false); // if the turn came meanwhile, admitted() passes it on
            }
            gateUnused.run();
        } else {
            CompletableFuture<KeyJanitor.Removal> removed = settled.thenApply(v -> removeKey());
            // when the session's next attempt on the queue may enqueue
            CompletableFuture<Void> keyGone = policy.nonceValue() ? DONE : removed.thenCompose(r -> r.done);
            keyGone.whenComplete((v, t) -> {
                gate.leave();
                gateUnused.run();
            });
            if (error == null) { // a tryLock's refusal: said once its key is deleted, so a retry finds the queue clean
                removed.thenCompose(r -> r.firstAnswer).whenComplete((v, t) -> result.complete(null));
                return;
            }
        }
        if (error == null) {
            result.complete(null);
            return;
        }
        outcome.accept(null, error);
        result.completeExceptionally(error);
    }

    private void stopWatching() {
        if (subscription != null) {
            subscription.cancel();
            subscription = null;
        }
    }

    /**
     * Removes this waiter's key if it may be there, once, through the session's janitor. A nonce-valued key is deleted
     * only while it carries the nonce; a recipe-valued one only at its create revision, or, when that is unknown, the
     * version found (see {@link LockQueue}). The version this waiter owned is retired: the session never takes it
     * over again.
     */
    private KeyJanitor.Removal removeKey() {
        if (removal != null) {
            return removal;
        }
        if (!written) {
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
