package dev.etcdlock.internal.lock;

import dev.etcdlock.internal.lease.Lease;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * One call to lock: first the turn at the session's local gate, then the place in etcd's queue. {@link #abort()}
 * undoes whichever stage it is in, removing the waiter key, unless the lock was acquired first.
 */
public final class LockAttempt {
    private enum Stage { AT_GATE, IN_QUEUE, DONE, ABORTED }

    private final LockQueue queue;
    private final KeyJanitor janitor;
    private final LocalGate gate;
    private final QueuePolicy policy;
    private final Lease lease;
    /** Gives up this attempt's use of the gate (the session drops a gate nobody uses). */
    private final Runnable unused;
    /** Told of the outcome before {@link #result()} completes, so the session knows of a hold before its caller. */
    private final BiConsumer<LockQueue.Held, Throwable> outcome;
    private final CompletableFuture<LockQueue.Held> result = new CompletableFuture<>();
    private final CompletableFuture<Void> turn;
    // guarded by this; no I/O under it
    private Stage stage = Stage.AT_GATE;
    private LockQueue.Acquisition acquisition;
    private CompletableFuture<Boolean> abortOutcome;

    LockAttempt(LockQueue queue, KeyJanitor janitor, LocalGate gate, QueuePolicy policy, Lease lease, Runnable unused,
            BiConsumer<LockQueue.Held, Throwable> outcome) {
        this.queue = queue;
        this.janitor = janitor;
        this.outcome = outcome;
        this.gate = gate;
        this.policy = policy;
        this.lease = lease;
        this.unused = unused;
        this.turn = gate.enter();
        turn.thenRun(this::admitted);
    }

    /** Completes with the held position, or exceptionally (lease lost, etcd failure, aborted). */
    public CompletableFuture<LockQueue.Held> result() {
        return result;
    }

    /**
     * Stops waiting. Completes with true once the attempt is undone (its waiter key, if any, deleted; the result
     * failed), with false when the lock had already been acquired: {@link #result()} then holds it and the caller
     * must release it.
     */
    public CompletableFuture<Boolean> abort() {
        LockQueue.Acquisition inQueue;
        CompletableFuture<Boolean> outcomeOfAbort = new CompletableFuture<>();
        synchronized (this) {
            switch (stage) {
                case DONE:
                    return result.handle((held, failure) -> failure != null);
                case ABORTED:
                    return abortOutcome;
                case AT_GATE:
                    stage = Stage.ABORTED;
                    abortOutcome = CompletableFuture.completedFuture(true);
                    turn.cancel(false); // if the turn came meanwhile, admitted() sees ABORTED and passes it on
                    fail(new CancellationException("lock wait aborted"));
                    unused.run();
                    return abortOutcome;
                default:
                    stage = Stage.ABORTED;
                    abortOutcome = outcomeOfAbort;
                    inQueue = acquisition;
            }
        }
        inQueue.abort().whenComplete((undone, t) -> {
            if (undone == null || undone) {
                // keep a real failure that came first (lease lost, etcd error) rather than report a plain abort
                Throwable cause = inQueue.result().handle((held, failure) -> failure).join();
                fail(cause != null ? cause : new CancellationException("lock wait aborted"));
                inQueue.keyGone().whenComplete((v, e) -> leaveGate()); // a recipe value: once surely gone
                outcomeOfAbort.complete(true);
            } else {
                succeed(inQueue.result().join());
                outcomeOfAbort.complete(false);
            }
        });
        return outcomeOfAbort;
    }

    /**
     * After {@link #abort()} completed with true: whether the waiter key may still be in etcd, its delete having got
     * no answer; the session's janitor deletes it once etcd answers (or it goes with the lease).
     */
    public boolean keyMayRemain() {
        LockQueue.Acquisition inQueue;
        synchronized (this) {
            inQueue = acquisition;
        }
        return inQueue != null && inQueue.keyMayRemain();
    }

    /** The session's lease ended ({@code failure} null: closed by its owner): end the attempt at once. */
    void leaseEnded(Throwable failure) {
        LockQueue.Acquisition inQueue;
        synchronized (this) {
            if (stage == Stage.AT_GATE) {
                stage = Stage.ABORTED;
                abortOutcome = CompletableFuture.completedFuture(true);
                turn.cancel(false);
                RuntimeException why = LockQueue.whyEnded(lease, policy.queue());
                fail(why != null ? why : LockQueue.sessionClosed(policy.queue()));
                unused.run();
                return;
            }
            if (stage != Stage.IN_QUEUE) {
                return;
            }
            inQueue = acquisition;
        }
        inQueue.leaseEnded(failure);
    }

    private void admitted() {
        LockQueue.Acquisition started;
        synchronized (this) {
            if (stage == Stage.ABORTED) {
                gate.leave();
                return;
            }
            stage = Stage.IN_QUEUE;
            acquisition = queue.acquisition(policy, lease, janitor);
            started = acquisition;
        }
        started.result().whenComplete(this::settle);
        started.start(); // outside the monitor: it sends the Txn
    }

    private void settle(LockQueue.Held held, Throwable failure) {
        synchronized (this) {
            if (stage == Stage.ABORTED) {
                return; // abort() settles the result
            }
            stage = Stage.DONE;
        }
        if (failure != null) {
            fail(failure); // before the gate lets the next attempt in
            acquisition.keyGone().whenComplete((v, t) -> leaveGate());
        } else {
            succeed(held);
        }
    }

    private void succeed(LockQueue.Held held) {
        outcome.accept(held, null);
        result.complete(held);
    }

    private void fail(Throwable failure) {
        if (!result.isDone()) {
            outcome.accept(null, failure);
        }
        result.completeExceptionally(failure);
    }

    private void leaveGate() {
        gate.leave();
        unused.run();
    }
}
